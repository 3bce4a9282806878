//! `groundwork credits`: buy data credits at their USD price; the credit ledger.

use super::*;

#[derive(Subcommand)]
pub enum CreditsCommand {
    /// Burn tokens for data credits at the credit's USD price, valued at the oracle's burn
    /// price (the lower of its median and smoothed average).
    ///
    /// The cost is quoted first; the chain computes it again when the purchase lands, so a
    /// price that moved in between changes what is burned, never the credits minted.
    #[command(
        after_help = "Examples:\n  groundwork credits buy --key alice --credits 100000\n  groundwork credits buy --key alice --credits 5000 --recipient gw1…   (fund a customer's account)"
    )]
    Buy {
        /// Data credits to mint.
        #[arg(long)]
        credits: u64,
        /// Who receives the credits (default: the signer). Credits never move again.
        #[arg(long)]
        recipient: Option<String>,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The credit ledger: the price of a credit, credits minted, spent and outstanding, and
    /// the tokens burned for them.
    #[command(after_help = "Example:\n  groundwork credits show --json")]
    Show {
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `$0.00001` from micro-USD, with as many decimals as it needs (at least two).
pub fn usd(micro_usd: u64) -> String {
    let whole = micro_usd / 1_000_000;
    let fraction = format!("{:06}", micro_usd % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    format!("${whole}.{fraction:0<2}")
}

pub fn credits(command: CreditsCommand) -> Result<()> {
    match command {
        CreditsCommand::Buy {
            credits,
            recipient,
            signer,
            client,
        } => {
            let rpc = client.client()?;
            let quote: api::CreditsQuote =
                rpc.get("credits_quote", json!({ "credits": credits }))?;
            if !client.json {
                let status = rpc.status()?;
                println!(
                    "{credits} credits at {} each, token at {} (burn price): burns about {}",
                    usd(quote.credit_price_micro_usd),
                    usd(quote.burn_price_micro_usd),
                    show_amount(&status, &client, quote.tokens)
                );
            }
            send(&client, &signer, |sender, _| {
                let recipient = match recipient {
                    Some(text) => text.parse().context("invalid --recipient address")?,
                    None => *sender,
                };
                Ok(CreditsCall::Buy { recipient, credits })
            })
        }
        CreditsCommand::Show { client } => {
            let rpc = client.client()?;
            let totals: api::CreditTotals = rpc.get("credits_get", json!([]))?;
            if client.json {
                return print_json(&totals);
            }
            let status = rpc.status()?;
            println!("credit price   {}", usd(totals.credit_price_micro_usd));
            println!("minted         {}", totals.minted);
            println!("spent          {}", totals.spent);
            println!("outstanding    {}", totals.outstanding);
            println!(
                "tokens burned  {}",
                show_amount(&status, &client, totals.tokens_burned)
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::usd;

    #[test]
    fn micro_usd_reads_as_dollars() {
        assert_eq!(usd(10), "$0.00001");
        assert_eq!(usd(2_500_000), "$2.50");
        assert_eq!(usd(2_512_340), "$2.51234");
        assert_eq!(usd(1_000_000), "$1.00");
        assert_eq!(usd(0), "$0.00");
    }
}
