//! The `groundwork` binary. Thin: parses the command line and hands off to one module per
//! command family.

mod bench_cmd;
mod genesis_cmd;
mod keys;
mod node_cmd;

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
    /// Run a one-validator development chain with a funded account.
    ///
    /// Example:
    ///   groundwork dev --data-dir ./devchain --block-time 500
    Dev(node_cmd::DevArgs),
    /// Run one validator of a network from its configuration file.
    ///
    /// Example:
    ///   groundwork node --config ./groundwork-testnet/node-0.toml
    Node(node_cmd::NodeArgs),
    /// Start a network of validators on this machine, one process each.
    ///
    /// Example:
    ///   groundwork testnet --validators 4 --dir ./testnet
    Testnet(node_cmd::TestnetArgs),
    /// Create and check genesis files.
    #[command(subcommand)]
    Genesis(genesis_cmd::GenesisCommand),
    /// Measure the node on this machine.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev(args) => node_cmd::dev(args),
        Command::Node(args) => node_cmd::node(args),
        Command::Testnet(args) => node_cmd::testnet(args),
        Command::Genesis(command) => genesis_cmd::run(command),
        Command::Bench(command) => bench_cmd::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
