//! `groundwork compute`: deterministic WebAssembly jobs (docs/compute.md). `exec` runs a job
//! locally exactly as a provider's agent does, with the same runtime, limits and fuel.

use anyhow::{Context, Result};
use clap::Subcommand;
use groundwork_compute::{Limits, RUNTIME};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ComputeCommand {
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
