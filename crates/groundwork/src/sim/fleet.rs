//! A simulated fleet: N devices of several kinds, placed around real cities the way
//! deployments cluster (dense in the centre, thinning out into suburbs, a few rural), spread
//! over several owners, each heartbeating once per heartbeat window through the node's RPC.
//! Wireless devices beacon and witness one another by a propagation model from their true
//! positions. With `--cheaters M`, M more wireless devices cheat (location spoofers, a
//! co-located cluster, witness rings, RSSI inflaters) under an owner of their own; a watcher
//! account challenges any device the chain's own numbers show to be too loud for its distance,
//! and honest owners answer challenges with their next beacon.
//!
//! `groundwork fleet` runs it against any node; `groundwork dev --devices N` runs it inside the
//! dev process against the dev chain. Device keys derive from `--seed`, so a restarted fleet
//! finds its devices already registered and carries on. Simulated keys are for simulations
//! only: anyone who knows the seed holds them.

use crate::keys_cmd::load_account_key;
use crate::rpc_client::{CallError, ChainStatus, DEFAULT_RPC_URL, RpcClient};
use crate::sim::radio::{End, Role, SIM_RADIO, SIM_WITNESS, place_cheaters, reported_rssi, unit};
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_codec::Encode;
use groundwork_agent::coverage::{Beacon, BeaconProver, Heard};
use groundwork_agent::uptime::UptimeProver;
use groundwork_api as api;
use groundwork_attest::issue::Maker;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::keys::KeyScheme;
use groundwork_primitives::limits::MAX_CHALLENGE_EVIDENCE;
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Address, Amount, AttestCall, Call, Cell, ChallengeCall,
    CoreCall, DeviceKey, DeviceTransaction, ResourceKind, Transaction, challenge_id,
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
/// Accounts a fleet's honest devices are spread over.
const FLEET_OWNERS: usize = 8;
/// Index among the fleet's accounts of the cheaters' owner, then of the watcher that posts
/// challenges.
const CHEATER_OWNER: usize = FLEET_OWNERS;
const WATCHER: usize = FLEET_OWNERS + 1;
/// Most cheaters one fleet runs.
pub const MAX_FLEET_CHEATERS: u32 = 1_000;

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
    /// Cheating wireless devices to add (spoofers, a co-located cluster, witness rings, RSSI
    /// inflaters), under an owner of their own.
    #[arg(long, default_value_t = 0)]
    cheaters: u32,
    /// The dev maker's account key (`dev-maker.key` in a dev data dir): the fleet then
    /// registers its devices with certificates from that maker's CA, as a factory ships them.
    #[arg(long)]
    maker_key: Option<PathBuf>,
    /// Where the hotspots' service ports keep the vouchers they co-signed (default: a
    /// `groundwork-fleet-<seed>` directory in the system's temporary directory).
    #[arg(long)]
    service_dir: Option<PathBuf>,
    /// With --cheaters: append each epoch's figures (the share of the cheaters' fair take
    /// withheld and the honest loss, by role, for the epoch and so far) to this file, one
    /// JSON object a line.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
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
    pub role: Role,
    /// Which of the fleet's accounts owns it: honest device `i` belongs to owner
    /// `i mod FLEET_OWNERS`, every cheater to the cheaters' owner.
    pub owner: usize,
}

impl SimDevice {
    fn end(&self) -> End {
        End {
            role: self.role,
            truth: self.truth,
            asserted: self.location,
        }
    }
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
            role: Role::Honest,
            owner: i as usize % FLEET_OWNERS,
        });
    }
    Ok(fleet)
}

/// `count` cheating wireless devices for `seed`, placed around the first four cities
/// (see [`crate::sim::radio::place_cheaters`]).
pub fn plan_cheaters(count: u32, seed: u64) -> Result<Vec<SimDevice>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0c4e_a7e5);
    let centres = [0, 1, 2, 3].map(|i| (CITIES[i].lat, CITIES[i].lng));
    place_cheaters(count as usize, &centres, &mut rng)
        .into_iter()
        .enumerate()
        .map(|(i, cheater)| {
            let location = Cell::from_lat_lng(cheater.asserted.0, cheater.asserted.1)
                .with_context(|| format!("placing cheater {i}"))?;
            let key = DeviceKey::from_seed(
                KeyScheme::Ed25519,
                seed.wrapping_mul(1_000_003)
                    .wrapping_add(1 << 40)
                    .wrapping_add(i as u64),
            );
            Ok(SimDevice {
                key,
                kind: ResourceKind::Wireless,
                location,
                truth: cheater.truth,
                city: "cheaters",
                role: cheater.role,
                owner: CHEATER_OWNER,
            })
        })
        .collect()
}

