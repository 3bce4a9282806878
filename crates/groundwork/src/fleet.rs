//! A simulated fleet: N devices of several kinds, placed around real cities the way
//! deployments cluster (dense in the centre, thinning out into suburbs, a few rural), all
//! owned by one account, each heartbeating once per heartbeat window through the node's RPC.
//!
//! `groundwork fleet` runs it against any node; `groundwork dev --devices N` runs it inside the
//! dev process against the dev chain. Device keys derive from `--seed`, so a restarted fleet
//! finds its devices already registered and carries on. Simulated keys are for simulations
//! only: anyone who knows the seed holds them.

use crate::keys_cmd::load_account_key;
use crate::rpc_client::{CallError, DEFAULT_RPC_URL, RpcClient};
use anyhow::{Context, Result, bail};
use clap::Args;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::keys::KeyScheme;
use groundwork_primitives::{
    AccountAction, AccountKey, AccountTransaction, Address, Cell, DeviceKey, HeartbeatTransaction,
    ResourceKind, Transaction,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Most devices one fleet runs.
pub const MAX_FLEET_DEVICES: u32 = 100_000;
/// Registrations in flight per round: the mempool's nonce window for one account.
const REGISTRATIONS_PER_ROUND: usize = 64;
/// Transactions per `tx_submitBatch`.
const SUBMIT_BATCH: usize = 1_024;

#[derive(Args)]
pub struct FleetArgs {
    /// The node's JSON-RPC URL.
    #[arg(long, env = "GROUNDWORK_RPC", default_value = DEFAULT_RPC_URL)]
    rpc: String,
    /// How many devices to simulate.
    #[arg(long, default_value_t = 100)]
    devices: u32,
    /// The owner account that registers and bonds every device: a keystore key name, a
    /// PKCS#8 PEM file or a plain key file.
    #[arg(long)]
    key: String,
    /// Keystore directory, for a key given by name.
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// Seed of the simulated device keys and places; the same seed is the same fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// A city that hosts deployments: centre and how far its devices spread (metres, mean).
struct City {
    name: &'static str,
    lat: f64,
    lng: f64,
    spread_m: f64,
    weight: u32,
}

const CITIES: [City; 8] = [
    City {
        name: "Berlin",
        lat: 52.5200,
        lng: 13.4050,
        spread_m: 4_000.0,
        weight: 18,
    },
    City {
        name: "Lisbon",
        lat: 38.7223,
        lng: -9.1393,
        spread_m: 3_000.0,
        weight: 10,
    },
    City {
        name: "Austin",
        lat: 30.2672,
        lng: -97.7431,
        spread_m: 6_000.0,
        weight: 16,
    },
    City {
        name: "Sao Paulo",
        lat: -23.5505,
        lng: -46.6333,
        spread_m: 7_000.0,
        weight: 12,
    },
    City {
        name: "Lagos",
        lat: 6.5244,
        lng: 3.3792,
        spread_m: 5_000.0,
        weight: 8,
    },
    City {
        name: "Mumbai",
        lat: 19.0760,
        lng: 72.8777,
        spread_m: 5_000.0,
        weight: 10,
    },
    City {
        name: "Seoul",
        lat: 37.5665,
        lng: 126.9780,
        spread_m: 5_000.0,
        weight: 14,
    },
    City {
        name: "Sydney",
        lat: -33.8688,
        lng: 151.2093,
        spread_m: 6_000.0,
        weight: 12,
    },
];

/// Share of each kind in the fleet, in percent, in [`ResourceKind::ALL`] order.
const KIND_MIX: [(ResourceKind, u32); 7] = [
    (ResourceKind::Wireless, 40),
    (ResourceKind::Storage, 8),
    (ResourceKind::Compute, 7),
    (ResourceKind::Sensor, 20),
    (ResourceKind::Energy, 10),
    (ResourceKind::EvCharger, 10),
    (ResourceKind::Vehicle, 5),
];

/// One simulated device.
pub struct SimDevice {
    pub key: DeviceKey,
    pub kind: ResourceKind,
    pub location: Cell,
    pub city: &'static str,
}

fn pick<T>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> usize {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut roll = rng.next_u32() % total.max(1);
    for (i, (_, w)) in items.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    items.len() - 1
}

fn unit(rng: &mut ChaCha8Rng) -> f64 {
    // 53 random bits in [0, 1).
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The fleet of `count` devices for `seed`: the same inputs give the same fleet.
pub fn plan(count: u32, seed: u64) -> Result<Vec<SimDevice>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cities: Vec<(usize, u32)> = CITIES
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.weight))
        .collect();
    let mut fleet = Vec::with_capacity(count as usize);
    for i in 0..count {
        let city = &CITIES[pick(&mut rng, &cities)];
        // Exponential distance: most devices near the centre; one in ten is suburban/rural.
        let mean = if rng.next_u32() % 10 == 0 {
            city.spread_m * 5.0
        } else {
            city.spread_m
        };
        let distance = -mean * (1.0 - unit(&mut rng)).ln();
        let bearing = unit(&mut rng) * std::f64::consts::TAU;
        let lat = city.lat + distance * bearing.cos() / 111_320.0;
        let lng = city.lng + distance * bearing.sin() / (111_320.0 * city.lat.to_radians().cos());
        let location = Cell::from_lat_lng(lat, lng)
            .with_context(|| format!("placing device {i} near {}", city.name))?;
        let kind = KIND_MIX[pick(&mut rng, &KIND_MIX)].0;
        // One device in five keeps its key in a P-256 secure element.
        let scheme = if i % 5 == 4 {
            KeyScheme::P256
        } else {
            KeyScheme::Ed25519
        };
        let key = DeviceKey::from_seed(
            scheme,
            seed.wrapping_mul(1_000_003).wrapping_add(u64::from(i)),
        );
        fleet.push(SimDevice {
            key,
            kind,
            location,
            city: city.name,
        });
    }
    Ok(fleet)
}

