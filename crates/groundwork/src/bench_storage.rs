//! `groundwork bench storage`: the storage path's speed, each figure beside a baseline
//! measured in the same run.
//!
//! - **Commitment**: bytes per second hashed into a shard's tree (`BlockRoots::of`), beside raw
//!   BLAKE3 and raw SHA-256 over the same bytes.
//! - **Proofs**: possession proofs of K leaves verified per second, as the state machine checks
//!   them, beside raw BLAKE3 calls of the same 64-byte inputs a path takes.
//! - **Retrieval**: a shard fetched from a real storage port on loopback and verified block
//!   by block, as `groundwork storage get` does, beside `curl` of the same bytes unverified.

use crate::storage_port::{ShardStore, StoragePort};
use anyhow::{Result, bail};
use clap::Args;
use groundwork_primitives::DeviceKey;
use groundwork_storage::{
    BLOCK_BYTES, BLOCK_LEAVES, BlockRoots, LeafProof, block_root, prove_leaf, verify_block_roots,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

#[derive(Args)]
pub struct StorageArgs {
    /// Size of the shard the figures are measured on, in MiB.
    #[arg(long, default_value_t = 64)]
    mib: u64,
    /// Possession proofs to verify.
    #[arg(long, default_value_t = 20_000)]
    proofs: u32,
}

fn per_second(count: f64, started: Instant) -> f64 {
    count / started.elapsed().as_secs_f64().max(1e-9)
}

const MIB: f64 = (1 << 20) as f64;

pub fn storage(args: StorageArgs) -> Result<()> {
    if args.mib == 0 || args.mib > 4_096 {
        bail!("--mib must be 1..=4096");
    }
    if args.proofs == 0 {
        bail!("--proofs must be at least 1");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut shard = vec![0u8; (args.mib << 20) as usize];
    rng.fill_bytes(&mut shard);

    // Commitment against the raw hashes.
    let started = Instant::now();
    let blocks = BlockRoots::of(&shard)?;
    let tree_rate = per_second(shard.len() as f64, started) / MIB;
    let root = blocks.root()?;
    let started = Instant::now();
    let raw = blake3::hash(&shard);
    let blake3_rate = per_second(shard.len() as f64, started) / MIB;
    let started = Instant::now();
    let sha = groundwork_primitives::hash::hash(&shard);
    let sha_rate = per_second(shard.len() as f64, started) / MIB;
    std::hint::black_box((raw, sha));
    println!(
        "commitment of a {} MiB shard (256-byte leaves, 64 KiB blocks)",
        args.mib
    );
    println!("  shard tree                    {tree_rate:.0} MiB/s");
    println!("  baseline BLAKE3 (one hash)    {blake3_rate:.0} MiB/s");
    println!("  baseline SHA-256 (one hash)   {sha_rate:.0} MiB/s");

    // Proof verification: K = 5 leaves a proof, as the chain draws them.
    let leaves = groundwork_storage::leaf_count(shard.len() as u64);
    let proofs: Vec<Vec<LeafProof>> = (0..64)
        .map(|_| {
            (0..5)
                .map(|_| {
                    let index = rng.next_u64() % leaves;
                    let start = (index as usize / BLOCK_LEAVES) * BLOCK_BYTES;
                    let block = &shard[start..(start + BLOCK_BYTES).min(shard.len())];
                    prove_leaf(&blocks, index, block)
                })
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    let size = shard.len() as u64;
    let started = Instant::now();
    for i in 0..args.proofs as usize {
        for proof in &proofs[i % proofs.len()] {
            proof.verify(&root, size)?;
        }
    }
    let proof_rate = per_second(f64::from(args.proofs), started);
    let path = groundwork_storage::tree_height(size);
    let hashes = u64::from(args.proofs) * 5 * (path as u64 + 2);
    let input = [7u8; 65];
    let started = Instant::now();
    let mut h = [0u8; 32];
    for _ in 0..hashes {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&input[..33]);
        hasher.update(&h);
        h = *hasher.finalize().as_bytes();
    }
    std::hint::black_box(h);
    let hash_rate = per_second(hashes as f64, started);
    println!("possession proofs (5 leaves, {path}-hash paths)");
    println!("  proofs verified               {proof_rate:.0}/s");
    println!(
        "  baseline BLAKE3 of 65 bytes   {hash_rate:.0}/s ({:.0} proofs/s if hashing were all)",
        hash_rate / (5.0 * (path as f64 + 2.0))
    );

    retrieval(&shard, &blocks, root)
}

/// A real storage port on loopback, serving the shard from disk.
fn retrieval(shard: &[u8], blocks: &BlockRoots, root: groundwork_storage::Root) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("groundwork-bench-storage-{}", std::process::id()));
    let store = ShardStore::open(dir.join("shards"))?;
    let deal = "ab".repeat(32);
    // As an upload goes: the block roots, checked against the root, then the bytes.
    verify_block_roots(&root, blocks)?;
    let roots = blocks.to_bytes();
    store.expect(&deal, &roots)?;
    if let Err(refusal) = store.check_piece(&deal, 0, shard, shard.len() as u64) {
        bail!("the bench shard does not match its own roots: {refusal:?}");
    }
    store.append(&deal, 0, shard)?;
    store.finish(&deal, shard.len() as u64)?;
    let key = DeviceKey::from_seed(groundwork_primitives::KeyScheme::Ed25519, 9);
    let port = Arc::new(StoragePort::new(
        store,
        key.clone(),
        "http://127.0.0.1:9".to_string(),
    ));
    let address = crate::service_port::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        key,
        "http://127.0.0.1:9".to_string(),
        dir.join("vouchers.json"),
        Some(port),
        None,
    )?;
    let base = format!("http://{address}/storage/{deal}");
    let http = reqwest::blocking::Client::new();
    let started = Instant::now();
    let roots_bytes = http.get(format!("{base}/roots")).send()?.bytes()?;
    let fetched = BlockRoots::from_bytes(blocks.size, &roots_bytes);
    verify_block_roots(&root, &fetched)?;
    let mut total = 0usize;
    for (run, expected) in fetched.roots.chunks(16).enumerate() {
        let url = format!("{base}/blocks/{}/{}", run * 16, expected.len());
        let bytes = http.get(url).send()?.bytes()?;
        for (k, (block, root)) in bytes.chunks(BLOCK_BYTES).zip(expected).enumerate() {
            if block_root(block) != *root {
                bail!("block {} does not match its root", run * 16 + k);
            }
        }
        total += bytes.len();
    }
    let ours = per_second(total as f64, started) / MIB;
    anyhow::ensure!(
        total == shard.len(),
        "fetched {total} of {} bytes",
        shard.len()
    );
    let started = Instant::now();
    let curl = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{size_download}"])
        .arg(format!("{base}/bytes"))
        .output();
    let curl_rate = match curl {
        Ok(out) if out.status.success() => {
            let bytes: f64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0.0);
            Some(per_second(bytes, started) / MIB)
        }
        _ => None,
    };
    println!("retrieval on loopback ({} MiB)", shard.len() >> 20);
    println!("  storage get (verified per 64 KiB block, 1 MiB a request)   {ours:.0} MiB/s");
    match curl_rate {
        Some(rate) => {
            println!("  baseline curl of the same bytes, unverified              {rate:.0} MiB/s")
        }
        None => println!("  baseline curl: not installed"),
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
