//! The `groundwork` binary. Thin: parses the command line and hands off to one module per
//! command family.

mod agent_cmd;
mod bench_cmd;
mod bench_compute;
mod bench_storage;
mod bench_usage;
mod bench_witness;
mod calc_cmd;
mod client_cmd;
mod clock;
mod compute_cmd;
mod compute_worker;
mod dev_maker;
mod genesis_cmd;
mod keys;
mod keys_cmd;
mod memchain;
mod node_cmd;
mod rpc_client;
mod service_port;
mod sim;
mod storage_port;

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
    #[command(
        after_help = "Examples:\n  groundwork dev --devices 200\n  groundwork dev --devices 200 --cheaters 50\n  groundwork dev --data-dir ./devchain --block-time 500"
    )]
    Dev(node_cmd::DevArgs),
    /// Run one validator of a network from its configuration file.
    #[command(after_help = "Example:\n  groundwork node --config ./groundwork-testnet/node-0.toml")]
    Node(node_cmd::NodeArgs),
    /// Start a network of validators on this machine, one process each.
    #[command(after_help = "Example:\n  groundwork testnet --validators 4 --dir ./testnet")]
    Testnet(node_cmd::TestnetArgs),
    /// Create and check genesis files.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork genesis new --validators 4 --out ./net\n  groundwork genesis check ./net/genesis.toml"
    )]
    Genesis(genesis_cmd::GenesisCommand),
    /// Manage keys: an encrypted keystore, PKCS#8 PEM and BIP39 mnemonics.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork keys new --name alice\n  groundwork keys import --name hotspot --pem hotspot.pem\n  groundwork keys list"
    )]
    Keys(keys_cmd::KeysCommand),
    /// Accounts: balances and transfers.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork account show --key alice\n  groundwork account transfer --key alice --to gw1… --amount 12.5"
    )]
    Account(client_cmd::AccountCommand),
    /// Data credits: burn tokens for credits at their USD price; the credit ledger.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork credits buy --key alice --credits 100000\n  groundwork credits show"
    )]
    Credits(client_cmd::CreditsCommand),
    /// The token's USD price: oracle accounts submit it; anyone reads the median and average.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork oracle show\n  groundwork oracle submit --key oracle-0 --usd 2.4871"
    )]
    Oracle(client_cmd::OracleCommand),
    /// A device's offer: credits per unit of its service, and the longest session.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork offer set --key alice --device gwd1… --price 1 --max-blocks 600\n  groundwork offer show gwd1…"
    )]
    Offer(client_cmd::OfferCommand),
    /// Metered usage sessions: open with escrowed credits, pay by vouchers both sides sign,
    /// settle, close (docs/usage.md).
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork session open --key customer --device gwd1… --credits 5000 --blocks 300\n  groundwork session pay --key customer --session 9d41…0a --units 120 > voucher.json\n  groundwork session settle --key customer --voucher signed.json"
    )]
    Session(client_cmd::SessionCommand),
    /// Storage: providers' capacity, files stored with several providers and proven every
    /// period, fetched back verified (docs/storage.md).
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork storage put photo.tar --key alice --providers 3 --periods 30\n  groundwork storage get 5be1…c2 --out photo.tar\n  groundwork storage show 5be1…c2"
    )]
    Storage(client_cmd::StorageCommand),
    /// Devices: register, inspect, move, hand over and retire.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork device register --key alice --device-key hotspot.pem --kind wireless --lat 52.52 --lng 13.405\n  groundwork device list --owner gw1…"
    )]
    Device(client_cmd::DeviceCommand),
    /// Maker attestation: the chain's makers, a device's certificate, presenting and
    /// revoking one.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork attest makers\n  groundwork attest show gwd1…\n  groundwork attest revoke --key dev-maker.key --serial 3f09a1c4d2e8b701"
    )]
    Attest(client_cmd::AttestCommand),
    /// Rewards: what a device was paid, and why.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork rewards show --device gwd1… --epoch 3\n  groundwork rewards explain --device gwd1… --epoch 3"
    )]
    Rewards(client_cmd::RewardsCommand),
    /// Location challenges: post one with evidence, answer one, follow one.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork challenge list --device gwd1…\n  groundwork challenge show 9d41…0a"
    )]
    Challenge(client_cmd::ChallengeCommand),
    /// The chain: status, blocks and state proofs.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork chain status\n  groundwork chain block 42\n  groundwork chain verify-proof proof.json --root 3fda…e49b"
    )]
    Chain(client_cmd::ChainCommand),
    /// The same as `groundwork chain verify-proof`, under its earlier name.
    #[command(hide = true)]
    VerifyProof(client_cmd::VerifyProofArgs),
    /// Deterministic WebAssembly jobs: offer a device's work, run a job on the network with
    /// its results verified by redundancy, spot checks and referees, follow or dispute it, or
    /// run one locally exactly as a provider does (docs/compute.md).
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork compute run --key alice --module examples/render.wat --input examples/scene.toml --tasks 16 --fuel 100000000 --out frame.png\n  groundwork compute exec --module examples/hashchain.wat --input data.bin --fuel 10000000"
    )]
    Compute(compute_cmd::ComputeCommand),
    /// Coverage math offline: path loss, signal, distance, reward units, density.
    ///
    /// Computed by the same code as the chain.
    #[command(after_help = "Example:\n  groundwork calc reward-units --witnesses 5")]
    #[command(subcommand)]
    Calc(calc_cmd::CalcCommand),
    /// Run the agent of one device: signed heartbeats on schedule, queued on disk while the
    /// node is unreachable.
    #[command(after_help = "Example:\n  groundwork agent --config agent.toml")]
    Agent(agent_cmd::AgentArgs),
    /// Run a simulated fleet of devices against a node.
    #[command(
        after_help = "Example:\n  groundwork fleet --rpc http://127.0.0.1:8645 --devices 200 --key dev-account.key"
    )]
    Fleet(sim::fleet::FleetArgs),
    /// Measure the node on this machine.
    #[command(
        subcommand,
        after_help = "Examples:\n  groundwork bench ingest --devices 20000 --seconds 30\n  groundwork bench witness"
    )]
    Bench(bench_cmd::BenchCommand),
}

fn main() -> ExitCode {
    // With --json, a failure is JSON too, on stdout where the answer would have been (and in
    // words on stderr, as always).
    let json = std::env::args().any(|arg| arg == "--json");
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
        Command::Oracle(command) => client_cmd::oracle(command),
        Command::Offer(command) => client_cmd::offer(command),
        Command::Session(command) => client_cmd::session(command),
        Command::Storage(command) => client_cmd::storage(command),
        Command::Device(command) => client_cmd::device(command),
        Command::Attest(command) => client_cmd::attest(command),
        Command::Rewards(command) => client_cmd::rewards(command),
        Command::Challenge(command) => client_cmd::challenge(command),
        Command::Chain(command) => client_cmd::chain(command),
        Command::VerifyProof(args) => client_cmd::verify_proof(args),
        Command::Calc(command) => calc_cmd::run(command),
        Command::Compute(command) => compute_cmd::run(command),
        Command::Agent(args) => agent_cmd::run(args),
        Command::Fleet(args) => sim::fleet::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if json {
                println!("{}", serde_json::json!({ "error": format!("{error:#}") }));
            }
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
