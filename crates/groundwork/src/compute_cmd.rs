//! `groundwork compute`: deterministic WebAssembly jobs (docs/compute.md). `exec` runs a job
//! locally exactly as a provider's agent does, with the same runtime, limits and fuel; the
//! market's commands (`offer`, `run`, `show`, `list`, `dispute`) are clients of a node, in
//! `client_cmd/compute.rs`.

use crate::client_cmd::{ClientArgs, SignerArgs, compute as market};
use anyhow::{Context, Result};
use clap::Subcommand;
use groundwork_compute::{Limits, RUNTIME};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `--spot-check`: a percentage (`10%`) or basis points (`1000`).
fn parse_bps(text: &str) -> Result<u16, String> {
    let bps = match text.strip_suffix('%') {
        Some(percent) => percent
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
            .map(|p| (p * 100.0).round() as u32),
        None => text.trim().parse::<u32>().ok(),
    };
    bps.filter(|b| *b <= 10_000)
        .map(|b| b as u16)
        .ok_or_else(|| {
            format!("{text:?} is not a share: use a percentage (10%) or basis points (0 to 10000)")
        })
}

#[derive(Subcommand)]
pub enum ComputeCommand {
    /// Offer a compute device's work: tasks of up to --max-fuel, with collateral locked that a
    /// wrong or missing outcome slashes. The price is the device's offer (`groundwork offer
    /// set`), in credits per million fuel. `--max-fuel 0` withdraws the offer once no open
    /// task holds it.
    #[command(after_help = "Example:
  groundwork compute offer --key alice --device gwd1… --max-fuel 1000000000 --collateral 20 --endpoint http://10.0.0.7:9400")]
    Offer {
        /// The compute device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// Most fuel one task may use on this device.
        #[arg(long)]
        max_fuel: u64,
        /// Collateral to lock, in tokens (base units with --base-units).
        #[arg(long)]
        collateral: String,
        /// Where customers fetch outputs from the device's agent (its service port).
        #[arg(long)]
        endpoint: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Run a job on the network: check the module, cut the work into tasks, escrow the worst
    /// case, follow each task (assigned, committed, revealed, verified), then fetch every
    /// verified output from a provider that computed it and check it against the result on
    /// chain. A scene (.toml with width, height and max_iter, for examples/render.wat) is
    /// cut into --tasks tiles and written as one PNG; raw inputs are one task each, written
    /// into the --out folder.
    #[command(after_help = "Examples:
  groundwork compute run --key alice --module examples/render.wat --input examples/scene.toml --tasks 16 --fuel 200000000 --out frame.png
  groundwork compute run --key alice --module examples/hashchain.wat --input a.bin --input b.bin --fuel 10000000 --replication 1 --spot-check 25% --out results/")]
    Run {
        /// The job's module (.wat text or .wasm binary).
        #[arg(long)]
        module: PathBuf,
        /// A scene (.toml) to cut into tiles, or raw input files, one task each.
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        /// Tiles to cut a scene into (default 16), at most 16.
        #[arg(long)]
        tasks: Option<u32>,
        /// Most fuel one task may use; `groundwork compute exec` prints what a run takes.
        #[arg(long)]
        fuel: u64,
        /// Where to write the PNG (a scene) or the outputs' folder (raw inputs).
        #[arg(long)]
        out: PathBuf,
        /// Most credits per million fuel to pay any provider (default: the highest offer).
        #[arg(long)]
        max_price: Option<u64>,
        /// Providers that run each task independently: 1, 2 or 3.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
        replication: u8,
        /// Chance that another provider re-runs a task whose outcomes agreed: a percentage
        /// (10%) or basis points.
        #[arg(long, default_value = "10%", value_parser = parse_bps)]
        spot_check: u16,
        /// Where to serve the module and inputs to providers while the job runs.
        #[arg(long, default_value = "127.0.0.1:0")]
        serve: SocketAddr,
        /// The URL providers reach the served module and inputs at (default: the --serve
        /// address).
        #[arg(long)]
        source_url: Option<String>,
        /// Seconds to wait for every task to close.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A job's tasks: who computed each, how it was verified and the randomness behind every
    /// draw, fuel used, credits paid, escrow left.
    #[command(after_help = "Example:
  groundwork compute show 5be1…c2")]
    Show {
        /// The job id `compute run` printed.
        job: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A customer's jobs.
    #[command(after_help = "Example:
  groundwork compute list --customer gw1…")]
    List {
        /// The customer's address (gw1…).
        #[arg(long)]
        customer: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Dispute a task accepted without verification, as its customer: a referee committee
    /// re-runs it, paid from the job's escrow, and a provider whose outcome loses is slashed.
    #[command(after_help = "Example:
  groundwork compute dispute 5be1…c2 3 --key alice")]
    Dispute {
        /// The job id.
        job: String,
        /// The task's index.
        task: u8,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Run a job locally as a provider does, and print its result hash and the fuel it used.
    /// The module may be WebAssembly text (.wat) or binary; it must export `memory` and
    /// `run(input_len: i32) -> i64`, and may use no floats, threads or imports.
    #[command(
        after_help = "Examples:\n  groundwork compute exec --module examples/hashchain.wat --input data.bin --fuel 10000000\n  groundwork compute exec --module examples/render.wat --input tile.bin --fuel 200000000 --out tile.rgba"
    )]
    Exec {
        /// The job's module (.wat text or .wasm binary).
        #[arg(long)]
        module: PathBuf,
        /// The job's input: a file whose bytes are written at memory offset 0 (at most 64 KiB).
        #[arg(long)]
        input: PathBuf,
        /// Most fuel the run may use (one unit per instruction, roughly).
        #[arg(long)]
        fuel: u64,
        /// Write the output bytes here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: ComputeCommand) -> Result<()> {
    match command {
        ComputeCommand::Offer {
            device,
            max_fuel,
            collateral,
            endpoint,
            signer,
            client,
        } => market::offer(&device, max_fuel, &collateral, &endpoint, &signer, &client),
        ComputeCommand::Run {
            module,
            inputs,
            tasks,
            fuel,
            out,
            max_price,
            replication,
            spot_check,
            serve,
            source_url,
            timeout,
            signer,
            client,
        } => market::run(
            market::RunArgs {
                module,
                inputs,
                tasks,
                out,
                fuel,
                max_price,
                replication,
                spot_check_bps: spot_check,
                serve,
                source_url,
                timeout_secs: timeout,
            },
            &signer,
            &client,
        ),
        ComputeCommand::Show { job, client } => market::show(&job, &client),
        ComputeCommand::List { customer, client } => market::list(&customer, &client),
        ComputeCommand::Dispute {
            job,
            task,
            signer,
            client,
        } => market::dispute(&job, task, &signer, &client),
        ComputeCommand::Exec {
            module,
            input,
            fuel,
            out,
            json,
        } => {
            let wasm = wat::parse_file(&module).with_context(|| {
                format!("{} is not WebAssembly text or binary", module.display())
            })?;
            let input =
                std::fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
            let outcome = groundwork_compute::run(&wasm, &input, fuel, Limits::DEFAULT)
                .with_context(|| format!("the job {} did not complete", module.display()))?;
            if let Some(path) = &out {
                std::fs::write(path, &outcome.output)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let hash = hex::encode(outcome.result_hash);
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "result_hash": hash,
                        "fuel_used": outcome.fuel_used,
                        "output_bytes": outcome.output.len(),
                        "runtime": RUNTIME,
                    })
                );
            } else {
                println!("result hash  {hash}");
                println!("fuel used    {}", outcome.fuel_used);
                println!("output       {} bytes", outcome.output.len());
                println!("runtime      {RUNTIME}");
            }
            Ok(())
        }
    }
}
