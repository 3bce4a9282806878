//! A simulated fleet: N devices of several kinds, placed around real cities the way
//! deployments cluster (dense in the centre, thinning out into suburbs, a few rural), all
//! owned by one account, each heartbeating once per heartbeat window through the node's RPC.
//!
//! `groundwork fleet` runs it against any node; `groundwork dev --devices N` runs it inside the
//! dev process against the dev chain. Device keys derive from `--seed`, so a restarted fleet
//! finds its devices already registered and carries on. Simulated keys are for simulations
//! only: anyone who knows the seed holds them.

use crate::keys_cmd::load_account_key;
use crate::rpc_client::{CallError, ChainStatus, DEFAULT_RPC_URL, RpcClient};
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_codec::Encode;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::keys::KeyScheme;
use groundwork_primitives::{
    AccountAction, AccountKey, AccountTransaction, Address, Amount, BeaconRadio, BeaconTransaction,
    Cell, DeviceKey, HeartbeatTransaction, ResourceKind, Transaction, WitnessReading,
    WitnessTransaction,
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
/// Accounts a fleet's devices are spread over.
const FLEET_OWNERS: usize = 8;

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
    /// Where the device really is (its asserted cell is the one containing this point).
    pub truth: (f64, f64),
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
            truth: (lat, lng),
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

/// Owners the fleet spreads its devices over, as a real deployment has many operators: the
/// given account and accounts derived from its secret key and the seed (so only the holder of
/// that key can use them), funded by it.
fn fleet_owners(main: &AccountKey, seed: u64) -> Result<Vec<AccountKey>> {
    let secret = main.encode();
    let mut owners = vec![main.clone()];
    for k in 1..FLEET_OWNERS as u64 {
        let derived = groundwork_primitives::hash_parts(&[
            b"groundwork-fleet-owner",
            secret.as_ref(),
            &seed.to_be_bytes(),
            &k.to_be_bytes(),
        ]);
        owners.push(
            groundwork_primitives::decode_exact::<AccountKey>(derived.as_ref())
                .context("deriving a fleet owner key")?,
        );
    }
    Ok(owners)
}

/// Sends each derived owner what its devices' bonds and fees need, and waits for it.
fn fund(rpc: &RpcClient, owners: &[AccountKey], devices_each: usize) -> Result<()> {
    let status = rpc.status()?;
    let main = &owners[0];
    let unit = 10u128.pow(u32::from(status.decimals));
    // Bond (10 GRND on local chains) and fee per device, with room.
    let need = Amount((devices_each as u128 + 2) * 11 * unit);
    let mut nonce = rpc.nonce(&key_address(main).to_string())?;
    let mut sent = Vec::new();
    for owner in &owners[1..] {
        let address = key_address(owner);
        let balance: u128 = rpc.call("account_get", json!([address.to_string()]))?["balance"]
            .as_str()
            .and_then(|b| b.parse().ok())
            .unwrap_or(0);
        if balance >= need.0 {
            continue;
        }
        let action = AccountAction::Transfer {
            to: address,
            amount: Amount(need.0 - balance),
        };
        let tx = Transaction::Account(AccountTransaction::sign(
            main,
            &status.chain_id,
            nonce,
            action,
        ));
        sent.push(rpc.submit(&tx)?);
        nonce += 1;
    }
    for hash in sent {
        let receipt = rpc.wait_for(&hash, Duration::from_secs(60))?;
        if let Some((code, message)) = receipt.error {
            bail!("funding a fleet owner failed: {message} (code {code})");
        }
    }
    Ok(())
}

/// Registers the devices not yet on chain, each owner a nonce window per round, with a
/// progress bar. Device `i` belongs to owner `i mod owners`.
fn register(
    rpc: &RpcClient,
    owners: &[AccountKey],
    fleet: &[SimDevice],
    stop: &AtomicBool,
) -> Result<()> {
    let status = rpc.status()?;
    let mut known = BTreeSet::new();
    for owner in owners {
        known.extend(registered(rpc, &key_address(owner))?);
    }
    let missing: Vec<(usize, &SimDevice)> = fleet
        .iter()
        .enumerate()
        .filter(|(_, d)| !known.contains(&d.key.id().to_string()))
        .collect();
    if missing.is_empty() {
        println!("fleet: all {} devices already registered", fleet.len());
        return Ok(());
    }
    println!("fleet: registering {} devices ...", missing.len());
    fund(rpc, owners, fleet.len().div_ceil(owners.len()))?;
    let bar = ProgressBar::new(missing.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "fleet: registering {bar:30} {pos}/{len} devices ({per_sec}, eta {eta})",
        )
        .map_err(|e| anyhow::anyhow!("progress bar template: {e}"))?,
    );
    let started = Instant::now();
    let mut queues: Vec<Vec<&SimDevice>> = vec![Vec::new(); owners.len()];
    for (i, device) in &missing {
        queues[i % owners.len()].push(device);
    }
    let mut nonces = owners
        .iter()
        .map(|o| rpc.nonce(&key_address(o).to_string()))
        .collect::<Result<Vec<u64>, _>>()?;
    while queues.iter().any(|q| !q.is_empty()) {
        if stop.load(Ordering::Relaxed) {
            bar.abandon();
            return Ok(());
        }
        let mut round = Vec::new();
        let mut count = 0u64;
        for (o, queue) in queues.iter_mut().enumerate() {
            let take = queue.len().min(REGISTRATIONS_PER_ROUND);
            let owner = &owners[o];
            for (k, device) in queue.drain(..take).enumerate() {
                let action = AccountAction::register_device(
                    &status.chain_id,
                    &key_address(owner),
                    &device.key,
                    device.kind,
                    device.location,
                );
                round.push(Transaction::Account(AccountTransaction::sign(
                    owner,
                    &status.chain_id,
                    nonces[o] + k as u64,
                    action,
                )));
            }
            nonces[o] += take as u64;
            count += take as u64;
        }
        for chunk in round.chunks(SUBMIT_BATCH) {
            for result in rpc.submit_batch(chunk)? {
                result.context("registering a device")?;
            }
        }
        let waited = Instant::now();
        for (o, owner) in owners.iter().enumerate() {
            while rpc.nonce(&key_address(owner).to_string())? < nonces[o] {
                if waited.elapsed() > Duration::from_secs(120) {
                    bail!(
                        "registrations did not land within 2 minutes; is the node producing blocks?"
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        bar.inc(count);
    }
    bar.finish_and_clear();
    let mut now = BTreeSet::new();
    for owner in owners {
        now.extend(registered(rpc, &key_address(owner))?);
    }
    let failed = missing
        .iter()
        .filter(|(_, d)| !now.contains(&d.key.id().to_string()))
        .count();
    if failed > 0 {
        bail!(
            "{failed} registrations were rejected by the chain (is the owner funded for the bonds?)"
        );
    }
    println!(
        "fleet: registered {} devices for {} owners in {:.1} s",
        missing.len(),
        owners.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the fleet until `stop` is set: registers, then heartbeats every device once per
/// heartbeat window and reports each epoch's payout.
pub fn drive(
    rpc: &RpcClient,
    owner: &AccountKey,
    fleet: &[SimDevice],
    seed: u64,
    stop: &AtomicBool,
) -> Result<()> {
    let owners = fleet_owners(owner, seed)?;
    register(rpc, &owners, fleet, stop)?;
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
    let wireless: Vec<&SimDevice> = fleet
        .iter()
        .filter(|d| d.kind == ResourceKind::Wireless)
        .collect();
    let mut radio = Radio {
        rng: ChaCha8Rng::seed_from_u64(seed),
        last_fired: None,
        pending: None,
    };
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
        radio.step(rpc, &status, &wireless)?;
        if let Some(previous) = last_epoch
            && status.epoch > previous
        {
            let ended = status.epoch - 1;
            if let Ok(summary) = rpc.call("epoch_get", json!([ended])) {
                let coverage = &summary["coverage"];
                let coverage = if coverage.is_null() {
                    String::new()
                } else {
                    format!(
                        "; coverage {} for {} beacons",
                        status.show(coverage["paid"].as_str().unwrap_or("0")),
                        coverage["beacons"]
                    )
                };
                println!(
                    "fleet: epoch {ended} ended: {} paid to {} devices{coverage}",
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

/// What simulated wireless devices send, as the beaconer states it.
const SIM_RADIO: BeaconRadio = BeaconRadio {
    tx_power_dbm: 27,
    frequency_hz: crate::radio::FREQUENCY_HZ,
    antenna_gain_ddbi: 12,
};
/// Reports sent per beacon at most (real gateways hear more than report).
const REPORTS_PER_BEACON: usize = 16;

/// The wireless part of the fleet: every beacon interval each wireless device beacons on the
/// newest block; once the beacons have landed, every device that hears one (by the
/// propagation model, from true positions) reports it.
struct Radio {
    rng: ChaCha8Rng,
    last_fired: Option<u64>,
    /// Beacons sent at a height, waiting to land before they are witnessed.
    pending: Option<(u64, Vec<BeaconTransaction>)>,
}

impl Radio {
    fn step(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        wireless: &[&SimDevice],
    ) -> Result<()> {
        let interval = status.raw["coverage"]["beacon_interval_blocks"]
            .as_u64()
            .unwrap_or(0);
        if interval == 0 || wireless.len() < 2 {
            return Ok(());
        }
        if let Some((fired, beacons)) = &self.pending {
            // Beacons land in the next block or the one after; witness them then.
            if status.height < fired + 2 {
                return Ok(());
            }
            let mut reports = Vec::new();
            for (b, beacon) in beacons.iter().enumerate() {
                let mut heard = Vec::new();
                for (w, witness) in wireless.iter().enumerate() {
                    if w == b {
                        continue;
                    }
                    let d = crate::radio::distance_m(wireless[b].truth, witness.truth);
                    if let Some(rssi) = crate::radio::received(d, &mut self.rng) {
                        heard.push((w, rssi));
                    }
                }
                heard.truncate(REPORTS_PER_BEACON);
                for (w, rssi) in heard {
                    let reading = WitnessReading {
                        rssi_dbm: rssi.round().clamp(-200.0, 50.0) as i16,
                        snr_cdb: -500,
                        frequency_hz: crate::radio::FREQUENCY_HZ,
                        antenna_gain_ddbi: 0,
                    };
                    reports.push(Transaction::Witness(WitnessTransaction::sign(
                        &wireless[w].key,
                        &status.chain_id,
                        beacon.beacon_id(),
                        reading,
                    )));
                }
            }
            for chunk in reports.chunks(SUBMIT_BATCH) {
                // A report of a beacon that did not land is refused; that is fine.
                let _ = rpc.submit_batch(chunk)?;
            }
            self.pending = None;
            return Ok(());
        }
        // Two blocks of slack: the interval counts from the height a beacon landed at.
        if self
            .last_fired
            .is_some_and(|h| status.height < h + interval + 2)
        {
            return Ok(());
        }
        let beacons: Vec<BeaconTransaction> = wireless
            .iter()
            .map(|d| BeaconTransaction::sign(&d.key, &status.chain_id, status.block, SIM_RADIO))
            .collect();
        let transactions: Vec<Transaction> =
            beacons.iter().cloned().map(Transaction::Beacon).collect();
        for chunk in transactions.chunks(SUBMIT_BATCH) {
            let _ = rpc.submit_batch(chunk)?;
        }
        self.last_fired = Some(status.height);
        self.pending = Some((status.height, beacons));
        Ok(())
    }
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
    drive(&rpc, &owner, &fleet, args.seed, &stop)
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
