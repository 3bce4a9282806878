//! The simulated price oracle of `groundwork dev`: the dev chain's oracle accounts submit a
//! token price that follows a seeded random walk, each with its own small observation noise,
//! so the demo's price moves and its median and average can be watched doing their job.
//!
//! It is a client like any other: it signs `oracle/submit-price` transactions with the oracle
//! keys `groundwork dev` wrote and sends them to the node's RPC.

use crate::rpc_client::{CallError, RpcClient};
use anyhow::Result;
use groundwork_api as api;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{AccountKey, AccountTransaction, OracleCall, Transaction};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Blocks between rounds of submissions.
const ROUND_BLOCKS: u64 = 5;

/// Where the walk starts: $2.50 a token.
const START_MICRO_USD: u64 = 2_500_000;

/// The walk's step: at most ±1.5 % per round; each oracle adds up to ±0.2 % of its own.
const STEP_BPS: u64 = 150;
const NOISE_BPS: u64 = 20;

/// The walk stays between $0.10 and $100.
const FLOOR_MICRO_USD: u64 = 100_000;
const CEILING_MICRO_USD: u64 = 100_000_000;

/// `price × (1 ± up to bps/10 000)`, drawn uniformly.
fn jitter(rng: &mut ChaCha8Rng, price: u64, bps: u64) -> u64 {
    let span = 2 * bps + 1;
    let draw = rng.next_u64() % span;
    let factor = 10_000 + draw - bps;
    let moved = u128::from(price) * u128::from(factor) / 10_000;
    u64::try_from(moved).unwrap_or(u64::MAX)
}

/// The next true price of the walk.
pub fn step(rng: &mut ChaCha8Rng, price: u64) -> u64 {
    jitter(rng, price, STEP_BPS).clamp(FLOOR_MICRO_USD, CEILING_MICRO_USD)
}

/// Submits prices every few blocks until `stop`; says once per epoch what the chain's price is.
pub fn run(rpc: &RpcClient, oracles: &[AccountKey], seed: u64, stop: &AtomicBool) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f72_6163_6c65);
    let mut price = START_MICRO_USD;
    let mut last_round: Option<u64> = None;
    let mut last_epoch: Option<u64> = None;
    while !stop.load(Ordering::Relaxed) {
        let status = match rpc.status() {
            Ok(status) => status,
            Err(CallError::Unreachable { .. }) => {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let round = status.height / ROUND_BLOCKS;
        if last_round != Some(round) {
            last_round = Some(round);
            price = step(&mut rng, price);
            for key in oracles {
                let observed = jitter(&mut rng, price, NOISE_BPS);
                let address = key_address(key).to_string();
                let nonce = rpc.pending_nonce(&address)?;
                let tx = Transaction::Account(AccountTransaction::sign(
                    key,
                    &status.chain_id,
                    nonce,
                    status.valid_until(),
                    OracleCall::SubmitPrice {
                        micro_usd_per_token: observed,
                    },
                ));
                if let Err(error) = rpc.submit(&tx) {
                    eprintln!("oracle: {address} could not submit: {error}");
                }
            }
        }
        if last_epoch != Some(status.epoch) {
            if last_epoch.is_some() {
                report(rpc, status.epoch);
            }
            last_epoch = Some(status.epoch);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn report(rpc: &RpcClient, epoch: u64) {
    let usd = crate::client_cmd::usd;
    match rpc.get::<api::OraclePrice>("oracle_getPrice", json!([])) {
        Ok(api::OraclePrice { price: Some(p), .. }) => println!(
            "oracle: epoch {epoch} price {} (median of {} fresh); burns at {}, mints at {}",
            usd(p.median),
            p.fresh,
            usd(p.burn),
            usd(p.mint)
        ),
        Ok(api::OraclePrice {
            unavailable: Some(reason),
            ..
        }) => println!("oracle: epoch {epoch}: no price ({})", reason.message),
        Ok(_) | Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_moves_within_its_step_and_bounds_and_repeats_by_seed() {
        let walk = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut price = START_MICRO_USD;
            (0..500)
                .map(|_| {
                    let next = step(&mut rng, price);
                    let change = next.abs_diff(price) * 10_000 / price;
                    assert!(change <= STEP_BPS, "{price} → {next}");
                    price = next;
                    next
                })
                .collect::<Vec<_>>()
        };
        let a = walk(7);
        assert_eq!(a, walk(7));
        assert_ne!(a, walk(8));
        assert!(
            a.iter()
                .all(|p| (FLOOR_MICRO_USD..=CEILING_MICRO_USD).contains(p))
        );
        assert!(a.iter().any(|&p| p != START_MICRO_USD), "the price moves");
    }
}
