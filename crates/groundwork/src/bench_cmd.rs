//! `groundwork bench ingest`: how many device heartbeats per second one validator takes from
//! RPC submission to a finalized, executed, stored block — beside the raw ed25519 verification
//! rate of this machine measured in the same run.
//!
//! The load generator (signing heartbeats, calling RPC) runs in this same process and shares
//! the machine's cores with the node; its signing time is reported so the figures can be read
//! with that in mind.

use crate::genesis_cmd::{local_params, write_network};
use crate::keys::load_key;
use crate::rpc_client::RpcClient;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use commonware_cryptography::{BatchEntry, BatchVerifier, Signer, Verifier, ed25519};
use groundwork_api as api;
use groundwork_node::mempool::MempoolConfig;
use groundwork_node::service::{self, ServiceConfig};
use groundwork_primitives::codec::Encode;
use groundwork_primitives::hash::digest_from_hex;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, Cell, ChainId, CoreCall, DeviceKey, KeyScheme,
    ResourceKind, Transaction, UptimeReport,
};
use rand_core::SeedableRng;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Heartbeat ingest through RPC, mempool, consensus, execution and storage.
    #[command(after_help = "Example:\n  groundwork bench ingest --devices 20000 --seconds 30")]
    Ingest(IngestArgs),
    /// Witness-report verification on one core, beside the raw ed25519 rate.
    #[command(after_help = "Example:\n  groundwork bench witness --beacons 600")]
    Witness(crate::bench_witness::WitnessArgs),
    /// Honest wireless devices against cheaters (spoofers, a co-located cluster, witness rings,
    /// RSSI inflaters): how much of what the cheaters try to take is withheld, and how much the
    /// honest devices lose.
    #[command(
        after_help = "Example:\n  groundwork bench coverage-attack --honest 200 --cheaters 50 --epochs 3"
    )]
    CoverageAttack(CoverageAttackArgs),
    /// Usage-voucher settlement on one core (three signatures each), beside the raw ed25519
    /// rate.
    #[command(after_help = "Example:\n  groundwork bench usage --sessions 2000")]
    Usage(crate::bench_usage::UsageArgs),
    /// Storage: bytes per second hashed into a shard's tree and possession proofs verified per
    /// second, beside raw BLAKE3 and SHA-256, and a verified fetch from a real storage port
    /// on loopback beside curl of the same bytes.
    #[command(after_help = "Example:\n  groundwork bench storage --mib 64 --proofs 20000")]
    Storage(crate::bench_storage::StorageArgs),
    /// Compute: fuel per second of the runtime on the tile job, beside the same tile rendered
    /// in native Rust in the same run (checked pixel for pixel).
    #[command(after_help = "Example:\n  groundwork bench compute --tile 128 --iterations 256")]
    Compute(crate::bench_compute::ComputeArgs),
}

#[derive(Args)]
pub struct CoverageAttackArgs {
    /// Honest wireless devices in the simulation.
    #[arg(long, default_value_t = 200)]
    honest: usize,
    /// Cheating wireless devices added to them.
    #[arg(long, default_value_t = 50)]
    cheaters: usize,
    /// Epochs to simulate.
    #[arg(long, default_value_t = 3)]
    epochs: u64,
    /// Seed of placement, shadowing and report order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn coverage_attack(args: CoverageAttackArgs) -> Result<()> {
    if args.honest == 0
        || args.honest + args.cheaters > 2_000
        || args.epochs == 0
        || args.epochs > 50
    {
        bail!("--honest must be positive, honest + cheaters at most 2000, --epochs 1..=50");
    }
    println!(
        "simulating {} honest and {} cheating wireless devices for {} epochs (twice: with and without the cheaters) ...",
        args.honest, args.cheaters, args.epochs
    );
    let figures =
        crate::sim::coverage_sim::simulate(args.honest, args.cheaters, args.epochs, args.seed)?;
    println!(
        "cheaters: {:.1}% of the reward they tried to take withheld",
        100.0 * figures.withheld()
    );
    for (name, got, tried) in &figures.by_role {
        println!(
            "  {name:<20} {:.1}% withheld",
            100.0 * (1.0 - got / tried.max(1.0))
        );
    }
    println!(
        "honest devices: {:.2}% of their reward lost to the cheaters",
        100.0 * figures.honest_loss()
    );
    let (flagged, judged) = figures.honest_out_of_line_baseline;
    let (flagged_attacked, judged_attacked) = figures.honest_out_of_line;
    println!(
        "honest device-epochs judged out of line with their peers (false positives): {flagged} of {judged} without cheaters, {flagged_attacked} of {judged_attacked} with them"
    );
    Ok(())
}

