//! `groundwork oracle`: submit a price as an oracle account; show the chain's price.

use super::credits::usd;
use super::*;

#[derive(Subcommand)]
pub enum OracleCommand {
    /// Submit the token's USD price, as one of the chain's oracle accounts. It replaces this
    /// oracle's previous submission and counts for `max_age_blocks`.
    #[command(
        after_help = "Examples:\n  groundwork oracle submit --key oracle-0 --usd 2.4871\n  groundwork oracle submit --key oracle-0 --micro-usd 2487100"
    )]
    Submit {
        /// The price of one whole token in US dollars, up to six decimals.
        #[arg(
            long,
            conflicts_with = "micro_usd",
            required_unless_present = "micro_usd"
        )]
        usd: Option<String>,
        /// The same in millionths of a dollar.
        #[arg(long)]
        micro_usd: Option<u64>,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The price the next block would use, what it is made of, and each oracle's latest
    /// submission.
    #[command(after_help = "Example:\n  groundwork oracle show --json")]
    Show {
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// `2.4871` US dollars as micro-USD.
fn parse_usd(text: &str) -> Result<u64> {
    let amount = Amount::parse_decimal(text.trim_start_matches('$'), 6).with_context(|| {
        format!("--usd {text:?} is not a dollar amount with at most 6 decimals")
    })?;
    u64::try_from(amount.0).with_context(|| format!("--usd {text:?} is too large"))
}

pub fn oracle(command: OracleCommand) -> Result<()> {
    match command {
        OracleCommand::Submit {
            usd: dollars,
            micro_usd,
            signer,
            client,
        } => {
            let micro_usd_per_token = match (dollars, micro_usd) {
                (Some(text), _) => parse_usd(&text)?,
                (None, Some(micro)) => micro,
                (None, None) => bail!("give --usd or --micro-usd"),
            };
            send(&client, &signer, |_, _| {
                Ok(OracleCall::SubmitPrice {
                    micro_usd_per_token,
                })
            })
        }
        OracleCommand::Show { client } => {
            let answer: api::OraclePrice = client.client()?.get("oracle_getPrice", json!([]))?;
            if client.json {
                return print_json(&answer);
            }
            match (&answer.price, &answer.unavailable) {
                (Some(p), _) => {
                    println!("median       {}", usd(p.median));
                    println!(
                        "average      {} (over {} blocks)",
                        usd(p.average),
                        answer.smoothing_window_blocks
                    );
                    println!("burn price   {} (the lower: buying credits)", usd(p.burn));
                    println!("mint price   {} (the higher: minting for USD)", usd(p.mint));
                    println!("fresh        {} of {} needed", p.fresh, answer.quorum);
                }
                (None, Some(reason)) => {
                    println!("no price: {} (code {})", reason.message, reason.code)
                }
                (None, None) => println!("no price"),
            }
            let rows: Vec<Vec<String>> = answer
                .submissions
                .iter()
                .map(|s| {
                    vec![
                        s.oracle.clone(),
                        usd(s.micro_usd_per_token),
                        format!("at block {}", s.height),
                        if s.fresh { "fresh" } else { "stale" }.to_string(),
                    ]
                })
                .collect();
            print!("{}", super::columns(&rows));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_usd;

    #[test]
    fn dollar_prices_parse_to_micro_usd() {
        assert_eq!(parse_usd("2.4871").unwrap(), 2_487_100);
        assert_eq!(parse_usd("$0.5").unwrap(), 500_000);
        assert!(parse_usd("1.0000001").is_err());
        assert!(parse_usd("two").is_err());
    }
}