/// Device ids the owner already has on chain.
fn registered(rpc: &RpcClient, owner: &Address) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page: api::DevicePage = rpc.get(
            "device_list",
            json!({ "owner": owner.to_string(), "limit": 1_000, "after": after }),
        )?;
        ids.extend(page.devices.into_iter().map(|d| d.device));
        match page.next {
            Some(next) => after = Some(next),
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
    for k in 1..=WATCHER as u64 {
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
        let balance = rpc.account(&address.to_string())?.balance.0;
        if balance >= need.0 {
            continue;
        }
        let action = CoreCall::Transfer {
            to: address,
            amount: Amount(need.0 - balance),
        };
        let tx = Transaction::Account(AccountTransaction::sign(
            main,
            &status.chain_id,
            nonce,
            status.valid_until(),
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
/// progress bar. [`SimDevice::owner`] says who owns which device.
fn register(
    rpc: &RpcClient,
    owners: &[AccountKey],
    fleet: &[SimDevice],
    maker: Option<&Maker>,
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
    // Enough for the busiest owner's bonds (and the watcher's challenge bonds, which are
    // smaller than a device bond each).
    let busiest = (0..owners.len())
        .map(|o| fleet.iter().filter(|d| d.owner == o).count())
        .max()
        .unwrap_or(0);
    fund(rpc, owners, busiest.max(fleet.len().div_ceil(owners.len())))?;
    let bar = ProgressBar::new(missing.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "fleet: registering {bar:30} {pos}/{len} devices ({per_sec}, eta {eta})",
        )
        .map_err(|e| anyhow::anyhow!("progress bar template: {e}"))?,
    );
    let started = Instant::now();
    let mut queues: Vec<Vec<&SimDevice>> = vec![Vec::new(); owners.len()];
    for (_, device) in &missing {
        queues[device.owner].push(device);
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
                // With a maker, as its factory would ship it: with a device certificate.
                let action: Call = match maker {
                    Some(maker) => AttestCall::register(
                        &status.chain_id,
                        &key_address(owner),
                        &device.key,
                        device.kind,
                        device.location,
                        BoundedBytes(crate::dev_maker::certificate(maker, &device.key)?),
                    )
                    .into(),
                    None => CoreCall::register_device(
                        &status.chain_id,
                        &key_address(owner),
                        &device.key,
                        device.kind,
                        device.location,
                    )
                    .into(),
                };
                round.push(Transaction::Account(AccountTransaction::sign(
                    owner,
                    &status.chain_id,
                    nonces[o] + k as u64,
                    status.valid_until(),
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

/// How a fleet runs, besides its devices.
pub struct FleetOptions<'a> {
    /// Seed of the owners, the customers and the radio.
    pub seed: u64,
    /// The maker whose certificates the devices register with, if any.
    pub maker: Option<&'a Maker>,
    /// Where the hotspots' service ports keep their co-signed vouchers.
    pub service_dir: PathBuf,
    /// With cheaters: the file each epoch's withheld and honest-loss figures are appended
    /// to, one JSON object a line.
    pub figures_json: Option<PathBuf>,
}

/// Runs the fleet until `stop` is set: registers, then heartbeats every device once per
/// heartbeat window and reports each epoch's payout.
pub fn drive(
    rpc: &RpcClient,
    owner: &AccountKey,
    fleet: &[SimDevice],
    options: FleetOptions<'_>,
    stop: &AtomicBool,
) -> Result<()> {
    let FleetOptions {
        seed,
        maker,
        service_dir,
        figures_json,
    } = options;
    let owners = fleet_owners(owner, seed)?;
    register(rpc, &owners, fleet, maker, stop)?;
    describe_fleet(fleet);
    let wireless: Vec<&SimDevice> = fleet
        .iter()
        .filter(|d| d.kind == ResourceKind::Wireless)
        .collect();
    let cheaters = wireless.iter().filter(|d| d.role != Role::Honest).count();
    if cheaters > 0 {
        println!(
            "fleet: {cheaters} of the wireless devices cheat; a watcher ({}) challenges what looks too loud for its distance",
            key_address(&owners[WATCHER])
        );
    }
    let wireless_count = wireless.len();
    let mut driver = Driver {
        rpc,
        owner,
        fleet,
        storage: crate::sim::fleet_storage::StorageFleet::new(service_dir.clone(), seed),
        compute: crate::sim::fleet_compute::ComputeFleet::new(service_dir.clone()),
        customers: crate::sim::fleet_customers::Customers::new(
            owner,
            seed,
            rpc.url(),
            service_dir,
        )?,
        owners,
        wireless,
        cheaters,
        uptime: vec![UptimeProver::new(); fleet.len()],
        radio: Radio {
            rng: ChaCha8Rng::seed_from_u64(seed),
            beacons: vec![BeaconProver::new(SIM_RADIO); wireless_count],
            pending: None,
            rounds: Vec::new(),
            challenged: BTreeSet::new(),
        },
        node: NodeWatch::default(),
        last_epoch: None,
        figures_so_far: crate::sim::fleet_figures::EpochFigures::default(),
        figures_json,
    };
    let mut backoff = Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        // One pass of the fleet; a failed call is retried with backoff, never the end of it.
        match driver.pass() {
            Ok(()) => {
                backoff = Duration::from_secs(1);
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(error) => {
                eprintln!("fleet: {error:#}; retrying in {} s", backoff.as_secs());
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    Ok(())
}

/// The running fleet: its devices, owners and customers, and where it is in the chain.
struct Driver<'a> {
    rpc: &'a RpcClient,
    owner: &'a AccountKey,
    fleet: &'a [SimDevice],
    owners: Vec<AccountKey>,
    wireless: Vec<&'a SimDevice>,
    cheaters: usize,
    /// Each device's heartbeats, in fleet order: the agent library's prover, as on hardware.
    uptime: Vec<UptimeProver>,
    radio: Radio,
    customers: crate::sim::fleet_customers::Customers,
    /// Three storage providers (one lazy) and the file the owner stores with them.
    storage: crate::sim::fleet_storage::StorageFleet,
    /// The compute providers (one lazy, two colluding) and the job the owner posts each
    /// epoch.
    compute: crate::sim::fleet_compute::ComputeFleet,
    node: NodeWatch,
    last_epoch: Option<u64>,
    /// The cheaters' takes since the fleet started.
    figures_so_far: crate::sim::fleet_figures::EpochFigures,
    figures_json: Option<PathBuf>,
}

impl Driver<'_> {
    /// One pass: heartbeats once a window, the radio, the watcher, the customers, and the
    /// epoch's report when one ended.
    fn pass(&mut self) -> Result<()> {
        let rpc = self.rpc;
        let status = match rpc.status() {
            Ok(status) => {
                self.node.up(rpc, status.height);
                status
            }
            Err(CallError::Unreachable { reason, .. }) => {
                self.node.down(rpc, &reason);
                std::thread::sleep(Duration::from_secs(1));
                return Ok(());
            }
            Err(other) => return Err(other.into()),
        };
        self.heartbeat(&status)?;
        self.radio.step(rpc, &status, &self.wireless)?;
        if self.cheaters > 0 {
            self.radio
                .watch(rpc, &status, &self.wireless, &self.owners)?;
        }
        let epoch_changed = self
            .last_epoch
            .is_some_and(|previous| status.epoch > previous);
        self.customers.step(
            rpc,
            &status,
            self.owner,
            &self.owners,
            &self.wireless,
            epoch_changed,
        )?;
        self.storage.step(
            rpc,
            &status,
            self.owner,
            &self.owners,
            self.fleet,
            epoch_changed,
        )?;
        self.compute.step(
            rpc,
            &status,
            self.owner,
            &self.owners,
            self.fleet,
            epoch_changed,
        )?;
        if epoch_changed {
            let ended = status.epoch - 1;
            if let Some(summary) = report_epoch(rpc, &status, ended)
                && self.cheaters > 0
            {
                let figures = report_cheaters(rpc, &status, &summary, &self.wireless)?;
                self.record_figures(&figures)?;
            }
        }
        self.last_epoch = Some(status.epoch);
        Ok(())
    }

    /// Prints the epoch's and the run's withheld share and honest loss, and appends them to
    /// the `--json` file.
    fn record_figures(&mut self, figures: &crate::sim::fleet_figures::EpochFigures) -> Result<()> {
        self.figures_so_far.accumulate(figures);
        println!(
            "fleet: epoch {} cheaters: {}",
            figures.epoch,
            figures.describe()
        );
        println!("fleet: so far: {}", self.figures_so_far.describe());
        if let Some(path) = &self.figures_json {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            writeln!(file, "{}", figures.json_line(&self.figures_so_far))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    /// Each device's heartbeat, once a window.
    fn heartbeat(&mut self, status: &ChainStatus) -> Result<()> {
        let view = status.view();
        let beats: Vec<Transaction> = self
            .fleet
            .iter()
            .zip(self.uptime.iter_mut())
            .filter_map(|(d, prover)| prover.prove(&d.key, &view))
            .map(Transaction::Device)
            .collect();
        for chunk in beats.chunks(SUBMIT_BATCH) {
            // Refusals (a heartbeat still pending) are expected now and then.
            let _ = self.rpc.submit_batch(chunk)?;
        }
        Ok(())
    }
}

/// Says what the fleet is: how many devices of each kind, around which cities.
fn describe_fleet(fleet: &[SimDevice]) {
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
}

/// Prints what the ended epoch paid and returns its summary; `None` if the node would not say.
fn report_epoch(rpc: &RpcClient, status: &ChainStatus, ended: u64) -> Option<api::Epoch> {
    let summary: api::Epoch = match rpc.get("epoch_get", json!([ended])) {
        Ok(summary) => summary,
        Err(CallError::Malformed { reason, .. }) => {
            eprintln!(
                "fleet: epoch {ended} ended, but the node's summary does not parse: {reason}"
            );
            return None;
        }
        Err(_) => return None,
    };
    let coverage = match &summary.coverage {
        None => String::new(),
        Some(c) => format!(
            "; coverage {} for {} beacons",
            status.show(&c.paid.to_string()),
            c.beacons
        ),
    };
    let demand = match (&summary.credits, &summary.price) {
        (Some(c), Some(p)) => format!(
            "; demand: {} credits bought for {} burned (token {}), {} spent",
            c.minted,
            status.show(&c.tokens_burned.to_string()),
            crate::client_cmd::usd(p.median),
            c.spent
        ),
        _ => String::new(),
    };
    let usage = match &summary.usage {
        Some(u) => format!(
            "; usage mint {} to {} hotspots{}",
            status.show(&u.minted.to_string()),
            u.devices,
            if u.cap_factor_bps < 10_000 {
                format!(" (capped: {} bps paid)", u.cap_factor_bps)
            } else {
                String::new()
            }
        ),
        None => String::new(),
    };
    println!(
        "fleet: epoch {ended} ended: {} paid to {} devices{coverage}{demand}{usage}",
        status.show(&summary.paid.to_string()),
        summary.devices_rewarded
    );
    Some(summary)
}

/// Whether the node answered last time, so the fleet says once when it stops answering and
/// once when it is back, instead of going quiet.
#[derive(Default)]
struct NodeWatch {
    down_since: Option<Instant>,
}

impl NodeWatch {
    fn down(&mut self, rpc: &RpcClient, reason: &str) {
        if self.down_since.is_none() {
            eprintln!(
                "fleet: the node at {} is unreachable ({reason}); waiting for it",
                rpc.url()
            );
            self.down_since = Some(Instant::now());
        }
    }

    fn up(&mut self, rpc: &RpcClient, height: u64) {
        if let Some(since) = self.down_since.take() {
            eprintln!(
                "fleet: the node at {} answers again at height {height}, after {} s",
                rpc.url(),
                since.elapsed().as_secs()
            );
        }
    }
}

/// Waits until the node answers (saying so while it does not), or until told to stop.
fn wait_for_node(rpc: &RpcClient, stop: &AtomicBool) -> Result<()> {
    let mut node = NodeWatch::default();
    while !stop.load(Ordering::Relaxed) {
        match rpc.status() {
            Ok(status) => {
                node.up(rpc, status.height);
                return Ok(());
            }
            Err(CallError::Unreachable { reason, .. }) => node.down(rpc, &reason),
            Err(other) => return Err(other.into()),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// Longest wait between retries of a failed fleet pass.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Reports sent per beacon at most (real gateways hear more than report).
const REPORTS_PER_BEACON: usize = 16;

/// The wireless part of the fleet: every beacon interval each wireless device beacons on the
/// newest block; once the beacons have landed, every device that hears one (by the
/// propagation model, from true positions) reports it.
struct Radio {
    rng: ChaCha8Rng,
    /// Each wireless device's beacons, in `wireless` order.
    beacons: Vec<BeaconProver>,
    /// Beacons sent at a height (by wireless index), waiting to land before they are
    /// witnessed.
    pending: Option<(u64, Vec<(usize, DeviceTransaction)>)>,
    /// Recent rounds: the height they were sent at and each wireless device's beacon id, for
    /// the watcher to inspect and owners to answer challenges with.
    rounds: Vec<Round>,
    /// Devices the watcher has challenged (each once: an upheld challenge disputes the device
    /// until it moves, which simulated cheaters never do).
    challenged: BTreeSet<usize>,
}

struct Round {
    fired: u64,
    /// Each beacon's id, by the beaconer's wireless index.
    beacons: std::collections::BTreeMap<usize, Digest>,
    /// Whether the watcher has looked at this round's reports.
    inspected: bool,
}

/// Rounds kept for the watcher and for answers.
const ROUNDS_KEPT: usize = 3;

impl Radio {
    fn step(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        wireless: &[&SimDevice],
    ) -> Result<()> {
        let interval = status.answer.coverage.beacon_interval_blocks;
        if interval == 0 || wireless.len() < 2 {
            return Ok(());
        }
        if let Some((fired, beacons)) = &self.pending {
            // Beacons land in the next block or the one after; witness them then.
            if status.height < fired + 2 {
                return Ok(());
            }
            let mut reports = Vec::new();
            for &(b, ref beacon) in beacons {
                let Some(id) = beacon.beacon_id() else {
                    continue;
                };
                let mut heard = Vec::new();
                for (w, witness) in wireless.iter().enumerate() {
                    if w == b {
                        continue;
                    }
                    let end = wireless[b].end();
                    if let Some(rssi) = reported_rssi(end, witness.end(), &mut self.rng) {
                        heard.push((w, rssi));
                    }
                }
                heard.truncate(REPORTS_PER_BEACON);
                for (w, rssi) in heard {
                    let heard = Heard {
                        beacon: id,
                        rssi_dbm: rssi.round().clamp(-200.0, 50.0) as i16,
                        snr_cdb: -500,
                        frequency_hz: crate::sim::radio::FREQUENCY_HZ,
                    };
                    let report = SIM_WITNESS.prove(&wireless[w].key, &status.chain_id, heard);
                    reports.push(Transaction::Device(report));
                }
            }
            for chunk in reports.chunks(SUBMIT_BATCH) {
                // A report of a beacon that did not land is refused; that is fine.
                let _ = rpc.submit_batch(chunk)?;
            }
            self.pending = None;
            return Ok(());
        }
        let view = status.view();
        let beacons: Vec<(usize, Beacon)> = wireless
            .iter()
            .zip(self.beacons.iter_mut())
            .enumerate()
            .filter_map(|(i, (d, prover))| Some((i, prover.prove(&d.key, &view)?)))
            .collect();
        if beacons.is_empty() {
            return Ok(());
        }
        let transactions: Vec<Transaction> = beacons
            .iter()
            .map(|(_, b)| Transaction::Device(b.transaction.clone()))
            .collect();
        for chunk in transactions.chunks(SUBMIT_BATCH) {
            let _ = rpc.submit_batch(chunk)?;
        }
        self.rounds.push(Round {
            fired: status.height,
            beacons: beacons.iter().map(|(i, b)| (*i, b.id)).collect(),
            inspected: false,
        });
        if self.rounds.len() > ROUNDS_KEPT {
            self.rounds.remove(0);
        }
        let sent = beacons
            .into_iter()
            .map(|(i, b)| (i, b.transaction))
            .collect();
        self.pending = Some((status.height, sent));
        Ok(())
    }

    /// The watcher and the owners. Once a round's reports have landed, the watcher reads each
    /// beacon back from the chain and computes, from the chain's own numbers, how much louder
    /// than a typical link each report is; a device with two or more links too loud for their
    /// distance is challenged, citing them. Then honest owners answer open challenges of their
    /// devices with the device's newest beacon sent after the challenge.
    fn watch(
        &mut self,
        rpc: &RpcClient,
        status: &ChainStatus,
        wireless: &[&SimDevice],
        owners: &[AccountKey],
    ) -> Result<()> {
        let window = status.answer.coverage.witness_window_blocks;
        let index: std::collections::BTreeMap<String, usize> = wireless
            .iter()
            .enumerate()
            .map(|(i, d)| (d.key.id().to_string(), i))
            .collect();
        let mut inspected = false;
        for round in self.rounds.iter_mut() {
            if round.inspected || status.height < round.fired + window + 2 {
                continue;
            }
            round.inspected = true;
            inspected = true;
            // Per device: its links in the round, and the beacons of the loud ones. A loud link
            // implicates both ends; the device most of whose links are loud is the one whose
            // claim does not fit (an honest device heard loudly by one inflater is not).
            let mut links: std::collections::BTreeMap<usize, (usize, Vec<Digest>)> =
                Default::default();
            for beacon in round.beacons.values() {
                let Ok(answer) =
                    rpc.get::<api::Beacon>("coverage_getBeacon", json!([digest_hex(beacon)]))
                else {
                    continue;
                };
                let beaconer = index.get(&answer.beaconer);
                for report in &answer.witnesses {
                    let witness = index.get(&report.witness);
                    let (Some(&b), Some(&w)) = (beaconer, witness) else {
                        continue;
                    };
                    // The chain takes as evidence only links with another owner's device.
                    if wireless[b].owner == wireless[w].owner {
                        continue;
                    }
                    let loud = too_loud(&answer, report);
                    for device in [b, w] {
                        let (count, cited) = links.entry(device).or_default();
                        *count += 1;
                        if loud && !cited.contains(beacon) {
                            cited.push(*beacon);
                        }
                    }
                }
            }
            let watcher = &owners[WATCHER];
            let mut nonce = rpc.nonce(&key_address(watcher).to_string())?;
            for (device, (count, beacons)) in links {
                let suspicious = beacons.len() >= 2 && beacons.len() * 2 > count;
                if !suspicious
                    || self.challenged.contains(&device)
                    || challenge_of(rpc, wireless[device])?.is_some()
                {
                    continue;
                }
                let action = ChallengeCall::Open {
                    device: wireless[device].key.id(),
                    evidence: beacons.into_iter().take(MAX_CHALLENGE_EVIDENCE).collect(),
                };
                let tx = Transaction::Account(AccountTransaction::sign(
                    watcher,
                    &status.chain_id,
                    nonce,
                    status.valid_until(),
                    action,
                ));
                if rpc.submit(&tx).is_ok() {
                    self.challenged.insert(device);
                    println!(
                        "fleet: watcher challenges {} ({}), challenge {}",
                        wireless[device].key.id(),
                        wireless[device].role.name(),
                        digest_hex(&challenge_id(&key_address(watcher), nonce))
                    );
                    nonce += 1;
                }
            }
        }
        // Answers need a round whose reports have landed: look once per such round, not on
        // every tick (a device lookup per honest wireless device each time).
        if inspected {
            self.answer(rpc, status, wireless, owners, window)?;
        }
        Ok(())
    }

    /// Honest owners answer open challenges of their devices.
    fn answer(
        &self,
        rpc: &RpcClient,
        status: &ChainStatus,
        wireless: &[&SimDevice],
        owners: &[AccountKey],
        window: u64,
    ) -> Result<()> {
        for (i, device) in wireless.iter().enumerate() {
            if device.role != Role::Honest {
                continue;
            }
            let Some(id) = challenge_of(rpc, device)? else {
                continue;
            };
            let challenge: api::Challenge = rpc.get("challenges_get", json!({ "id": id }))?;
            let opened = challenge.opened_at;
            if challenge.status != "open" || challenge.answer.is_some() {
                continue;
            }
            // The newest beacon sent after the challenge whose reports have landed.
            let Some(beacon) = self
                .rounds
                .iter()
                .rev()
                .find(|r| r.fired >= opened && status.height >= r.fired + window + 2)
                .and_then(|r| r.beacons.get(&i))
            else {
                continue;
            };
            let owner = &owners[device.owner];
            let nonce = rpc.nonce(&key_address(owner).to_string())?;
            let action = ChallengeCall::Answer {
                challenge: digest_from_hex(&id).context("challenge id from the node")?,
                beacon: *beacon,
            };
            let tx = Transaction::Account(AccountTransaction::sign(
                owner,
                &status.chain_id,
                nonce,
                status.valid_until(),
                action,
            ));
            if rpc.submit(&tx).is_ok() {
                println!(
                    "fleet: owner answered challenge {id} of {}",
                    device.key.id()
                );
            }
        }
        Ok(())
    }
}

/// Whether a report in a `coverage_beacon` answer is too loud for the distance between the
/// asserted places (`groundwork_coverage::too_loud_for_distance`), computed from its numbers.
fn too_loud(beacon: &api::Beacon, report: &api::Witness) -> bool {
    let number = |n: i64| i32::try_from(n).ok();
    let (Some(power), Some(gain), Some(rx_gain), Some(rssi), Ok(distance)) = (
        number(beacon.tx_power_dbm),
        number(beacon.antenna_gain_ddbi),
        number(report.antenna_gain_ddbi),
        number(report.rssi_dbm),
        u32::try_from(report.distance_m),
    ) else {
        return false;
    };
    groundwork_coverage::typical_rssi_cdbm(power, beacon.frequency_hz, distance, gain, rx_gain)
        .is_ok_and(|typical| {
            groundwork_coverage::too_loud_for_distance(
                groundwork_coverage::excess_over_typical_cdb(rssi, typical),
            )
        })
}

/// The id of the challenge that binds a device now, if any.
fn challenge_of(rpc: &RpcClient, device: &SimDevice) -> Result<Option<String>> {
    let answer: api::Device = rpc.get("device_get", json!([device.key.id().to_string()]))?;
    Ok(answer.challenge.map(|c| c.id))
}

/// Prints what the cheaters earned in the epoch of `summary`, and the challenges so far;
/// returns the epoch's takes by role.
fn report_cheaters(
    rpc: &RpcClient,
    status: &ChainStatus,
    summary: &api::Epoch,
    wireless: &[&SimDevice],
) -> Result<crate::sim::fleet_figures::EpochFigures> {
    let epoch = summary.epoch;
    // The pools wireless devices compete in: coverage, and the wireless uptime pool.
    let pools = summary.coverage.as_ref().map_or(0, |c| c.pool.0)
        + summary
            .kinds
            .get(ResourceKind::Wireless.name())
            .map_or(0, |k| k.pool.0);
    let mut takes = Vec::with_capacity(wireless.len());
    // Per role: coverage earned, and challenges open, upheld, rejected.
    let mut by_role: std::collections::BTreeMap<&str, (u128, [u32; 3])> = Default::default();
    for device in wireless {
        let id = device.key.id().to_string();
        // No reward record for the epoch (a not-found answer) is nothing earned.
        let rewards = rpc
            .get::<api::DeviceRewards>("rewards_get", json!([id, epoch]))
            .ok();
        let paid = rewards
            .as_ref()
            .and_then(|r| r.coverage.as_ref())
            .map_or(0, |c| c.amount.0);
        let uptime = rewards
            .as_ref()
            .and_then(|r| r.kind.as_ref())
            .map_or(0, |k| k.amount.0);
        // Held in escrow under an open challenge is not paid: forfeited if it is upheld.
        let held = rewards
            .as_ref()
            .and_then(|r| r.held.as_ref())
            .map_or(0, |h| h.uptime.0 + h.coverage.0);
        takes.push((device.role.name(), (paid + uptime).saturating_sub(held)));
        let entry = by_role.entry(device.role.name()).or_default();
        entry.0 += paid;
        let challenges: api::ChallengeList = rpc.get("challenges_list", json!({ "device": id }))?;
        for c in &challenges.challenges {
            match c.status.as_str() {
                "open" => entry.1[0] += 1,
                "upheld" => entry.1[1] += 1,
                "rejected" => entry.1[2] += 1,
                _ => {}
            }
        }
    }
    let parts: Vec<String> = by_role
        .iter()
        .map(|(role, (paid, [open, upheld, rejected]))| {
            format!(
                "{role} {} (challenges {open} open, {upheld} upheld, {rejected} rejected)",
                status.show(&paid.to_string())
            )
        })
        .collect();
    println!(
        "fleet: epoch {epoch} coverage by role: {}",
        parts.join("; ")
    );
    Ok(crate::sim::fleet_figures::EpochFigures::measure(
        epoch, pools, takes,
    ))
}

pub fn run(args: FleetArgs) -> Result<()> {
    if args.devices == 0 || args.devices > MAX_FLEET_DEVICES {
        bail!("--devices must be 1..={MAX_FLEET_DEVICES}");
    }
    let owner = load_account_key(&args.key, args.keystore.as_deref())?;
    let rpc = RpcClient::new(&args.rpc, Duration::from_secs(30))?;
    if args.cheaters > MAX_FLEET_CHEATERS {
        bail!("--cheaters must be at most {MAX_FLEET_CHEATERS}");
    }
    let mut fleet = plan(args.devices, args.seed)?;
    fleet.extend(plan_cheaters(args.cheaters, args.seed)?);
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    wait_for_node(&rpc, &stop)?;
    if stop.load(Ordering::Relaxed) {
        return Ok(());
    }
    let maker = match &args.maker_key {
        Some(path) => Some(crate::dev_maker::maker(&load_account_key(
            &path.display().to_string(),
            None,
        )?)?),
        None => None,
    };
    let service_dir = args
        .service_dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("groundwork-fleet-{}", args.seed)));
    drive(
        &rpc,
        &owner,
        &fleet,
        FleetOptions {
            seed: args.seed,
            maker: maker.as_ref(),
            service_dir,
            figures_json: args.json,
        },
        &stop,
    )
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

    /// 50 cheaters: 15 spoofers, a cluster of 10, three rings of five, 10 inflaters, all
    /// wireless, all under the cheaters' owner, with keys no honest device of the same seed has.
    #[test]
    fn cheaters_come_in_every_role_under_their_own_owner() {
        let cheaters = plan_cheaters(50, 1).unwrap();
        let count = |f: fn(Role) -> bool| cheaters.iter().filter(|d| f(d.role)).count();
        assert_eq!(count(|r| r == Role::Spoofer), 15);
        assert_eq!(count(|r| r == Role::Clustered), 10);
        assert_eq!(count(|r| matches!(r, Role::Ring(_))), 15);
        assert_eq!(count(|r| r == Role::Inflater), 10);
        assert!(cheaters.iter().all(|d| d.kind == ResourceKind::Wireless));
        assert!(cheaters.iter().all(|d| d.owner == CHEATER_OWNER));
        let honest: BTreeSet<_> = plan(2_000, 1).unwrap().iter().map(|d| d.key.id()).collect();
        assert!(cheaters.iter().all(|d| !honest.contains(&d.key.id())));
        // Spoofers assert places 40-70 km from where they are.
        for d in cheaters.iter().filter(|d| d.role == Role::Spoofer) {
            let claimed = h3o::LatLng::from(d.location.index());
            let truth = h3o::LatLng::new(d.truth.0, d.truth.1).unwrap();
            let km = claimed.distance_m(truth) / 1_000.0;
            assert!((39.0..71.0).contains(&km), "{km} km");
        }
    }

    /// The watcher's test, from a `coverage_beacon` answer's numbers: 27 dBm and 1.2 dBi at
    /// 904.6 MHz over 61 km, typical ≈ −127.2 dBm. −100 dBm is ≈ 27 dB louder: too loud.
    /// −120 dBm is ≈ 7 dB louder: fine.
    #[test]
    fn the_watcher_flags_links_too_loud_for_their_distance() {
        let beacon = api::Beacon {
            beacon: String::new(),
            beaconer: String::new(),
            height: 1,
            location: String::new(),
            tx_power_dbm: 27,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 12,
            witnesses: Vec::new(),
        };
        let report = |rssi: i64| api::Witness {
            witness: String::new(),
            height: 2,
            location: String::new(),
            rssi_dbm: rssi,
            snr_cdb: 0,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 0,
            distance_m: 61_000,
            grid_distance_res11: 0,
            max_rssi_cdbm: 0,
        };
        assert!(too_loud(&beacon, &report(-100)));
        assert!(!too_loud(&beacon, &report(-120)));
        // Numbers out of the physics' range are never too loud.
        assert!(!too_loud(&beacon, &report(i64::MAX)));
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