/// Device ids the owner already has on chain.
fn registered(rpc: &RpcClient, owner: &Address) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = rpc.call(
            "device_list",
            json!({ "owner": owner.to_string(), "limit": 1_000, "after": after }),
        )?;
        for device in page["devices"].as_array().into_iter().flatten() {
            if let Some(id) = device["device"].as_str() {
                ids.insert(id.to_string());
            }
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return Ok(ids),
        }
    }
}

/// Registers the devices not yet on chain, a nonce window at a time, with a progress bar.
fn register(
    rpc: &RpcClient,
    owner: &AccountKey,
    fleet: &[SimDevice],
    stop: &AtomicBool,
) -> Result<()> {
    let status = rpc.status()?;
    let address = key_address(owner);
    let known = registered(rpc, &address)?;
    let missing: Vec<&SimDevice> = fleet
        .iter()
        .filter(|d| !known.contains(&d.key.id().to_string()))
        .collect();
    if missing.is_empty() {
        println!("fleet: all {} devices already registered", fleet.len());
        return Ok(());
    }
    let bar = ProgressBar::new(missing.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "fleet: registering {bar:30} {pos}/{len} devices ({per_sec}, eta {eta})",
        )
        .map_err(|e| anyhow::anyhow!("progress bar template: {e}"))?,
    );
    let mut nonce = rpc.nonce(&address.to_string())?;
    for round in missing.chunks(REGISTRATIONS_PER_ROUND) {
        if stop.load(Ordering::Relaxed) {
            bar.abandon();
            return Ok(());
        }
        let transactions: Vec<Transaction> = round
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let action = AccountAction::register_device(
                    &status.chain_id,
                    &address,
                    &d.key,
                    d.kind,
                    d.location,
                );
                Transaction::Account(AccountTransaction::sign(
                    owner,
                    &status.chain_id,
                    nonce + i as u64,
                    action,
                ))
            })
            .collect();
        for (i, result) in rpc.submit_batch(&transactions)?.into_iter().enumerate() {
            if let Err(error) = result {
                bail!("registering device {}: {error}", round[i].key.id());
            }
        }
        nonce += round.len() as u64;
        let started = Instant::now();
        while rpc.nonce(&address.to_string())? < nonce {
            if started.elapsed() > Duration::from_secs(120) {
                bail!("registrations did not land within 2 minutes; is the node producing blocks?");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.inc(round.len() as u64);
    }
    bar.finish();
    let now = registered(rpc, &address)?;
    let failed = missing
        .iter()
        .filter(|d| !now.contains(&d.key.id().to_string()))
        .count();
    if failed > 0 {
        bail!(
            "{failed} registrations were rejected by the chain (is the owner funded for the bonds?)"
        );
    }
    Ok(())
}

