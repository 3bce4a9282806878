//! The wallet and query commands: thin clients of a node's JSON-RPC. `account`, `credits`,
//! `device`, `rewards`, `chain` and `verify-proof`.
//!
//! Amounts are shown and typed with decimals (`12.5`); `--base-units` shows the integers the
//! chain stores. `--json` prints the node's answer as it came.

use crate::keys_cmd::{load_account_key, load_device_key};
use crate::rpc_client::{CallError, ChainStatus, DEFAULT_RPC_URL, RpcClient};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use groundwork_node::proof;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::{digest_from_hex, digest_hex};
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{
    AccountTransaction, Address, Amount, Call, Cell, CoreCall, DeviceId, ResourceKind, Transaction,
    decode_exact,
};
use groundwork_state::{Account, Device, account_key, device_key};
use serde_json::{Value, json};
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the node and how to print.
#[derive(Args, Clone)]
pub struct ClientArgs {
    /// The node's JSON-RPC URL.
    #[arg(long, env = "GROUNDWORK_RPC", default_value = DEFAULT_RPC_URL, global = true,
          value_parser = rpc_url)]
    pub rpc: String,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Show amounts in base units (integers) instead of decimals.
    #[arg(long, global = true)]
    pub base_units: bool,
}

impl ClientArgs {
    pub(crate) fn client(&self) -> Result<RpcClient> {
        RpcClient::new(&self.rpc, Duration::from_secs(30))
    }
}

/// Who signs, and whether to wait for the block.
#[derive(Args, Clone)]
pub struct SignerArgs {
    /// The signing key: a keystore key name, a PKCS#8 PEM file, or a plain key file.
    #[arg(long)]
    pub key: String,
    /// Keystore directory (default: $GROUNDWORK_HOME/keys, GROUNDWORK_HOME = ~/.groundwork).
    #[arg(long)]
    pub keystore: Option<PathBuf>,
    /// Return once the node accepts the transaction, without waiting for its block.
    #[arg(long)]
    pub no_wait: bool,
    /// How many blocks from now the signed transaction may still be included; after that
    /// its bytes are void (at most 3600).
    #[arg(long, value_name = "BLOCKS", default_value_t = crate::rpc_client::DEFAULT_VALIDITY_BLOCKS,
          value_parser = clap::value_parser!(u64).range(1..=groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS))]
    pub valid_for: u64,
    /// Sign with this nonce instead of the account's next one (to replace a pending
    /// transaction, or to sign several ahead).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Print the signed transaction as hex and send nothing (submit it later with
    /// `tx_submit`).
    #[arg(long)]
    pub dry_run: bool,
}

pub(crate) fn show_amount(status: &ChainStatus, args: &ClientArgs, value: &Value) -> String {
    let text = value.as_str().unwrap_or("?");
    if args.base_units {
        format!("{text} base units")
    } else {
        status.show(text)
    }
}

/// `--rpc` / `GROUNDWORK_RPC`: an http(s) URL of a node, or `host:port`.
fn rpc_url(text: &str) -> Result<String, String> {
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    match reqwest::Url::parse(&with_scheme) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(with_scheme)
        }
        _ => Err(format!(
            "{text:?} is not a node URL: expected http://host:port (as in {DEFAULT_RPC_URL})"
        )),
    }
}

/// `--lat`: degrees from -90 to 90, refused by name before anything is signed or sent.
fn latitude(text: &str) -> Result<f64, String> {
    degrees(text, 90.0, "latitude")
}

/// `--lng`: degrees from -180 to 180.
fn longitude(text: &str) -> Result<f64, String> {
    degrees(text, 180.0, "longitude")
}

fn degrees(text: &str, limit: f64, what: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of degrees"))?;
    if (-limit..=limit).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{what} {text} is out of range: it must be from -{limit} to {limit} degrees"
        ))
    }
}