#[derive(Args)]
pub struct IngestArgs {
    /// Simulated devices, each sending one heartbeat per heartbeat window.
    #[arg(long, default_value_t = 10_000)]
    devices: u32,
    /// Seconds of measured load, after registration.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Heartbeats per RPC call.
    #[arg(long, default_value_t = 1_024)]
    batch: usize,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Witness(args) => crate::bench_witness::witness(args),
        BenchCommand::CoverageAttack(args) => coverage_attack(args),
        BenchCommand::Usage(args) => crate::bench_usage::usage(args),
        BenchCommand::Storage(args) => crate::bench_storage::storage(args),
        BenchCommand::Compute(args) => crate::bench_compute::compute(args),
    }
}

/// Single-core ed25519 rates on this machine: (one-by-one, batches of 1024) per second.
pub(crate) fn ed25519_baseline() -> (f64, f64) {
    let keys: Vec<ed25519::PrivateKey> = (0..1_024).map(ed25519::PrivateKey::from_seed).collect();
    let items: Vec<(ed25519::PublicKey, Vec<u8>, ed25519::Signature)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let message = (i as u64).to_be_bytes().to_vec();
            (k.public_key(), message.clone(), k.sign(b"bench", &message))
        })
        .collect();
    let start = Instant::now();
    let mut single = 0u64;
    while start.elapsed() < Duration::from_millis(700) {
        for (key, message, signature) in &items[..64] {
            assert!(key.verify(b"bench", message, signature));
            single += 1;
        }
    }
    let single_rate = single as f64 / start.elapsed().as_secs_f64();
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([7u8; 32]);
    let start = Instant::now();
    let mut batched = 0u64;
    while start.elapsed() < Duration::from_millis(700) {
        let ok = ed25519::PublicKey::verify_batch(
            &mut rng,
            &items,
            |_, (key, message, signature)| BatchEntry {
                namespace: b"bench",
                message,
                public_key: key,
                signature,
            },
            &commonware_parallel::Sequential,
        );
        assert!(ok);
        batched += items.len() as u64;
    }
    (single_rate, batched as f64 / start.elapsed().as_secs_f64())
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

const REGISTRARS: u32 = 16;