/// Runs the fleet until `stop` is set: registers, then heartbeats every device once per
/// heartbeat window and reports each epoch's payout.
pub fn drive(
    rpc: &RpcClient,
    owner: &AccountKey,
    fleet: &[SimDevice],
    stop: &AtomicBool,
) -> Result<()> {
    register(rpc, owner, fleet, stop)?;
    let mut by_kind = [0u32; ResourceKind::COUNT];
    for d in fleet {
        by_kind[d.kind.index()] += 1;
    }
    let mix: Vec<String> = ResourceKind::ALL
        .iter()
        .filter(|k| by_kind[k.index()] > 0)
        .map(|k| format!("{} {}", by_kind[k.index()], k.name()))
        .collect();
    let mut cities: Vec<(&str, usize)> = CITIES
        .iter()
        .map(|c| (c.name, fleet.iter().filter(|d| d.city == c.name).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    cities.sort_by_key(|c| std::cmp::Reverse(c.1));
    let places: Vec<String> = cities.iter().map(|(c, n)| format!("{n} {c}")).collect();
    println!(
        "fleet: {} devices heartbeating ({})",
        fleet.len(),
        mix.join(", ")
    );
    println!("fleet: around {}", places.join(", "));
    let mut last_window = None;
    let mut last_epoch = None;
    while !stop.load(Ordering::Relaxed) {
        let status = match rpc.status() {
            Ok(status) => status,
            Err(CallError::Unreachable { .. }) => {
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let window_blocks = status.raw["heartbeat_window_blocks"]
            .as_u64()
            .unwrap_or(1)
            .max(1);
        // The window the next block falls in.
        let window = status.height / window_blocks;
        if last_window != Some(window) {
            last_window = Some(window);
            let beats: Vec<Transaction> = fleet
                .iter()
                .map(|d| {
                    Transaction::Heartbeat(HeartbeatTransaction::sign(
                        &d.key,
                        &status.chain_id,
                        status.block,
                    ))
                })
                .collect();
            for chunk in beats.chunks(SUBMIT_BATCH) {
                // Refusals (a heartbeat still pending) are expected now and then.
                let _ = rpc.submit_batch(chunk)?;
            }
        }
        if let Some(previous) = last_epoch
            && status.epoch > previous
        {
            let ended = status.epoch - 1;
            if let Ok(summary) = rpc.call("epoch_get", json!([ended])) {
                println!(
                    "fleet: epoch {ended} ended: {} paid to {} devices",
                    status.show(summary["paid"].as_str().unwrap_or("0")),
                    summary["devices_rewarded"]
                );
            }
        }
        last_epoch = Some(status.epoch);
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

pub fn run(args: FleetArgs) -> Result<()> {
    if args.devices == 0 || args.devices > MAX_FLEET_DEVICES {
        bail!("--devices must be 1..={MAX_FLEET_DEVICES}");
    }
    let owner = load_account_key(&args.key, args.keystore.as_deref())?;
    let rpc = RpcClient::new(&args.rpc, Duration::from_secs(30))?;
    let fleet = plan(args.devices, args.seed)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    drive(&rpc, &owner, &fleet, &stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_plans_the_same_fleet() {
        let a = plan(50, 7).unwrap();
        let b = plan(50, 7).unwrap();
        let c = plan(50, 8).unwrap();
        let ids = |f: &[SimDevice]| f.iter().map(|d| d.key.id()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.location == y.location && x.kind == y.kind)
        );
    }

    #[test]
    fn a_fleet_mixes_kinds_and_clusters_in_cities() {
        let fleet = plan(2_000, 1).unwrap();
        let kinds: BTreeSet<_> = fleet.iter().map(|d| d.kind.name()).collect();
        assert_eq!(kinds.len(), ResourceKind::COUNT, "every kind appears");
        // Most devices sit within 20 km of their city's centre.
        let near = fleet
            .iter()
            .filter(|d| {
                let city = CITIES.iter().find(|c| c.name == d.city).unwrap();
                let centre = Cell::from_lat_lng(city.lat, city.lng).unwrap().index();
                let here = h3o::LatLng::from(d.location.index());
                here.distance_m(h3o::LatLng::from(centre)) < 20_000.0
            })
            .count();
        assert!(
            near * 100 / fleet.len() >= 85,
            "{near} of {} near a centre",
            fleet.len()
        );
        let p256 = fleet
            .iter()
            .filter(|d| d.key.id().scheme() == KeyScheme::P256)
            .count();
        assert_eq!(p256, 400);
    }
}
