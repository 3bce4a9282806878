//! The wallet and query commands: thin clients of a node's JSON-RPC. `account`, `credits`,
//! `device`, `rewards`, `challenge` and `chain` (with `verify-proof`).
//!
//! Amounts are shown and typed with decimals (`12.5`); `--base-units` shows the integers the
//! chain stores. `--json` prints the node's answer as it came.
//!
//! This file holds what every command shares — the node and signer flags, sending a
//! transaction, printing — and each command group has a file of its own.

mod account;
mod attest;
mod chain;
mod challenges;
pub mod compute;
mod credits;
mod device;
mod oracle;
mod proof;
mod rewards;
mod storage;
mod usage;

pub use account::{AccountCommand, account};
pub use attest::{AttestCommand, attest};
pub use chain::{ChainCommand, chain};
pub use challenges::{ChallengeCommand, challenge};
pub use credits::{CreditsCommand, credits, usd};
pub use device::{DeviceCommand, device};
pub use oracle::{OracleCommand, oracle};
pub use proof::{VerifyProofArgs, verify_proof};
pub use rewards::{RewardsCommand, rewards};
pub use storage::{StorageCommand, storage};
pub use usage::{OfferCommand, SessionCommand, offer, session};

use crate::keys_cmd::{load_account_key, load_device_key};
use crate::rpc_client::{CallError, ChainStatus, DEFAULT_RPC_URL, RpcClient};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use groundwork_api as api;
use groundwork_node::proof as state_proof;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{
    AccountTransaction, Address, Amount, Call, Cell, CoreCall, CreditsCall, DeviceId, OracleCall,
    ResourceKind, Transaction, decode_exact,
};
use groundwork_state::{Account, Device, account_key, device_key};
use serde_json::{Value, json};
use std::io::Read as _;
use std::path::{Path, PathBuf};
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

pub(crate) fn show_amount(
    status: &ChainStatus,
    args: &ClientArgs,
    amount: api::BaseUnits,
) -> String {
    if args.base_units {
        format!("{amount} base units")
    } else {
        status.show(&amount.to_string())
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

pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
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

pub(crate) fn parse_device(text: &str) -> Result<DeviceId> {
    text.parse()
        .with_context(|| format!("{text:?} is not a device id (gwd1…)"))
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
