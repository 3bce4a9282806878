//! `groundwork genesis new|check`.

use crate::keys::{random_key, write_secret};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use groundwork_primitives::hash::digest_hex;
use groundwork_primitives::keyfile::{
    ROLE_ACCOUNT, ROLE_VALIDATOR, key_address, read_key_file, write_key_file,
};
use groundwork_primitives::{AccountKey, Amount, ChainId};
use groundwork_state::{Genesis, Params};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum GenesisCommand {
    /// Write a genesis file, one key file per validator and a funded account key.
    ///
    /// With `--out ./testnet` it writes ./testnet/genesis.toml, ./testnet/validator-0.key …
    /// and ./testnet/account.key. Key files are unencrypted: for local and test networks only.
    #[command(after_help = "Example:\n  groundwork genesis new --validators 4 --out ./testnet")]
    New(NewArgs),
    /// Validate a genesis file and print its summary and digest.
    #[command(after_help = "Example:\n  groundwork genesis check ./testnet/genesis.toml")]
    Check {
        /// The genesis TOML file.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct NewArgs {
    /// Number of validators (1 to 128).
    #[arg(long, default_value_t = 1)]
    validators: u32,
    /// Directory to write into; created if missing.
    #[arg(long)]
    out: PathBuf,
    /// Chain id: 1 to 32 characters of a-z, 0-9 and '-'.
    #[arg(long, default_value = "groundwork-local")]
    chain_id: String,
    /// Balance of the funded account, in whole tokens (decimals allowed, e.g. 2500.5).
    #[arg(long, default_value = "1000000")]
    account_balance: String,
    /// Blocks per epoch; rewards are paid at the end of each epoch.
    #[arg(long)]
    epoch_length_blocks: Option<u64>,
    /// Price-oracle accounts to create (`oracle-<i>.key`, each funded with 1 000 tokens for
    /// fees, a majority quorum); 0 = none, and credits cannot be bought on the chain.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=32))]
    oracles: u32,
    /// Overwrite existing files in --out.
    #[arg(long)]
    force: bool,
}

pub fn run(command: GenesisCommand) -> Result<()> {
    match command {
        GenesisCommand::New(args) => new(args),
        GenesisCommand::Check { file } => check(&file),
    }
}

/// What [`write_network`] wrote.
pub struct WrittenNetwork {
    pub genesis: Genesis,
    pub account: AccountKey,
}

/// Tokens each generated oracle account (and each genesis maker account) starts with, for
/// the fees of its transactions.
pub const ORACLE_FUNDING_TOKENS: u128 = 1_000;

/// Writes `genesis.toml`, `validator-<i>.key` for each validator, `account.key`, and
/// `oracle-<i>.key` for each of `oracles` price-oracle accounts (named in `[oracle]`, a
/// majority quorum, each funded for its fees) into `dir`. The maker accounts of
/// `params.attest` are funded for their fees too.
pub fn write_network(
    dir: &Path,
    validators: u32,
    mut params: Params,
    balance: Amount,
    oracles: u32,
    force: bool,
) -> Result<WrittenNetwork> {
    if oracles as usize > groundwork_state::oracle::MAX_ORACLES {
        bail!(
            "at most {} oracle accounts",
            groundwork_state::oracle::MAX_ORACLES
        );
    }
    if validators == 0 || validators > 128 {
        bail!("--validators must be between 1 and 128, got {validators}");
    }
    let genesis_path = dir.join("genesis.toml");
    if genesis_path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            genesis_path.display()
        );
    }
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let validator_keys: Vec<AccountKey> = (0..validators)
        .map(|_| random_key())
        .collect::<Result<_>>()?;
    let account = random_key()?;
    let oracle_keys: Vec<AccountKey> = (0..oracles).map(|_| random_key()).collect::<Result<_>>()?;
    let mut balances = vec![(key_address(&account), balance)];
    let funding = Amount(ORACLE_FUNDING_TOKENS * 10u128.pow(u32::from(params.core.token_decimals)));
    if !oracle_keys.is_empty() {
        balances.extend(oracle_keys.iter().map(|k| (key_address(k), funding)));
        balances.sort();
        let mut accounts: Vec<_> = oracle_keys.iter().map(key_address).collect();
        accounts.sort();
        params.oracle = groundwork_state::OracleParams {
            accounts,
            quorum: u8::try_from(oracles / 2 + 1).unwrap_or(u8::MAX),
            // Submissions every few blocks; half a minute of silence makes the price stale.
            max_age_blocks: 30,
            smoothing_window_blocks: 60,
        };
    }
    // Maker accounts sign revocations, so they too start funded for fees.
    for maker in &params.attest.makers {
        if !balances
            .iter()
            .any(|(address, _)| *address == maker.account)
        {
            balances.push((maker.account, funding));
        }
    }
    balances.sort();
    let genesis_time_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_millis() as u64;
    let genesis = Genesis {
        params,
        genesis_time_ms,
        balances,
        validators: validator_keys
            .iter()
            .map(groundwork_primitives::keys::public_key_of)
            .collect(),
    };
    let text = genesis.to_toml();
    // What we write must be what we read: validate through the same parser nodes use.
    let genesis = Genesis::from_toml(&text).context("the generated genesis does not validate")?;
    for (index, key) in validator_keys.iter().enumerate() {
        write_secret(
            &dir.join(format!("validator-{index}.key")),
            &write_key_file(key, ROLE_VALIDATOR),
        )?;
    }
    write_secret(
        &dir.join("account.key"),
        &write_key_file(&account, ROLE_ACCOUNT),
    )?;
    for (index, key) in oracle_keys.iter().enumerate() {
        write_secret(
            &dir.join(format!("oracle-{index}.key")),
            &write_key_file(key, ROLE_ACCOUNT),
        )?;
    }
    fs::write(&genesis_path, &text)
        .with_context(|| format!("writing {}", genesis_path.display()))?;
    Ok(WrittenNetwork { genesis, account })
}