pub(crate) fn print_json(value: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Signs `action` with the signer's key at its next nonce, submits it, and (unless told not
/// to) waits for its block. Fails if the chain rejected it.
fn send<C: Into<Call>>(
    client: &ClientArgs,
    signer: &SignerArgs,
    build: impl FnOnce(&Address, &ChainStatus) -> Result<C>,
) -> Result<()> {
    send_at_nonce(client, signer, |sender, status, _| build(sender, status))
}

/// [`send`], with the nonce the transaction will carry given to `build` (a challenge's id
/// derives from it).
pub(crate) fn send_at_nonce<C: Into<Call>>(
    client: &ClientArgs,
    signer: &SignerArgs,
    build: impl FnOnce(&Address, &ChainStatus, u64) -> Result<C>,
) -> Result<()> {
    let rpc = client.client()?;
    let status = rpc.status()?;
    let key = load_account_key(&signer.key, signer.keystore.as_deref())?;
    let sender = key_address(&key);
    let nonce = match signer.nonce {
        Some(nonce) => nonce,
        None => rpc.pending_nonce(&sender.to_string())?,
    };
    let action = build(&sender, &status, nonce)?;
    let valid_until = status.height.saturating_add(signer.valid_for);
    let transaction = Transaction::Account(AccountTransaction::sign(
        &key,
        &status.chain_id,
        nonce,
        valid_until,
        action,
    ));
    if signer.dry_run {
        let hex = hex::encode(transaction.encode());
        if client.json {
            print_json(
                &json!({ "hash": digest_hex(&transaction.hash()), "tx": hex, "nonce": nonce, "valid_until": valid_until }),
            )?;
        } else {
            println!("{hex}");
            eprintln!(
                "signed, not sent: transaction {} with nonce {nonce}, valid until block {valid_until}",
                digest_hex(&transaction.hash())
            );
        }
        return Ok(());
    }
    let hash = rpc.submit(&transaction).map_err(|error| match error {
        CallError::Rpc { code, message } if (5_000..6_000).contains(&code) => anyhow::anyhow!(
            "not sent: the node refused the transaction, and nothing was charged: {} \
             (code {}). The signed bytes stay void after block {valid_until}.",
            status.in_tokens(&message),
            code - 5_000
        ),
        other => other.into(),
    })?;
    if signer.no_wait {
        if client.json {
            print_json(&json!({ "hash": hash }))?;
        } else {
            println!("submitted {hash}");
        }
        return Ok(());
    }
    let receipt = rpc.wait_for(&hash, Duration::from_secs(60))?;
    if client.json {
        print_json(&json!({
            "hash": receipt.hash,
            "height": receipt.height,
            "ok": receipt.error.is_none(),
            "error_code": receipt.error.as_ref().map(|e| e.0),
            "error": receipt.error.as_ref().map(|e| e.1.clone()),
        }))?;
    } else if receipt.error.is_none() {
        println!("included in block {} (transaction {hash})", receipt.height);
    }
    if let Some((code, message)) = receipt.error {
        bail!(
            "the chain rejected transaction {hash} in block {}: {} (code {code}). \
             It paid its fee and used its nonce, so it can never run again.",
            receipt.height,
            status.in_tokens(&message)
        );
    }
    Ok(())
}

// ---- account -------------------------------------------------------------------------------

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

fn parse_amount(text: &str, status: &ChainStatus, base_units: bool) -> Result<Amount> {
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
            let answer = rpc.call("account_get", json!([address.to_string()]))?;
            if client.json {
                return print_json(&answer);
            }
            let status = rpc.status()?;
            println!("address  {address}");
            println!(
                "balance  {}",
                show_amount(&status, &client, &answer["balance"])
            );
            println!("nonce    {}", answer["nonce"]);
            println!("credits  {} data credits", answer["credits"]);
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

#[derive(Subcommand)]
pub enum CreditsCommand {
    /// Burn tokens for data credits at the chain's fixed credit price.
    #[command(
        after_help = "Examples:\n  groundwork credits buy --key alice --credits 1000\n  groundwork credits buy --key alice --credits 50 --recipient gw1…"
    )]
    Buy {
        /// Data credits to mint.
        #[arg(long)]
        credits: u64,
        /// Who receives the credits (default: the signer).
        #[arg(long)]
        recipient: Option<String>,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub fn credits(command: CreditsCommand) -> Result<()> {
    let CreditsCommand::Buy {
        credits,
        recipient,
        signer,
        client,
    } = command;
    send(&client, &signer, |sender, _| {
        let recipient = match recipient {
            Some(text) => text.parse().context("invalid --recipient address")?,
            None => *sender,
        };
        Ok(CoreCall::BurnForCredits { recipient, credits })
    })
}

// ---- device --------------------------------------------------------------------------------

/// Where a device is: an H3 cell, or a latitude and longitude.
#[derive(Args, Clone)]
pub struct LocationArgs {
    /// Resolution-12 H3 cell (hex like 8c1f05a4e9a5dff, or decimal).
    #[arg(long, conflicts_with_all = ["lat", "lng"])]
    pub location: Option<String>,
    /// Latitude in degrees, -90 to 90 (with --lng).
    #[arg(long, requires = "lng", allow_hyphen_values = true, value_parser = latitude)]
    pub lat: Option<f64>,
    /// Longitude in degrees, -180 to 180 (with --lat).
    #[arg(long, requires = "lat", allow_hyphen_values = true, value_parser = longitude)]
    pub lng: Option<f64>,
}

impl LocationArgs {
    fn cell(&self) -> Result<Cell> {
        match (&self.location, self.lat, self.lng) {
            (Some(text), _, _) => text.parse().with_context(|| format!("--location {text:?}")),
            (None, Some(lat), Some(lng)) => {
                Cell::from_lat_lng(lat, lng).with_context(|| format!("--lat {lat} --lng {lng}"))
            }
            _ => bail!("give --location CELL or --lat and --lng"),
        }
    }
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Register a device: bonds tokens and records its kind and place.
    ///
    /// The device key signs the owner's address, proving the owner holds the device.
    #[command(
        after_help = "Example:\n  groundwork device register --key alice --device-key hotspot.pem --kind wireless \\\n      --lat 52.52 --lng 13.405"
    )]
    Register {
        /// The device's key: keystore name or PKCS#8 PEM (ed25519 or P-256).
        #[arg(long)]
        device_key: String,
        /// Resource kind: wireless, storage, compute, sensor, energy, ev_charger or vehicle.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        location: LocationArgs,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one device.
    #[command(after_help = "Example:\n  groundwork device show gwd1…")]
    Show {
        device: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List devices by owner, by H3 cell (any resolution, children included), or both.
    #[command(
        after_help = "Examples:\n  groundwork device list --owner gw1…\n  groundwork device list --cell 85283473fffffff --limit 50"
    )]
    List {
        /// List only devices of this owner (gw1… address).
        #[arg(long)]
        owner: Option<String>,
        /// H3 cell of any resolution; devices in it or in its children are listed.
        #[arg(long)]
        cell: Option<String>,
        /// Most devices per page (1..=1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this device id (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Assert a new location for a device.
    #[command(
        after_help = "Example:\n  groundwork device move --key alice --device gwd1… --lat 48.8566 --lng 2.3522"
    )]
    Move {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        #[command(flatten)]
        location: LocationArgs,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Hand a device to a new owner.
    #[command(
        after_help = "Example:\n  groundwork device transfer --key alice --device gwd1… --to gw1…"
    )]
    Transfer {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The new owner's address (gw1…).
        #[arg(long)]
        to: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Retire a device; its bond returns after the unbonding period.
    #[command(after_help = "Example:\n  groundwork device decommission --key alice --device gwd1…")]
    Decommission {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) fn parse_device(text: &str) -> Result<DeviceId> {
    text.parse()
        .with_context(|| format!("{text:?} is not a device id (gwd1…)"))
}

fn print_device(status: &ChainStatus, client: &ClientArgs, d: &Value) {
    println!("device        {}", d["device"].as_str().unwrap_or("?"));
    println!("scheme        {}", d["scheme"].as_str().unwrap_or("?"));
    println!("owner         {}", d["owner"].as_str().unwrap_or("?"));
    println!("kind          {}", d["kind"].as_str().unwrap_or("?"));
    let location = d["location"].as_str().unwrap_or("?");
    match location.parse::<Cell>() {
        Ok(cell) => {
            let centre = h3o::LatLng::from(cell.index());
            println!(
                "location      {location} (centre {:.5}, {:.5})",
                centre.lat(),
                centre.lng()
            );
        }
        Err(_) => println!("location      {location}"),
    }
    println!("status        {}", d["status"].as_str().unwrap_or("?"));
    println!("bond          {}", show_amount(status, client, &d["bond"]));
    println!("registered    block {}", d["registered_at_height"]);
    let units = d["pending_work_units"].as_u64().unwrap_or(0);
    let plural = if units == 1 { "" } else { "s" };
    println!("pending work  {units} unit{plural} this epoch");
}

pub fn device(command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Register {
            device_key,
            kind,
            location,
            signer,
            client,
        } => {
            let device = load_device_key(&device_key, signer.keystore.as_deref())?;
            let kind: ResourceKind = kind.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--kind {kind:?} is not a resource kind; expected one of: {}",
                    ResourceKind::ALL.map(|k| k.name()).join(", ")
                )
            })?;
            let cell = location.cell()?;
            if !client.json {
                println!("device id {}", device.id());
            }
            send(&client, &signer, |owner, status| {
                Ok(CoreCall::register_device(
                    &status.chain_id,
                    owner,
                    &device,
                    kind,
                    cell,
                ))
            })
        }
        DeviceCommand::Show { device, client } => {
            let id = parse_device(&device)?;
            let rpc = client.client()?;
            let answer = rpc.call("device_get", json!([id.to_string()]))?;
            if client.json {
                return print_json(&answer);
            }
            print_device(&rpc.status()?, &client, &answer);
            Ok(())
        }
        DeviceCommand::List {
            owner,
            cell,
            limit,
            after,
            client,
        } => {
            let rpc = client.client()?;
            let answer = rpc.call(
                "device_list",
                json!({ "owner": owner, "cell": cell, "limit": limit, "after": after }),
            )?;
            if client.json {
                return print_json(&answer);
            }
            let devices = answer["devices"].as_array().cloned().unwrap_or_default();
            if devices.is_empty() {
                println!("no devices");
            }
            let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
            let rows: Vec<Vec<String>> = devices
                .iter()
                .map(|d| {
                    vec![
                        text(&d["device"]),
                        text(&d["kind"]),
                        text(&d["location"]),
                        text(&d["status"]),
                    ]
                })
                .collect();
            print!("{}", columns(&rows));
            if let Some(next) = answer["next"].as_str() {
                println!("more: --after {next}");
            }
            Ok(())
        }
        DeviceCommand::Move {
            device,
            location,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let location = location.cell()?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::AssertLocation { device, location })
            })
        }
        DeviceCommand::Transfer {
            device,
            to,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let new_owner: Address = to.parse().context("invalid --to address")?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::TransferDevice { device, new_owner })
            })
        }
        DeviceCommand::Decommission {
            device,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::DecommissionDevice { device })
            })
        }
    }
}

