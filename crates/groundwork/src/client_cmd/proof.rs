//! `groundwork chain verify-proof`: a state proof checked offline, against a root you trust.

use super::*;

#[derive(Args)]
pub struct VerifyProofArgs {
    /// A `state_proof` answer (JSON, as `groundwork chain proof` prints); `-` reads stdin.
    #[arg(default_value = "-")]
    pub file: String,
    /// The state root to check against, e.g. from a block header you trust. Without it the
    /// proof is checked against the root it names, which only shows it is self-consistent.
    #[arg(long)]
    pub root: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn hex_field(name: &str, text: &str) -> Result<Vec<u8>> {
    hex::decode(text).with_context(|| format!("the proof's `{name}` is not hex"))
}

/// Checks a state proof offline. No node is contacted.
pub fn verify_proof(args: VerifyProofArgs) -> Result<()> {
    let text = if args.file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the proof from stdin")?;
        text
    } else {
        std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file))?
    };
    let parsed: Value = serde_json::from_str(&text).context("the proof is not JSON")?;
    // Accept a whole JSON-RPC answer as well as its result.
    let answer = match parsed {
        Value::Object(mut map) if map.contains_key("result") => {
            map.remove("result").unwrap_or_default()
        }
        other => other,
    };
    let answer: api::StateProof =
        serde_json::from_value(answer).context("the proof is not a `state_getProof` answer")?;
    let (subject, key) = match (answer.account.as_deref(), answer.device.as_deref()) {
        (Some(a), None) => {
            let address: Address = a.parse().context("the proof's `account`")?;
            (format!("account {address}"), account_key(&address))
        }
        (None, Some(d)) => {
            let id = parse_device(d)?;
            (format!("device {id}"), device_key(&id))
        }
        _ => bail!("the proof names neither an `account` nor a `device`"),
    };
    let value = hex_field("value", &answer.value)?;
    let proof_bytes = hex_field("proof", &answer.proof)?;
    let root_text = args.root.clone().unwrap_or_else(|| answer.root.clone());
    let root = digest_from_hex(&root_text).context("the root is not 64 hex characters")?;
    state_proof::verify(&key, &value, &proof_bytes, &root)
        .with_context(|| format!("proof of {subject} is NOT valid against root {root_text}"))?;
    let decoded = match answer.account {
        Some(_) => {
            let account: Account =
                decode_exact(&value).context("the proven value is not an account")?;
            json!({ "balance": account.balance.0.to_string(), "nonce": account.nonce, "credits": account.credits })
        }
        None => {
            let device: Device =
                decode_exact(&value).context("the proven value is not a device")?;
            json!({ "owner": device.owner.to_string(), "kind": device.kind.name(), "location": device.location.to_string(), "status": device.status.name(), "bond": device.bond.0.to_string() })
        }
    };
    if args.json {
        print_json(
            &json!({ "valid": true, "subject": subject, "root": root_text, "height": answer.height, "value": decoded }),
        )?;
    } else {
        println!(
            "valid: {subject} at root {root_text} (after block {})",
            answer.height
        );
        if args.root.is_none() {
            println!(
                "note: checked against the root the proof names; pass --root to check against one you trust"
            );
        }
        // The node's token symbol and decimals, if it sent them, show amounts in tokens.
        let token = answer.token.map(|t| (t.symbol, t.decimals));
        if let Value::Object(map) = decoded {
            for (k, v) in map {
                let text = v.as_str().map(str::to_string).unwrap_or(v.to_string());
                let text = match (&token, k.as_str(), text.parse::<u128>()) {
                    (Some((symbol, decimals)), "balance" | "bond", Ok(units)) => format!(
                        "{} {symbol} ({text} base units)",
                        Amount(units).to_decimal_string(*decimals)
                    ),
                    _ => text,
                };
                println!("  {k:<9} {text}");
            }
        }
    }
    Ok(())
}
