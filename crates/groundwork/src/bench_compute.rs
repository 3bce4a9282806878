//! `groundwork bench compute`: the runtime's speed on the tile job, beside the same
//! computation in native Rust measured in the same run (and checked pixel for pixel); then
//! the market's side in the state machine: tasks assigned, commitments and reveals checked
//! and tasks verified and paid per second, beside this machine's ed25519 rate.
//!
//! The market runs on a chain built in memory (no consensus, no disk), with one compute
//! device per owner, so the draws never have to skip a second device of one owner.

use crate::bench_cmd::ed25519_baseline;
use crate::memchain::MemChain as Chain;
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_cryptography::Signer;
use groundwork_compute::{Limits, RUNTIME};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::limits::{MAX_TASKS_PER_JOB, MAX_TRANSACTIONS_PER_BLOCK};
use groundwork_primitives::tx::attest::BoundedBytes;
use groundwork_primitives::tx::compute::TaskOutcome;
use groundwork_primitives::tx::outcome_commitment;
use groundwork_primitives::{
    AccountKey, Amount, Cell, ComputeCall, ComputeReport, CoreCall, CreditsCall, DeviceId,
    DeviceKey, DeviceTransaction, KeyScheme, OracleCall, ResourceKind, Transaction, UsageCall,
    job_id,
};
use groundwork_state::compute::{Phase, Verification, fuel_credits, task_escrow, worst_case_runs};
use std::time::Instant;

/// The market's figures: each task's fuel limit, the ceiling and offered price per million
/// fuel. An outcome uses half the limit.
const MARKET_FUEL: u64 = 1_000_000;
const MARKET_CEILING: u64 = 5;
const MARKET_PRICE: u64 = 4;

#[derive(Args)]
pub struct ComputeArgs {
    /// Tile width and height, in pixels (at most 256).
    #[arg(long, default_value_t = 128)]
    tile: i32,
    /// Most iterations per pixel.
    #[arg(long, default_value_t = 256)]
    iterations: i32,
    /// Jobs of 16 tasks each posted in one block for the market figures, at replication 2.
    #[arg(long, default_value_t = 64)]
    jobs: u32,
    /// Compute providers the market draws from, each with its own owner.
    #[arg(long, default_value_t = 64)]
    providers: u32,
}

/// The tile renderer of `examples/render.wat`, written again in Rust with the same fixed-point
/// steps, so both give the same pixels.
fn render_native(
    width: i64,
    height: i64,
    left: i32,
    top: i32,
    tw: i32,
    th: i32,
    max: i32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity((tw * th * 4) as usize);
    for y in 0..th {
        let ci = -20_132_659 + 40_265_318 * i64::from(top + y) / height;
        for x in 0..tw {
            let cr = -36_909_875 + 53_687_091 * i64::from(left + x) / width;
            let (mut zr, mut zi, mut iter) = (0i64, 0i64, 0i32);
            while iter < max {
                let zr2 = (zr * zr) >> 24;
                let zi2 = (zi * zi) >> 24;
                if zr2 + zi2 > 67_108_864 {
                    break;
                }
                zi = (((zr << 1) * zi) >> 24) + ci;
                zr = zr2 - zi2 + cr;
                iter += 1;
            }
            let pixel: u32 = if iter >= max {
                0xff00_0000
            } else {
                let i = iter as u32;
                ((i * 9) & 255) | (((i * 5) & 255) << 8) | (((i * 13) & 255) << 16) | 0xff00_0000
            };
            out.extend_from_slice(&pixel.to_le_bytes());
        }
    }
    out
}

pub fn compute(args: ComputeArgs) -> Result<()> {
    if !(1..=256).contains(&args.tile) || args.iterations < 1 {
        bail!("--tile must be 1..=256 and --iterations at least 1");
    }
    // Every task gets two commitments and two reveals in one block each.
    let most_jobs = MAX_TRANSACTIONS_PER_BLOCK / (2 * MAX_TASKS_PER_JOB);
    if args.jobs == 0 || args.jobs as usize > most_jobs {
        bail!("--jobs must be 1..={most_jobs}");
    }
    if !(4..=4_096).contains(&args.providers) {
        bail!("--providers must be 4..=4096 (a task needs two providers and three referees)");
    }
    runtime(&args)?;
    println!();
    market(&args)
}