// ---- rewards -------------------------------------------------------------------------------

#[derive(Subcommand)]
pub enum RewardsCommand {
    /// Show what a device was paid for an epoch (default: the last ended epoch).
    #[command(after_help = "Example:\n  groundwork rewards show --device gwd1… --epoch 3")]
    Show {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The epoch (default: the last ended epoch).
        #[arg(long)]
        epoch: Option<u64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Explain a device's reward: every input and step, adding up to the amount paid.
    ///
    /// The node's numbers are recomputed here too, so a wrong explanation is caught.
    #[command(after_help = "Example:\n  groundwork rewards explain --device gwd1… --epoch 3")]
    Explain {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The epoch (default: the last ended epoch).
        #[arg(long)]
        epoch: Option<u64>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Recomputes a `rewards_explain` answer's amount from its inputs, in integers.
fn recompute_explanation(e: &Value) -> Option<u128> {
    let input = |name: &str| e["inputs"][name].as_u64();
    let bps = |name: &str| input(name).and_then(|v| u16::try_from(v).ok());
    let inputs = groundwork_state::rewards::KindRewardInputs {
        initial_emission: Amount(e["inputs"]["initial_emission"].as_str()?.parse().ok()?),
        halvings: input("halvings")?,
        coverage_share_bps: bps("coverage_share_bps")?,
        weight_bps: bps("weight_bps")?,
        work_units: input("work_units")?,
        kind_total_units: input("kind_total_units")?,
    };
    groundwork_state::rewards::recompute_kind_reward(&inputs).map(|a| a.0)
}

/// Calls a `(device, epoch)` method; returns the client too, for follow-up calls.
fn device_epoch_call(
    client: &ClientArgs,
    method: &str,
    device: &str,
    epoch: Option<u64>,
) -> Result<(RpcClient, Value)> {
    let id = parse_device(device)?;
    let rpc = client.client()?;
    let answer = rpc.call(method, json!({ "device": id.to_string(), "epoch": epoch }))?;
    Ok((rpc, answer))
}

/// Recomputes a coverage explanation's amount from its shares and pools.
fn recompute_coverage(c: &Value) -> Option<u128> {
    let (mut beacon, mut witness) = (0u64, 0u64);
    for share in c["shares"].as_array()? {
        let units = share["units"].as_u64()?;
        match share["role"].as_str()? {
            "beaconer" => beacon = beacon.checked_add(units)?,
            _ => witness = witness.checked_add(units)?,
        }
    }
    let amount = |name: &str| -> Option<Amount> { Some(Amount(c[name].as_str()?.parse().ok()?)) };
    let summary = groundwork_state::coverage::CoverageSummary {
        beacon_pool: amount("beacon_pool")?,
        witness_pool: amount("witness_pool")?,
        total_beacon_units: c["total_beacon_units"].as_u64()?,
        total_witness_units: c["total_witness_units"].as_u64()?,
        ..Default::default()
    };
    Some(summary.amount_for(beacon, witness).0)
}

pub fn rewards(command: RewardsCommand) -> Result<()> {
    match command {
        RewardsCommand::Show {
            device,
            epoch,
            client,
        } => {
            let (rpc, answer) = device_epoch_call(&client, "rewards_get", &device, epoch)?;
            if client.json {
                return print_json(&answer);
            }
            let status = rpc.status()?;
            println!("epoch       {}", answer["epoch"]);
            println!("device      {}", answer["device"].as_str().unwrap_or("?"));
            if let Some(owner) = answer["owner"].as_str() {
                println!("paid to     {owner}");
            }
            let base = |value: &Value| value.as_str().and_then(|t| t.parse::<u128>().ok());
            let kind = base(&answer["amount"]);
            if kind.is_some() {
                println!(
                    "{:<11} {} (work {} of {} {} units)",
                    answer["kind"].as_str().unwrap_or("kind"),
                    show_amount(&status, &client, &answer["amount"]),
                    answer["work_units"],
                    answer["kind_total_units"],
                    answer["kind"].as_str().unwrap_or("?")
                );
            }
            let coverage = &answer["coverage"];
            let covered = base(&coverage["amount"]);
            if covered.is_some() {
                println!(
                    "coverage    {} ({} beacons, {} witness reports)",
                    show_amount(&status, &client, &coverage["amount"]),
                    coverage["beacons"],
                    coverage["witness_reports"]
                );
            }
            let total = kind.unwrap_or(0).saturating_add(covered.unwrap_or(0));
            println!(
                "total       {}",
                show_amount(&status, &client, &json!(total.to_string()))
            );
            Ok(())
        }
        RewardsCommand::Explain {
            device,
            epoch,
            client,
        } => {
            let (rpc, answer) = device_epoch_call(&client, "rewards_explain", &device, epoch)?;
            // The kind reward (if any) is recomputed here from its inputs; the coverage reward
            // (if any) from its shares' units and the pools.
            let paid: Option<u128> = answer["amount"].as_str().and_then(|a| a.parse().ok());
            let recomputed = recompute_explanation(&answer);
            let kind_adds_up = answer["amount"].is_null() || (paid.is_some() && paid == recomputed);
            let coverage = &answer["coverage"];
            let coverage_adds_up = coverage.is_null()
                || recompute_coverage(coverage).is_some_and(|r| {
                    coverage["amount"]
                        .as_str()
                        .and_then(|a| a.parse::<u128>().ok())
                        == Some(r)
                });
            let adds_up = kind_adds_up && coverage_adds_up;
            if client.json {
                let mut answer = answer;
                answer["adds_up"] = json!(adds_up);
                print_json(&answer)?;
            } else {
                let status = rpc.status()?;
                println!(
                    "device {} in epoch {} ({})",
                    answer["device"].as_str().unwrap_or("?"),
                    answer["epoch"],
                    answer["kind"].as_str().unwrap_or("?")
                );
                for (i, step) in answer["steps"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    println!("  {}. {}", i + 1, step.as_str().unwrap_or(""));
                }
                if !answer["amount"].is_null() {
                    println!("paid: {}", show_amount(&status, &client, &answer["amount"]));
                }
                if !coverage.is_null() {
                    println!("coverage:");
                    for share in coverage["shares"].as_array().cloned().unwrap_or_default() {
                        println!(
                            "  beacon {} as {}: {} witnesses, unit {} × hex scale {} = {}{}",
                            share["beacon"]
                                .as_str()
                                .unwrap_or("?")
                                .get(..16)
                                .unwrap_or("?"),
                            share["role"].as_str().unwrap_or("?"),
                            share["witnesses"],
                            share["unit"],
                            share["hex_scale"],
                            share["units"],
                            if share["reciprocity"] == json!(false) {
                                " (failed reciprocity)"
                            } else {
                                ""
                            }
                        );
                    }
                    for (i, step) in coverage["steps"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        println!("  {}. {}", i + 1, step.as_str().unwrap_or(""));
                    }
                    println!(
                        "coverage paid: {}",
                        show_amount(&status, &client, &coverage["amount"])
                    );
                }
                if adds_up {
                    println!("recomputed here from the inputs above: the same amount");
                }
            }
            if !adds_up {
                bail!("the explanation does not add up: recomputed {recomputed:?}, paid {paid:?}");
            }
            Ok(())
        }
    }
}

// ---- chain ---------------------------------------------------------------------------------

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
    /// Fetch a state proof of an account or device (JSON, for `groundwork verify-proof`).
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
}

pub fn chain(command: ChainCommand) -> Result<()> {
    match command {
        ChainCommand::Status { client } => {
            let rpc = client.client()?;
            let status = rpc.status()?;
            if client.json {
                return print_json(&status.raw);
            }
            println!("chain       {}", status.chain_id);
            println!("height      {} (final)", status.height);
            println!(
                "epoch       {} ({} blocks each)",
                status.epoch, status.epoch_length_blocks
            );
            println!(
                "block       {}",
                status.raw["block"].as_str().unwrap_or("?")
            );
            println!(
                "state root  {}",
                status.raw["state_root"].as_str().unwrap_or("?")
            );
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
            let answer = rpc.call("chain_getBlock", json!([wanted]))?;
            if client.json {
                return print_json(&answer);
            }
            println!("height        {}", answer["height"]);
            println!("hash          {}", answer["hash"].as_str().unwrap_or("?"));
            println!("parent        {}", answer["parent"].as_str().unwrap_or("?"));
            match answer["timestamp_ms"].as_u64() {
                Some(ms) => println!("time          {} ({ms} ms)", crate::clock::iso8601(ms)),
                None => println!("time          ?"),
            }
            println!(
                "state root    {} (after the parent)",
                answer["state_root"].as_str().unwrap_or("?")
            );
            let txs = answer["transactions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let results = answer["results"].as_array().cloned().unwrap_or_default();
            println!("transactions  {}", txs.len());
            for (i, tx) in txs.iter().enumerate() {
                let result = match results.get(i) {
                    Some(Value::Null) | None => "ok".to_string(),
                    Some(code) => format!("rejected (code {code})"),
                };
                println!("  {}  {result}", tx.as_str().unwrap_or("?"));
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
            print_json(&rpc.call("state_getProof", params)?)
        }
    }
}

// ---- verify-proof --------------------------------------------------------------------------

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

fn field<'a>(answer: &'a Value, name: &str) -> Result<&'a str> {
    answer[name]
        .as_str()
        .with_context(|| format!("the proof has no `{name}` string"))
}

fn hex_field(answer: &Value, name: &str) -> Result<Vec<u8>> {
    hex::decode(field(answer, name)?).with_context(|| format!("the proof's `{name}` is not hex"))
}

/// Rows as aligned columns: each column as wide as its widest cell, two spaces apart, the
/// last one unpadded.
pub(crate) fn columns(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    }
    out
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
    let answer = if parsed.get("result").is_some() {
        &parsed["result"]
    } else {
        &parsed
    };
    let (subject, key) = match (answer["account"].as_str(), answer["device"].as_str()) {
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
    let value = hex_field(answer, "value")?;
    let proof_bytes = hex_field(answer, "proof")?;
    let root_text = match &args.root {
        Some(root) => root.clone(),
        None => field(answer, "root")?.to_string(),
    };
    let root = digest_from_hex(&root_text).context("the root is not 64 hex characters")?;
    proof::verify(&key, &value, &proof_bytes, &root)
        .with_context(|| format!("proof of {subject} is NOT valid against root {root_text}"))?;
    let decoded = match answer["account"].as_str() {
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
            &json!({ "valid": true, "subject": subject, "root": root_text, "height": answer["height"], "value": decoded }),
        )?;
    } else {
        println!(
            "valid: {subject} at root {root_text} (after block {})",
            answer["height"]
        );
        if args.root.is_none() {
            println!(
                "note: checked against the root the proof names; pass --root to check against one you trust"
            );
        }
        // The node's token symbol and decimals, if it sent them, show amounts in tokens.
        let token = answer["token"]["symbol"]
            .as_str()
            .zip(answer["token"]["decimals"].as_u64())
            .and_then(|(s, d)| Some((s.to_string(), u8::try_from(d).ok()?)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let cells = |row: &[&str]| row.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let rows = vec![
            cells(&["gwd1short", "ev_charger", "active"]),
            cells(&["gwd1muchlongerid", "sensor", "unbonding"]),
        ];
        let text = columns(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].find("ev_charger"), lines[1].find("sensor"));
        assert_eq!(lines[0].find("active"), lines[1].find("unbonding"));
        assert!(!lines[0].ends_with(' '));
    }
}
