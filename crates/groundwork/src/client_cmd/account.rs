//! `groundwork account`: balances and transfers.

use super::*;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Show an account's balance, nonce and data credits.
    #[command(
        after_help = "Examples:\n  groundwork account show gw10efk76c6t7xaqp9jrhwyzx0yy852axrvpaw3j0\n  groundwork account show --key alice --json"
    )]
    Show {
        /// The account's address (or give --key).
        address: Option<String>,
        /// Show the account of this key (keystore name, PEM or key file).
        #[arg(long)]
        key: Option<String>,
        /// Keystore directory (default: $GROUNDWORK_HOME/keys).
        #[arg(long)]
        keystore: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send tokens to another account.
    #[command(
        after_help = "Example:\n  groundwork account transfer --key alice --to gw1… --amount 12.5"
    )]
    Transfer {
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount in tokens, with decimals (`12.5`), or base units with --base-units.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(super) fn parse_amount(text: &str, status: &ChainStatus, base_units: bool) -> Result<Amount> {
    if base_units {
        return text
            .parse::<u128>()
            .map(Amount)
            .with_context(|| format!("--amount {text:?} is not a whole number of base units"));
    }
    Amount::parse_decimal(text, status.decimals)
        .with_context(|| format!("--amount {text:?} is not an amount of {}", status.symbol))
}

pub fn account(command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Show {
            address,
            key,
            keystore,
            client,
        } => {
            let address = match (address, key) {
                (Some(address), None) => address,
                (None, Some(key)) => {
                    key_address(&load_account_key(&key, keystore.as_deref())?).to_string()
                }
                (Some(_), Some(_)) => bail!("give an address or --key, not both"),
                (None, None) => bail!(
                    "which account? give its address (groundwork account show gw1…) or --key NAME"
                ),
            };
            let address: Address = address.parse().context("invalid address")?;
            let rpc = client.client()?;
            let answer = rpc.account(&address.to_string())?;
            if client.json {
                return print_json(&answer);
            }
            let status = rpc.status()?;
            println!("address  {address}");
            println!("balance  {}", show_amount(&status, &client, answer.balance));
            println!("nonce    {}", answer.nonce);
            println!("credits  {} data credits", answer.credits);
            Ok(())
        }
        AccountCommand::Transfer {
            to,
            amount,
            signer,
            client,
        } => {
            let base_units = client.base_units;
            send(&client, &signer, |_, status| {
                let to: Address = to.parse().context("invalid --to address")?;
                let amount = parse_amount(&amount, status, base_units)?;
                Ok(CoreCall::Transfer { to, amount })
            })
        }
    }
}

// ---- credits -------------------------------------------------------------------------------

// ---- device --------------------------------------------------------------------------------