/// Local-network parameters with an optional epoch length.
pub fn local_params(chain_id: &str, epoch_length_blocks: Option<u64>) -> Result<Params> {
    let chain_id: ChainId = chain_id
        .parse()
        .map_err(|e| anyhow::anyhow!("--chain-id: {e}"))?;
    let mut params = Params::local(chain_id);
    if let Some(length) = epoch_length_blocks {
        params.core.epoch_length_blocks = length;
        // Keep the heartbeat window a divisor of the epoch.
        if !length.is_multiple_of(params.core.heartbeat_window_blocks) {
            params.core.heartbeat_window_blocks = 1;
        }
        // An answer beacon must still be retained when its challenge resolves, and a device
        // must be able to beacon inside the answer window (see genesis): short epochs shorten
        // both the window and the beacon interval.
        let longest = length.saturating_mul(groundwork_state::coverage::BEACON_RETENTION_EPOCHS);
        let room = longest.saturating_sub(params.coverage.witness_window_blocks);
        if room == 0 {
            bail!(
                "epochs of {length} blocks are too short for location challenges; use at least 3"
            );
        }
        params.challenges.answer_window_blocks = params.challenges.answer_window_blocks.min(room);
        params.coverage.beacon_interval_blocks = params
            .coverage
            .beacon_interval_blocks
            .min(params.challenges.answer_window_blocks);
    }
    Ok(params)
}

fn new(args: NewArgs) -> Result<()> {
    let params = local_params(&args.chain_id, args.epoch_length_blocks)?;
    let balance = Amount::parse_decimal(&args.account_balance, params.core.token_decimals)
        .map_err(|e| anyhow::anyhow!("--account-balance: {e}"))?;
    let written = write_network(
        &args.out,
        args.validators,
        params,
        balance,
        args.oracles,
        args.force,
    )?;
    let p = &written.genesis.params;
    println!(
        "Wrote genesis for chain {} to {}",
        p.core.chain_id,
        args.out.display()
    );
    println!(
        "  genesis.toml      digest {}",
        digest_hex(&written.genesis.digest())
    );
    println!(
        "  validator-*.key   {} validator key(s) (keep secret)",
        written.genesis.validators.len()
    );
    println!(
        "  account.key       funded account {} with {} {} (keep secret)",
        key_address(&written.account),
        balance.to_decimal_string(p.core.token_decimals),
        p.core.token_symbol
    );
    Ok(())
}

const DAY_MS: u64 = 86_400_000;

fn check(file: &Path) -> Result<()> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let genesis = Genesis::from_toml(&text)
        .with_context(|| format!("{} is not a valid genesis", file.display()))?;
    let p = &genesis.params;
    println!("{} is a valid genesis", file.display());
    println!("  chain id          {}", p.core.chain_id);
    println!("  digest            {}", digest_hex(&genesis.digest()));
    println!(
        "  token             {} ({} decimals)",
        p.core.token_symbol, p.core.token_decimals
    );
    println!(
        "  supply            {} {} in {} account(s)",
        genesis
            .total_supply()
            .to_decimal_string(p.core.token_decimals),
        p.core.token_symbol,
        genesis.balances.len()
    );
    println!("  validators        {}", genesis.validators.len());
    println!(
        "  genesis time      {}",
        crate::clock::iso8601(genesis.genesis_time_ms)
    );
    let now = crate::clock::now_ms();
    if genesis.genesis_time_ms > now.saturating_add(DAY_MS) {
        eprintln!(
            "warning: the genesis time is {} away; validators started now make no block before it",
            crate::clock::span(genesis.genesis_time_ms - now)
        );
    }
    println!(
        "  epochs            {} blocks; emission {} {} per epoch, halving every {} epochs",
        p.core.epoch_length_blocks,
        p.core
            .initial_emission_per_epoch
            .to_decimal_string(p.core.token_decimals),
        p.core.token_symbol,
        p.core.halving_interval_epochs
    );
    // Key files next to the genesis must belong to it.
    if let Some(dir) = file.parent() {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("key") {
                continue;
            }
            let key_text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let key = read_key_file(&key_text)
                .with_context(|| format!("{} is not a valid key file", path.display()))?;
            let public = groundwork_primitives::keys::public_key_of(&key);
            let role = if genesis.validators.contains(&public) {
                "validator"
            } else if genesis
                .balances
                .iter()
                .any(|(a, _)| *a == key_address(&key))
            {
                "funded account"
            } else {
                "not in this genesis"
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            println!("  {name:<17} {role}");
        }
    }
    Ok(())
}
