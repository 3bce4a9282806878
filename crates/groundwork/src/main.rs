//! The `groundwork` binary. Thin: parses the command line and hands off to one module per
//! command family.

mod genesis_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Groundwork: a chain that verifies what physical infrastructure really delivered and pays
/// its owners.
#[derive(Parser)]
#[command(name = "groundwork", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and check genesis files.
    #[command(subcommand)]
    Genesis(genesis_cmd::GenesisCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Genesis(command) => genesis_cmd::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