fn runtime(args: &ComputeArgs) -> Result<()> {
    let module = wat::parse_str(include_str!("../../../examples/render.wat"))
        .context("the tile renderer")?;
    let (size, t, max) = (1024, args.tile, args.iterations);
    // The tile at the image's centre: most of it inside the set, so the work is heavy.
    let (left, top) = (size / 2 - t / 2, size / 2 - t / 2);
    let input: Vec<u8> = [size, size, left, top, t, t, max]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let started = Instant::now();
    let outcome = groundwork_compute::run(&module, &input, u64::MAX / 2, Limits::DEFAULT)?;
    let wasm_seconds = started.elapsed().as_secs_f64().max(1e-9);
    let started = Instant::now();
    let native = render_native(i64::from(size), i64::from(size), left, top, t, t, max);
    let native_seconds = started.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box(&native);
    if native != outcome.output {
        bail!("the native renderer and the job disagree: the benchmark compares different work");
    }
    let pixels = f64::from(t * t);
    println!(
        "tile job, {t} × {t} pixels, up to {max} iterations ({RUNTIME}, same pixels as native)"
    );
    println!("  fuel used                     {}", outcome.fuel_used);
    println!(
        "  runtime                       {:.0} fuel/s, {:.0} pixels/s",
        outcome.fuel_used as f64 / wasm_seconds,
        pixels / wasm_seconds
    );
    println!(
        "  baseline native Rust          {:.0} pixels/s ({:.0}× the runtime)",
        pixels / native_seconds,
        wasm_seconds / native_seconds
    );
    Ok(())
}

