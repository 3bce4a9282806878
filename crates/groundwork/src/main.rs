//! The `groundwork` binary. Thin: parses the command line and hands off to one module per
//! command family.

mod agent_cmd;
mod bench_cmd;
mod bench_witness;
mod calc_cmd;
mod challenge_cmd;
mod client_cmd;
mod clock;
mod coverage_sim;
mod fleet;
mod genesis_cmd;
mod keys;
mod keys_cmd;
mod memchain;
mod node_cmd;
mod radio;
mod rpc_client;

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
    ///   groundwork dev --devices 200
    ///   groundwork dev --devices 200 --cheaters 50
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
    /// Manage keys: an encrypted keystore, PKCS#8 PEM and BIP39 mnemonics.
    #[command(subcommand)]
    Keys(keys_cmd::KeysCommand),
    /// Accounts: balances and transfers.
    #[command(subcommand)]
    Account(client_cmd::AccountCommand),
    /// Data credits: burn tokens for credits at the chain's fixed price.
    #[command(subcommand)]
    Credits(client_cmd::CreditsCommand),
    /// Devices: register, inspect, move, hand over and retire.
    #[command(subcommand)]
    Device(client_cmd::DeviceCommand),
    /// Rewards: what a device was paid, and why.
    #[command(subcommand)]
    Rewards(client_cmd::RewardsCommand),
    /// Location challenges: post one with evidence, answer one, follow one.
    #[command(subcommand)]
    Challenge(challenge_cmd::ChallengeCommand),
    /// The chain: status, blocks and state proofs.
    #[command(subcommand)]
    Chain(client_cmd::ChainCommand),
    /// Check a state proof offline against a state root.
    ///
    /// Example:
    ///   groundwork chain proof --account gw1… > proof.json
    ///   groundwork verify-proof proof.json --root 3fda…e49b
    VerifyProof(client_cmd::VerifyProofArgs),
    /// Coverage math offline: path loss, signal, distance, reward units, density.
    ///
    /// Computed by the same code as the chain.
    ///
    /// Example:
    ///   groundwork calc reward-units --witnesses 5
    #[command(subcommand)]
    Calc(calc_cmd::CalcCommand),
    /// Run the agent of one device: signed heartbeats on schedule, queued on disk while the
    /// node is unreachable.
    ///
    /// Example:
    ///   groundwork agent --config agent.toml
    Agent(agent_cmd::AgentArgs),
    /// Run a simulated fleet of devices against a node.
    ///
    /// Example:
    ///   groundwork fleet --rpc http://127.0.0.1:8645 --devices 200 --key dev-account.key
    Fleet(fleet::FleetArgs),
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
        Command::Keys(command) => keys_cmd::run(command),
        Command::Account(command) => client_cmd::account(command),
        Command::Credits(command) => client_cmd::credits(command),
        Command::Device(command) => client_cmd::device(command),
        Command::Rewards(command) => client_cmd::rewards(command),
        Command::Challenge(command) => challenge_cmd::challenge(command),
        Command::Chain(command) => client_cmd::chain(command),
        Command::VerifyProof(args) => client_cmd::verify_proof(args),
        Command::Calc(command) => calc_cmd::run(command),
        Command::Agent(args) => agent_cmd::run(args),
        Command::Fleet(args) => fleet::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
