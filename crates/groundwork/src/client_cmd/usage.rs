//! `groundwork offer` and `groundwork session`: a device's offer, and a customer's metered
//! sessions paid by doubly signed vouchers (docs/usage.md).

use super::*;
use groundwork_primitives::keys::{AccountSignature, DeviceSignature};
use groundwork_primitives::{UsageCall, Voucher, session_id};

#[derive(Subcommand)]
pub enum OfferCommand {
    /// Offer a device's service: credits per unit (the kind's unit: 24-byte packets for
    /// wireless, Wh for meters and chargers, …) and the longest session. `--max-blocks 0`
    /// withdraws the offer; open sessions keep the price they opened at.
    #[command(
        after_help = "Example:\n  groundwork offer set --key alice --device gwd1… --price 1 --max-blocks 600"
    )]
    Set {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// Credits per unit.
        #[arg(long)]
        price: u64,
        /// Longest session, in blocks (0 withdraws the offer).
        #[arg(long)]
        max_blocks: u64,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A device's offer.
    #[command(after_help = "Example:\n  groundwork offer show gwd1…")]
    Show {
        /// The device's id (gwd1…).
        device: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub enum SessionCommand {
    /// Open a session with a device at its offer's price, escrowing credits; prints its id.
    #[command(
        after_help = "Example:\n  groundwork session open --key customer --device gwd1… --credits 5000 --blocks 300"
    )]
    Open {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// Credits to escrow: the most the session can cost.
        #[arg(long)]
        credits: u64,
        /// How many blocks from now the session lasts (at most the offer's longest).
        #[arg(long)]
        blocks: u64,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Sign, as the customer, a voucher for everything received so far in a session; prints
    /// it as JSON for the device to co-sign. Nothing is sent to the chain.
    #[command(
        after_help = "Examples:\n  groundwork session pay --key customer --session 9d41…0a --units 120 > voucher.json\n  groundwork session pay --key customer --session 9d41…0a --units 120 --agent http://10.0.0.7:9400 > signed.json"
    )]
    Pay {
        /// The session's id.
        #[arg(long)]
        session: String,
        /// Units received since the session opened (cumulative).
        #[arg(long)]
        units: u64,
        /// The customer's key (keystore name, PEM or key file).
        #[arg(long)]
        key: String,
        #[arg(long)]
        keystore: Option<PathBuf>,
        /// Hand the voucher to the device's service port (its agent co-signs it) and print the
        /// doubly signed voucher instead.
        #[arg(long, value_name = "URL")]
        agent: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Co-sign a voucher with the device's key, as the device's agent does; prints it.
    #[command(
        after_help = "Example:\n  groundwork session cosign --device-key hotspot.pem --voucher voucher.json > signed.json"
    )]
    Cosign {
        /// The voucher (JSON from `session pay`); `-` reads stdin.
        #[arg(long, default_value = "-")]
        voucher: String,
        /// The device's key.
        #[arg(long)]
        device_key: String,
        #[arg(long)]
        keystore: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Settle a voucher both sides signed: the increment over what was settled is spent.
    #[command(
        after_help = "Example:\n  groundwork session settle --key alice --voucher signed.json"
    )]
    Settle {
        /// The doubly signed voucher (JSON); `-` reads stdin.
        #[arg(long, default_value = "-")]
        voucher: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// End a session now, as its customer. The device may settle for the grace window more;
    /// then the escrow left comes back by itself.
    #[command(after_help = "Example:\n  groundwork session close --key customer --session 9d41…0a")]
    Close {
        #[arg(long)]
        session: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A session: price, escrow, what was settled, and its status.
    #[command(after_help = "Example:\n  groundwork session show 9d41…0a")]
    Show {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A customer's sessions.
    #[command(after_help = "Example:\n  groundwork session list --customer gw1…")]
    List {
        #[arg(long)]
        customer: String,
        /// Sessions per page (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Continue after this session id (the `more:` line of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn parse_session(text: &str) -> Result<Digest> {
    digest_from_hex(text)
        .with_context(|| format!("session {text:?} is not an id of 64 hex characters"))
}

fn read_voucher(path: &str) -> Result<api::SignedVoucher> {
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the voucher from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    serde_json::from_str(&text).context("the voucher is not voucher JSON (from `session pay`)")
}

fn voucher_of(signed: &api::SignedVoucher) -> Result<Voucher> {
    Ok(Voucher {
        session: parse_session(&signed.session)?,
        cumulative_units: signed.cumulative_units,
        cumulative_credits: signed.cumulative_credits,
    })
}

fn signature<T: groundwork_primitives::codec::Read<Cfg = ()>>(
    what: &str,
    hex_text: Option<&String>,
) -> Result<T> {
    let text = hex_text.with_context(|| format!("the voucher has no {what} signature"))?;
    let bytes = hex::decode(text).with_context(|| format!("the {what} signature is not hex"))?;
    decode_exact(&bytes).with_context(|| format!("the {what} signature is malformed"))
}

/// Hands a customer-signed voucher to a device's service port; returns it co-signed.
fn exchange(agent: &str, voucher: &api::SignedVoucher) -> Result<api::SignedVoucher> {
    let url = format!("{}/voucher", agent.trim_end_matches('/'));
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?
        .post(&url)
        .json(voucher)
        .send()
        .with_context(|| format!("the device's service port at {url} is unreachable"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .with_context(|| format!("{url} did not answer with JSON"))?;
    if !status.is_success() {
        /// What a service port says when it refuses.
        #[derive(serde::Deserialize)]
        struct Refusal {
            error: String,
        }
        let reason = serde_json::from_value::<Refusal>(body)
            .map_or_else(|_| "no reason given".to_string(), |r| r.error);
        bail!("the device refused the voucher ({status}): {reason}");
    }
    let signed: api::SignedVoucher =
        serde_json::from_value(body).with_context(|| format!("{url} sent no voucher"))?;
    if signed.device_signature.is_none() {
        bail!("the device answered without its co-signature");
    }
    Ok(signed)
}

fn print_session(s: &api::Session) {
    println!("session      {}", s.id);
    println!("customer     {}", s.customer);
    println!("device       {}", s.device);
    println!("price        {} credits per unit", s.credits_per_unit);
    println!(
        "escrow       {} of {} credits left",
        s.escrowed, s.max_credits
    );
    println!(
        "settled      {} units for {} credits",
        s.settled_units, s.settled_credits
    );
    println!(
        "blocks       opened {}, ends {}, settle by {}",
        s.opened_at, s.ends_at, s.settle_by
    );
    match s.refunded {
        Some(credits) => println!("status       {} ({credits} credits refunded)", s.status),
        None => println!("status       {}", s.status),
    }
}

pub fn offer(command: OfferCommand) -> Result<()> {
    match command {
        OfferCommand::Set {
            device,
            price,
            max_blocks,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            send(&client, &signer, |_, _| {
                Ok(UsageCall::SetOffer {
                    device,
                    credits_per_unit: price,
                    max_session_blocks: max_blocks,
                })
            })
        }
        OfferCommand::Show { device, client } => {
            let id = parse_device(&device)?;
            let offer: api::Offer = client
                .client()?
                .get("usage_getOffer", json!([id.to_string()]))?;
            if client.json {
                return print_json(&offer);
            }
            println!(
                "{}: {} credits per {}, sessions of up to {} blocks",
                offer.device, offer.credits_per_unit, offer.unit, offer.max_session_blocks
            );
            Ok(())
        }
    }
}

pub fn session(command: SessionCommand) -> Result<()> {
    match command {
        SessionCommand::Open {
            device,
            credits,
            blocks,
            signer,
            client,
        } => {
            let id = parse_device(&device)?;
            let rpc = client.client()?;
            let offer: api::Offer = rpc.get("usage_getOffer", json!([id.to_string()]))?;
            let mut opened = None;
            send_at_nonce(&client, &signer, |sender, status, nonce| {
                opened = Some(session_id(sender, nonce));
                Ok(UsageCall::OpenSession {
                    device: id,
                    credits_per_unit: offer.credits_per_unit,
                    max_credits: credits,
                    expires_at: status.height.saturating_add(1).saturating_add(blocks),
                })
            })?;
            if let Some(session) = opened
                && !client.json
            {
                println!(
                    "session {} at {} credits per {}",
                    digest_hex(&session),
                    offer.credits_per_unit,
                    offer.unit
                );
            }
            Ok(())
        }
        SessionCommand::Pay {
            session,
            units,
            key,
            keystore,
            agent,
            client,
        } => {
            let id = parse_session(&session)?;
            let rpc = client.client()?;
            let record: api::Session =
                rpc.get("usage_getSession", json!({ "id": digest_hex(&id) }))?;
            let credits = units
                .checked_mul(record.credits_per_unit)
                .context("--units × the session's price does not fit")?;
            let voucher = Voucher {
                session: id,
                cumulative_units: units,
                cumulative_credits: credits,
            };
            let key = load_account_key(&key, keystore.as_deref())?;
            let chain = rpc.status()?.chain_id;
            let signature: AccountSignature = voucher.sign_as_customer(&key, &chain);
            let signed = api::SignedVoucher {
                session: digest_hex(&id),
                cumulative_units: units,
                cumulative_credits: credits,
                customer_signature: Some(hex::encode(signature.encode())),
                device_signature: None,
            };
            match agent {
                None => print_json(&signed),
                Some(url) => print_json(&exchange(&url, &signed)?),
            }
        }
        SessionCommand::Cosign {
            voucher,
            device_key,
            keystore,
            client,
        } => {
            let mut signed = read_voucher(&voucher)?;
            let key = load_device_key(&device_key, keystore.as_deref())?;
            let chain = client.client()?.status()?.chain_id;
            let signature: DeviceSignature = voucher_of(&signed)?.sign_as_device(&key, &chain);
            signed.device_signature = Some(hex::encode(signature.encode()));
            print_json(&signed)
        }
        SessionCommand::Settle {
            voucher,
            signer,
            client,
        } => {
            let signed = read_voucher(&voucher)?;
            let call = UsageCall::Settle {
                voucher: voucher_of(&signed)?,
                customer_signature: signature("customer", signed.customer_signature.as_ref())?,
                device_signature: signature("device", signed.device_signature.as_ref())?,
            };
            send(&client, &signer, |_, _| Ok(call))
        }
        SessionCommand::Close {
            session,
            signer,
            client,
        } => {
            let session = parse_session(&session)?;
            send(&client, &signer, |_, _| Ok(UsageCall::Close { session }))
        }
        SessionCommand::Show { id, client } => {
            let id = parse_session(&id)?;
            let answer: api::Session = client
                .client()?
                .get("usage_getSession", json!({ "id": digest_hex(&id) }))?;
            if client.json {
                return print_json(&answer);
            }
            print_session(&answer);
            Ok(())
        }
        SessionCommand::List {
            customer,
            limit,
            after,
            client,
        } => {
            let customer: Address = customer.parse().context("invalid --customer address")?;
            let answer: api::SessionList = client.client()?.get(
                "usage_listSessions",
                json!({ "customer": customer.to_string(), "limit": limit, "after": after }),
            )?;
            if client.json {
                return print_json(&answer);
            }
            if answer.sessions.is_empty() {
                println!("no sessions of {customer}");
            }
            let rows: Vec<Vec<String>> = answer
                .sessions
                .iter()
                .map(|s| {
                    vec![
                        s.id.clone(),
                        s.device.clone(),
                        format!("{}/{} credits", s.settled_credits, s.max_credits),
                        s.status.clone(),
                    ]
                })
                .collect();
            print!("{}", columns(&rows));
            if let Some(next) = &answer.next {
                println!("more: --after {next}");
            }
            Ok(())
        }
    }
}