fn market(args: &ComputeArgs) -> Result<()> {
    println!("measuring single-core ed25519 verification on this machine ...");
    let (single_rate, batch_rate) = ed25519_baseline();

    let oracle = AccountKey::from_seed(1);
    let customer = AccountKey::from_seed(2);
    let params = crate::memchain::bench_params(&oracle)?;
    let unit = 10u128.pow(u32::from(params.core.token_decimals));
    let collateral = params.compute.min_collateral;
    let owners: Vec<AccountKey> = (0..u64::from(args.providers))
        .map(|i| AccountKey::from_seed(1_000 + i))
        .collect();
    let devices: Vec<DeviceKey> = (0..u64::from(args.providers))
        .map(|i| DeviceKey::from_seed(KeyScheme::Ed25519, 100_000 + i))
        .collect();
    let balances = owners
        .iter()
        .map(|o| (key_address(o), Amount(100 * unit)))
        .chain([
            (key_address(&oracle), Amount(unit)),
            (key_address(&customer), Amount(1_000_000 * unit)),
        ])
        .collect();
    let chain_id = params.core.chain_id.clone();
    let mut chain = Chain::new(params, balances);
    let report = |device: &DeviceId, report: ComputeReport| -> Result<Transaction> {
        let key = devices
            .iter()
            .find(|d| d.id() == *device)
            .context("a task drew a device the benchmark does not hold")?;
        Ok(Transaction::Device(DeviceTransaction::sign(
            key, &chain_id, report,
        )))
    };

    // The price, the customer's credits, the providers and their offers.
    let at = Cell::from_lat_lng(52.52, 13.405).context("placing the devices")?;
    let price = OracleCall::SubmitPrice {
        micro_usd_per_token: 2_500_000,
    };
    let jobs = u64::from(args.jobs);
    let tasks = jobs * MAX_TASKS_PER_JOB as u64;
    let runs = worst_case_runs(2, chain.state.params().compute.referees);
    let escrow = task_escrow(MARKET_FUEL, MARKET_CEILING, runs)
        .and_then(|per_task| per_task.checked_mul(tasks))
        .context("the escrow overflows")?;
    let buy = CreditsCall::Buy {
        recipient: key_address(&customer),
        credits: escrow,
    };
    let mut setup = vec![
        chain.sign(&oracle, 0, price.into()),
        chain.sign(&customer, 0, buy.into()),
    ];
    for (owner, device) in owners.iter().zip(&devices) {
        let register = CoreCall::register_device(
            &chain_id,
            &key_address(owner),
            device,
            ResourceKind::Compute,
            at,
        );
        let usage = UsageCall::SetOffer {
            device: device.id(),
            credits_per_unit: MARKET_PRICE,
            max_session_blocks: 1_000,
        };
        let offer = ComputeCall::Offer {
            device: device.id(),
            max_fuel_per_task: MARKET_FUEL,
            collateral,
            endpoint: BoundedBytes(b"http://127.0.0.1:9".to_vec()),
        };
        setup.push(chain.sign(owner, 0, register.into()));
        setup.push(chain.sign(owner, 1, usage.into()));
        setup.push(chain.sign(owner, 2, offer.into()));
    }
    println!(
        "registering {} compute providers and posting {jobs} jobs of {MAX_TASKS_PER_JOB} tasks at r = 2 ...",
        args.providers
    );
    chain.execute_all(setup, "the set-up")?;

    // One block posts every job; its block step draws two providers for each task.
    let posts: Vec<Transaction> = (0..jobs)
        .map(|j| {
            let post = ComputeCall::Post {
                module_hash: *blake3::hash(&j.to_le_bytes()).as_bytes(),
                inputs: (0..MAX_TASKS_PER_JOB as u64)
                    .map(|i| *blake3::hash(&(j * 1_000 + i).to_le_bytes()).as_bytes())
                    .collect(),
                fuel_limit: MARKET_FUEL,
                max_credits_per_mfuel: MARKET_CEILING,
                replication: 2,
                spot_check_bps: 0,
                source: BoundedBytes(b"http://127.0.0.1:9/jobs".to_vec()),
            };
            chain.sign(&customer, 1 + j, post.into())
        })
        .collect();
    let post_seconds = chain.execute_all(posts, "posting a job")?;

    // Every drawn device commits, then reveals, the same outcome.
    let outcome = TaskOutcome {
        result: [7; 32],
        fuel_used: MARKET_FUEL / 2,
        out_of_fuel: false,
    };
    let job_ids: Vec<Digest> = (0..jobs)
        .map(|j| job_id(&key_address(&customer), 1 + j))
        .collect();
    let mut commits = Vec::new();
    let mut reveals = Vec::new();
    for job in &job_ids {
        for (task, record) in chain.state.compute_tasks(job) {
            if record.phase != Phase::Committing || record.slots.0.len() != 2 {
                bail!("task {task} of a job was not assigned two providers");
            }
            for slot in &record.slots.0 {
                let commitment = outcome_commitment(job, task, &slot.device, &outcome);
                commits.push(report(
                    &slot.device,
                    ComputeReport::Commit {
                        job: *job,
                        task,
                        commitment,
                    },
                )?);
                reveals.push(report(
                    &slot.device,
                    ComputeReport::Reveal {
                        job: *job,
                        task,
                        outcome,
                    },
                )?);
            }
        }
    }
    let signatures = commits.len();
    let commit_seconds = chain.execute_all(commits, "a commitment")?;
    let reveal_seconds = chain.execute_all(reveals, "a reveal")?;
    let paid: u64 = job_ids
        .iter()
        .flat_map(|job| chain.state.compute_tasks(job))
        .filter(|(_, t)| t.phase == Phase::Closed && t.verification == Verification::Matched)
        .map(|(_, t)| t.paid_credits)
        .sum();
    let per_run = fuel_credits(outcome.fuel_used, MARKET_PRICE).context("the pay overflows")?;
    if paid != tasks * 2 * per_run {
        bail!(
            "expected every task matched and paid {} credits, the chain paid {paid}",
            2 * per_run
        );
    }

    let rate = |count: u64, seconds: f64| count as f64 / seconds;
    println!();
    println!(
        "compute market (one core, state machine, in memory; {} providers)",
        args.providers
    );
    println!(
        "  jobs posted and tasks drawn   {tasks} tasks in {:.1} ms ({:.0} tasks assigned/s)",
        post_seconds * 1e3,
        rate(tasks, post_seconds)
    );
    println!(
        "  commitments                   {signatures} in {:.1} ms ({:.0}/s)",
        commit_seconds * 1e3,
        rate(signatures as u64, commit_seconds)
    );
    println!(
        "  reveals, verified and paid    {signatures} reveals, {tasks} tasks in {:.1} ms ({:.0} tasks verified/s, {paid} credits paid)",
        reveal_seconds * 1e3,
        rate(tasks, reveal_seconds)
    );
    println!(
        "  baseline ed25519 verify       {single_rate:.0}/s one by one, {batch_rate:.0}/s in batches of 1024"
    );
    println!(
        "  (each commitment and reveal is one device signature; a block's time includes its state root)"
    );
    Ok(())
}
