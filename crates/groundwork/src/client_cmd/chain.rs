//! `groundwork chain`: status, blocks, transactions, epochs.

use super::*;

#[derive(Subcommand)]
pub enum ChainCommand {
    /// Show the chain's height, epoch and state root.
    #[command(after_help = "Example:\n  groundwork chain status --rpc http://127.0.0.1:8645")]
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a finalized block by height or hash (default: the latest).
    #[command(
        after_help = "Examples:\n  groundwork chain block 42\n  groundwork chain block 10bd503ba884403499484acf032d0d1eee011a36e904a21bbcee3f81e569a2e0"
    )]
    Block {
        block: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Fetch a state proof of an account or device (JSON, for `groundwork chain verify-proof`).
    #[command(after_help = "Example:\n  groundwork chain proof --account gw1… > proof.json")]
    Proof {
        /// Prove this account's record (gw1… address).
        #[arg(long, conflicts_with = "device", required_unless_present = "device")]
        account: Option<String>,
        /// Prove this device's record (gwd1… id).
        #[arg(long)]
        device: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Check a state proof offline against a state root; no node is contacted.
    #[command(
        after_help = "Examples:\n  groundwork chain proof --account gw1… > proof.json\n  groundwork chain verify-proof proof.json --root 3fda…e49b"
    )]
    VerifyProof(VerifyProofArgs),
}

pub fn chain(command: ChainCommand) -> Result<()> {
    match command {
        ChainCommand::VerifyProof(args) => verify_proof(args),
        ChainCommand::Status { client } => {
            let rpc = client.client()?;
            let status = rpc.status()?;
            if client.json {
                return print_json(&status.answer);
            }
            println!("chain       {}", status.chain_id);
            println!("height      {} (final)", status.height);
            println!(
                "epoch       {} ({} blocks each)",
                status.epoch, status.epoch_length_blocks
            );
            println!("block       {}", status.answer.block);
            println!("state root  {}", status.answer.state_root);
            println!(
                "token       {} ({} decimals)",
                status.symbol, status.decimals
            );
            Ok(())
        }
        ChainCommand::Block { block, client } => {
            let rpc = client.client()?;
            let wanted = match block {
                None => json!(rpc.status()?.height),
                Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => {
                    json!(text.parse::<u64>().context("block height")?)
                }
                Some(text) => json!(text),
            };
            let answer: api::Block = rpc.get("chain_getBlock", json!([wanted]))?;
            if client.json {
                return print_json(&answer);
            }
            println!("height        {}", answer.height);
            println!("hash          {}", answer.hash);
            println!("parent        {}", answer.parent);
            println!(
                "time          {} ({} ms)",
                crate::clock::iso8601(answer.timestamp_ms),
                answer.timestamp_ms
            );
            println!("state root    {} (after the parent)", answer.state_root);
            println!("transactions  {}", answer.transactions.len());
            for (i, tx) in answer.transactions.iter().enumerate() {
                let result = match answer.results.get(i).copied().flatten() {
                    None => "ok".to_string(),
                    Some(code) => format!("rejected (code {code})"),
                };
                println!("  {tx}  {result}");
            }
            Ok(())
        }
        ChainCommand::Proof {
            account,
            device,
            client,
        } => {
            let rpc = client.client()?;
            let params = match (account, device) {
                (Some(a), _) => json!({ "account": a }),
                (None, Some(d)) => json!({ "device": d }),
                (None, None) => bail!("give --account or --device"),
            };
            let proof: api::StateProof = rpc.get("state_getProof", params)?;
            print_json(&proof)
        }
    }
}

// ---- verify-proof --------------------------------------------------------------------------