fn ingest(args: IngestArgs) -> Result<()> {
    if args.devices == 0 || args.batch == 0 || args.batch > 1_024 {
        bail!("--devices must be positive and --batch between 1 and 1024");
    }
    println!("measuring single-core ed25519 verification on this machine ...");
    let (single_rate, batch_rate) = ed25519_baseline();

    // A fresh one-validator chain with sixteen funded accounts to register devices from.
    let dir = std::env::temp_dir().join(format!("groundwork-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut params = local_params("groundwork-bench", Some(600))?;
    params.core.heartbeat_max_age_blocks = 64;
    let unit = 10u128.pow(u32::from(params.core.token_decimals));
    let written = write_network(&dir, 1, params, Amount(1_000_000_000 * unit), 0, true)?;
    let mut genesis = written.genesis;
    let registrars: Vec<AccountKey> = (0..REGISTRARS)
        .map(|i| AccountKey::from_seed(900 + u64::from(i)))
        .collect();
    for key in &registrars {
        genesis
            .balances
            .push((key_address(key), Amount(1_000_000 * unit)));
    }
    genesis.balances.sort();
    let genesis =
        groundwork_state::Genesis::from_toml(&genesis.to_toml()).context("bench genesis")?;
    let chain: ChainId = genesis.params.core.chain_id.clone();
    let window = genesis.params.core.heartbeat_window_blocks;
    let free = |_: ()| -> Result<SocketAddr> {
        Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
    };
    let rpc_addr = free(())?;
    let config = ServiceConfig {
        genesis,
        signer: load_key(&dir.join("validator-0.key"))?,
        data_dir: dir.clone(),
        p2p_listen: free(())?,
        p2p_dialable: "127.0.0.1:1".parse()?,
        bootstrappers: Vec::new(),
        rpc_addr,
        // The load generator is one client sending as fast as it can.
        rpc: groundwork_node::rpc::RpcConfig {
            requests_per_second: 0,
            ..Default::default()
        },
        metrics_addr: free(())?,
        block_time: Duration::ZERO,
        log_level: tracing::Level::ERROR,
        log_json: false,
        mempool: MempoolConfig {
            max_transactions: 400_000,
            max_nonce_gap: 64,
            heartbeat_ttl_blocks: 60,
        },
    };
    let mut config = config;
    config.p2p_dialable = config.p2p_listen;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let node = std::thread::spawn(move || {
        service::run_until(
            config,
            move |_| {
                let _ = ready_tx.send(());
            },
            stop_rx,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .context("the node did not start")?;
    let client = RpcClient::new(&format!("http://{rpc_addr}"), Duration::from_secs(30))?;

    // Register the fleet: each registrar sends up to 64 registrations per round (the mempool's
    // nonce window), then waits for them to land.
    println!("registering {} devices ...", args.devices);
    let devices: Vec<DeviceKey> = (0..args.devices)
        .map(|i| DeviceKey::from_seed(KeyScheme::Ed25519, 1_000_000 + u64::from(i)))
        .collect();
    let location = Cell::from_lat_lng(52.52, 13.405).map_err(|e| anyhow::anyhow!("{e}"))?;
    let started = Instant::now();
    let mut next = 0usize;
    let mut nonces = vec![0u64; registrars.len()];
    let valid_until = client.status()?.valid_until();
    while next < devices.len() {
        let mut batch = Vec::new();
        for (r, key) in registrars.iter().enumerate() {
            for _ in 0..64 {
                if next >= devices.len() {
                    break;
                }
                let action = CoreCall::register_device(
                    &chain,
                    &key_address(key),
                    &devices[next],
                    ResourceKind::Wireless,
                    location,
                );
                let tx = Transaction::Account(AccountTransaction::sign(
                    key,
                    &chain,
                    nonces[r],
                    valid_until,
                    action,
                ));
                nonces[r] += 1;
                next += 1;
                batch.push(hex::encode(tx.encode()));
            }
        }
        for chunk in batch.chunks(1_024) {
            client.submit_hex_batch(chunk)?;
        }
        loop {
            let landed = registrars.iter().enumerate().all(|(r, key)| {
                client
                    .account(&key_address(key).to_string())
                    .is_ok_and(|a| a.nonce >= nonces[r])
            });
            if landed {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprint!("\r  {next}/{} registered", devices.len());
    }
    eprintln!();
    println!(
        "  registration took {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Load: every device sends one heartbeat per window, naming the newest block.
    let mut last_window: Vec<Option<u64>> = vec![None; devices.len()];
    let mut pending: BTreeMap<[u8; 32], (usize, Instant)> = BTreeMap::new();
    let mut pending_by_device: Vec<bool> = vec![false; devices.len()];
    let mut latencies: Vec<Duration> = Vec::new();
    let mut finalized = 0u64;
    let mut refused = 0u64;
    let mut signing = Duration::ZERO;
    let mut seen_height = client.status()?.height;
    let start_height = seen_height;
    let load_start = Instant::now();
    println!("sending heartbeats for {} s ...", args.seconds);
    while load_start.elapsed() < Duration::from_secs(args.seconds) {
        let status = client.status()?;
        let height = status.height;
        let recent = status.block;
        let current_window = height / window;
        // Collect what finalized since last time.
        for h in seen_height + 1..=height {
            let block: api::Block = client.get("chain_getBlock", json!([h]))?;
            let now = Instant::now();
            for (i, hash) in block.transactions.iter().enumerate() {
                let Some(digest) = digest_from_hex(hash) else {
                    continue;
                };
                if let Some((device, submitted)) = pending.remove(&digest.0) {
                    pending_by_device[device] = false;
                    if block.results.get(i).is_some_and(Option::is_none) {
                        finalized += 1;
                        latencies.push(now - submitted);
                        last_window[device] = Some(h.saturating_sub(1) / window);
                    }
                }
            }
        }
        seen_height = height;
        // Forget heartbeats that will never land (expired from the mempool).
        let now = Instant::now();
        pending.retain(|_, (device, submitted)| {
            let keep = now - *submitted < Duration::from_secs(10);
            if !keep {
                pending_by_device[*device] = false;
            }
            keep
        });
        // Send a heartbeat for every idle device that has not been credited in this window.
        let mut batch = Vec::new();
        let mut batch_devices = Vec::new();
        let sign_start = Instant::now();
        for (index, device) in devices.iter().enumerate() {
            if pending_by_device[index] || last_window[index] == Some(current_window) {
                continue;
            }
            let tx = Transaction::Device(UptimeReport::sign_heartbeat(device, &chain, recent));
            batch.push((tx.hash(), hex::encode(tx.encode())));
            batch_devices.push(index);
            if batch.len() >= 20 * args.batch {
                break;
            }
        }
        signing += sign_start.elapsed();
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        for (chunk, indexes) in batch
            .chunks(args.batch)
            .zip(batch_devices.chunks(args.batch))
        {
            let texts: Vec<String> = chunk.iter().map(|(_, text)| text.clone()).collect();
            let submitted = Instant::now();
            let answers = client.submit_hex_batch(&texts)?;
            for (((hash, _), &device), answer) in chunk.iter().zip(indexes).zip(answers) {
                if answer.is_ok() {
                    pending.insert(hash.0, (device, submitted));
                    pending_by_device[device] = true;
                } else {
                    refused += 1;
                }
            }
        }
    }
    let elapsed = load_start.elapsed().as_secs_f64();
    let end_height = seen_height;
    let _ = stop_tx.send(());
    let _ = node.join();
    let _ = std::fs::remove_dir_all(&dir);

    latencies.sort();
    let rate = finalized as f64 / elapsed;
    let two_core_limit = 2.0 * batch_rate;
    println!();
    println!(
        "ingest: {} devices, {:.1} s of load, {} blocks",
        args.devices,
        elapsed,
        end_height - start_height
    );
    println!("  finalized heartbeats      {finalized} ({rate:.0}/s)");
    println!("  refused at admission      {refused}");
    println!(
        "  submit→finalized latency  p50 {:?}, p99 {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    if let Some(peak) = peak_rss_mib() {
        println!("  peak memory (node + load generator) {peak:.0} MiB");
    }
    println!(
        "  load generator signing    {:.1} s of {:.1} s",
        signing.as_secs_f64(),
        elapsed
    );
    println!(
        "baseline (same run, one core): ed25519 verify {single_rate:.0}/s, batch of 1024 {batch_rate:.0}/s"
    );
    println!(
        "  two-core batch-verify limit {two_core_limit:.0}/s; achieved {:.1}% of it (target ≥ 50%)",
        100.0 * rate / two_core_limit
    );
    if rate < two_core_limit / 2.0 {
        println!(
            "  short of target: every heartbeat is signature-checked at admission (batched), in the"
        );
        println!(
            "  state machine (batched), and signed by the load generator on the same two cores;"
        );
        println!("  blocks wait for their parent's finalization before they are proposed.");
    }
    Ok(())
}
