//! `groundwork dev`, `groundwork node` and `groundwork testnet`: running validators.

use crate::genesis_cmd::{local_params, write_network};
use crate::keys::load_key;
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_cryptography::Signer;
use groundwork_node::mempool::MempoolConfig;
use groundwork_node::rpc::RpcConfig;
use groundwork_node::service::{self, Endpoints, ServiceConfig};
use groundwork_primitives::Amount;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::keys::account_public_key_from_hex;
use groundwork_state::Genesis;
use serde::{Deserialize, Serialize};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

/// Epoch length of a new dev chain, in blocks (30 s at the default block time).
const DEV_EPOCH_BLOCKS: u64 = 30;

/// Price-oracle accounts of a dev chain, fed by a simulated oracle in the same process.
const DEV_ORACLES: u32 = 5;

/// Default JSON-RPC address of `groundwork dev`.
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8645";

fn load_genesis(path: &Path) -> Result<Genesis> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading genesis {}", path.display()))?;
    Genesis::from_toml(&text).with_context(|| format!("{} is not a valid genesis", path.display()))
}

/// Says so when the chain's genesis time is still ahead: no block can be made before it, so a
/// node started early waits, and should say for how long.
fn say_if_genesis_is_ahead(genesis: &Genesis) {
    let now = crate::clock::now_ms();
    if genesis.genesis_time_ms > now.saturating_add(1_000) {
        eprintln!(
            "waiting for the genesis time {} ({} from now): the chain makes its first block then",
            crate::clock::iso8601(genesis.genesis_time_ms),
            crate::clock::span(genesis.genesis_time_ms - now)
        );
    }
}

#[derive(Args)]
pub struct DevArgs {
    /// Where the chain keeps its genesis, keys and storage; created on first run.
    #[arg(long, default_value = "groundwork-dev")]
    data_dir: PathBuf,
    /// JSON-RPC address.
    #[arg(long, default_value = DEFAULT_RPC_ADDR)]
    rpc_addr: SocketAddr,
    /// Prometheus metrics address (served at /metrics).
    #[arg(long, default_value = "127.0.0.1:8646")]
    metrics_addr: SocketAddr,
    /// p2p address (a dev chain has no peers, but the network still listens).
    #[arg(long, default_value = "127.0.0.1:8647")]
    p2p_addr: SocketAddr,
    /// Least time between blocks in milliseconds; 0 makes blocks as fast as consensus allows.
    #[arg(long, default_value_t = 1_000)]
    block_time: u64,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
    /// Log format: text for people, json (one object per line) for log collectors.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// JSON-RPC calls per second allowed from one IP address (bursts of twice that); 0 = no limit.
    #[arg(long, default_value_t = groundwork_node::rpc::DEFAULT_REQUESTS_PER_SECOND)]
    rpc_rate_limit: u32,
    /// JSON-RPC connections (HTTP and WebSocket) one IP address may hold open at once; more
    /// are answered with HTTP 429. The node holds at most 256 in all.
    #[arg(long, default_value_t = groundwork_node::rpc::DEFAULT_MAX_CONNECTIONS_PER_IP,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(groundwork_node::rpc::DEFAULT_MAX_CONNECTIONS)))]
    rpc_connections_per_ip: u32,
    /// Seconds a JSON-RPC connection may send nothing before it is closed (WebSocket clients
    /// are pinged, so live subscribers stay); at most a day.
    #[arg(long, value_name = "SECONDS", default_value_t = groundwork_node::rpc::DEFAULT_IDLE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=groundwork_node::rpc::MAX_IDLE_TIMEOUT.as_secs()))]
    rpc_idle_timeout: u64,
    /// Simulated devices to register and run in this process (several kinds, around real
    /// cities), owned by the dev account; 0 = none.
    #[arg(long, default_value_t = 0)]
    devices: u32,
    /// Seed of the simulated devices' keys and places.
    #[arg(long, default_value_t = 1)]
    fleet_seed: u64,
    /// Cheating wireless devices to add to the fleet (location spoofers, a co-located cluster,
    /// witness rings, RSSI inflaters); a watcher account then challenges what looks too loud.
    #[arg(long, default_value_t = 0)]
    cheaters: u32,
    /// With --cheaters: append each epoch's figures (the share of the cheaters' fair take
    /// withheld and the honest loss, by role, for the epoch and so far) to this file, one
    /// JSON object a line.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Do not run the simulated price oracles: the token's price goes stale after
    /// `oracle.max_age_blocks` and credits cannot be bought (for a quiet chain whose blocks
    /// carry only your own transactions).
    #[arg(long)]
    no_price_feed: bool,
}

/// The dev maker's account key and CA certificate, in the dev data dir.
const DEV_MAKER_KEY: &str = "dev-maker.key";
const DEV_MAKER_CA: &str = "dev-maker-ca.pem";

/// Creates a dev chain in `data_dir`: its genesis with short epochs, the validator, dev,
/// oracle and maker keys, and the dev maker's CA.
fn create_dev_chain(data_dir: &Path) -> Result<()> {
    // Short epochs, so the first rewards arrive within the first minute.
    let mut params = local_params("groundwork-dev", Some(DEV_EPOCH_BLOCKS))?;
    let balance = Amount(1_000_000 * 10u128.pow(u32::from(params.core.token_decimals)));
    // The dev maker: its account may revoke, its CA certifies the fleet's devices.
    let maker_key = crate::keys::random_key()?;
    let maker = crate::dev_maker::maker(&maker_key)?;
    params.attest = crate::dev_maker::genesis_section(&maker, key_address(&maker_key));
    write_network(data_dir, 1, params, balance, DEV_ORACLES, false)?;
    crate::keys::write_secret(
        &data_dir.join(DEV_MAKER_KEY),
        &groundwork_primitives::keyfile::write_key_file(
            &maker_key,
            groundwork_primitives::keyfile::ROLE_ACCOUNT,
        ),
    )?;
    let pem = groundwork_attest::der_to_pem(groundwork_attest::Which::Ca, maker.ca_der())?;
    fs::write(data_dir.join(DEV_MAKER_CA), pem).context("writing the dev maker's CA")?;
    // The dev account key is `account.key`; name it for what it is.
    fs::rename(
        data_dir.join("account.key"),
        data_dir.join("dev-account.key"),
    )
    .context("naming the dev account key")
}

/// The simulated fleet `--devices` and `--cheaters` ask for, if any.
fn plan_dev_fleet(args: &DevArgs) -> Result<Option<Vec<crate::sim::fleet::SimDevice>>> {
    if args.devices > crate::sim::fleet::MAX_FLEET_DEVICES {
        bail!(
            "--devices must be at most {}",
            crate::sim::fleet::MAX_FLEET_DEVICES
        );
    }
    if args.cheaters > crate::sim::fleet::MAX_FLEET_CHEATERS {
        bail!(
            "--cheaters must be at most {}",
            crate::sim::fleet::MAX_FLEET_CHEATERS
        );
    }
    if args.devices == 0 && args.cheaters == 0 {
        return Ok(None);
    }
    let mut fleet = crate::sim::fleet::plan(args.devices, args.fleet_seed)?;
    fleet.extend(crate::sim::fleet::plan_cheaters(
        args.cheaters,
        args.fleet_seed,
    )?);
    Ok(Some(fleet))
}

/// `groundwork dev`: one validator with a funded dev account.
pub fn dev(args: DevArgs) -> Result<()> {
    // Bad flags are refused before anything is written.
    let fleet = plan_dev_fleet(&args)?;
    let genesis_path = args.data_dir.join("genesis.toml");
    let first_run = !genesis_path.exists();
    if first_run {
        create_dev_chain(&args.data_dir)?;
    }
    let genesis = load_genesis(&genesis_path)?;
    say_if_genesis_is_ahead(&genesis);
    let signer = load_key(&args.data_dir.join("validator-0.key"))?;
    let account_path = args.data_dir.join("dev-account.key");
    let account = load_key(&account_path)?;
    let decimals = genesis.params.core.token_decimals;
    let symbol = genesis.params.core.token_symbol.clone();
    let balance = genesis
        .balances
        .iter()
        .find(|(a, _)| *a == key_address(&account))
        .map(|(_, b)| b.to_decimal_string(decimals))
        .unwrap_or_else(|| "0".to_string());
    let fleet_owner = account.clone();
    // The dev maker, on chains created with one: the fleet registers attested devices.
    let maker_path = args.data_dir.join(DEV_MAKER_KEY);
    let maker = if maker_path.exists() {
        Some(crate::dev_maker::maker(&load_key(&maker_path)?)?)
    } else {
        None
    };
    let fleet_seed = args.fleet_seed;
    // The simulated hotspots' service ports keep their co-signed vouchers here.
    let service_dir = args.data_dir.join("fleet-service");
    let figures_json = args.json.clone();
    // The oracle accounts this dev chain was created with (none on chains made before).
    let oracles = (0..DEV_ORACLES)
        .map(|i| args.data_dir.join(format!("oracle-{i}.key")))
        .filter(|path| !args.no_price_feed && path.exists())
        .map(|path| load_key(&path))
        .collect::<Result<Vec<_>>>()?;
    let data_dir = args.data_dir.clone();
    let chain_id = genesis.params.core.chain_id.to_string();
    let config = ServiceConfig {
        genesis,
        signer,
        data_dir: args.data_dir,
        p2p_listen: args.p2p_addr,
        p2p_dialable: args.p2p_addr,
        bootstrappers: Vec::new(),
        rpc_addr: args.rpc_addr,
        rpc: RpcConfig {
            requests_per_second: args.rpc_rate_limit,
            max_connections_per_ip: args.rpc_connections_per_ip,
            idle_timeout: Duration::from_secs(args.rpc_idle_timeout),
            ..RpcConfig::default()
        },
        metrics_addr: args.metrics_addr,
        block_time: Duration::from_millis(args.block_time),
        log_level: args.log_level,
        log_json: matches!(args.log_format, LogFormat::Json),
        mempool: MempoolConfig::default(),
    };
    service::run(config, move |endpoints: &Endpoints| {
        let verb = if first_run {
            "created"
        } else {
            "resumed at height"
        };
        let at = if first_run {
            String::new()
        } else {
            format!(" {}", endpoints.height)
        };
        println!("Groundwork dev chain {chain_id} {verb}{at}");
        println!("  RPC          http://{}", endpoints.rpc);
        println!("  metrics      http://{}/metrics", endpoints.metrics);
        println!("  data         {}", data_dir.display());
        println!(
            "  dev account  {} ({balance} {symbol} at genesis; key {})",
            key_address(&account),
            account_path.display()
        );
        if maker.is_some() {
            println!(
                "  maker        {} (key {DEV_MAKER_KEY}, CA {DEV_MAKER_CA}); the fleet's devices are attested",
                crate::dev_maker::DEV_MAKER_NAME
            );
        }
        if !oracles.is_empty() {
            println!(
                "  oracle       {} simulated price oracles (keys oracle-<i>.key); groundwork oracle show",
                oracles.len()
            );
        }
        println!("Press Ctrl-C to stop; run again with the same --data-dir to resume.");
        if !oracles.is_empty() {
            start_oracle(endpoints.rpc, oracles, fleet_seed);
        }
        if let Some(fleet) = fleet {
            start_fleet(
                endpoints.rpc,
                fleet_owner,
                fleet,
                fleet_seed,
                maker,
                service_dir,
                figures_json,
            );
        }
    })?;
    Ok(())
}

/// Runs the simulated price oracle on its own thread, for as long as the process.
fn start_oracle(rpc: SocketAddr, oracles: Vec<groundwork_primitives::AccountKey>, seed: u64) {
    std::thread::spawn(move || {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let result =
            crate::rpc_client::RpcClient::new(&format!("http://{rpc}"), Duration::from_secs(30))
                .and_then(|client| crate::sim::oracle_feed::run(&client, &oracles, seed, &stop));
        if let Err(error) = result {
            eprintln!("oracle stopped: {error:#}");
        }
    });
}

/// Runs the simulated fleet on its own thread, talking to this node's RPC. It lives as long
/// as the process.
fn start_fleet(
    rpc: SocketAddr,
    owner: groundwork_primitives::AccountKey,
    fleet: Vec<crate::sim::fleet::SimDevice>,
    seed: u64,
    maker: Option<groundwork_attest::issue::Maker>,
    service_dir: PathBuf,
    figures_json: Option<PathBuf>,
) {
    std::thread::spawn(move || {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let result =
            crate::rpc_client::RpcClient::new(&format!("http://{rpc}"), Duration::from_secs(30))
                .and_then(|client| {
                    crate::sim::fleet::drive(
                        &client,
                        &owner,
                        &fleet,
                        crate::sim::fleet::FleetOptions {
                            seed,
                            maker: maker.as_ref(),
                            service_dir,
                            figures_json,
                        },
                        &stop,
                    )
                });
        if let Err(error) = result {
            eprintln!("fleet stopped: {error:#}");
        }
    });
}

/// A validator's configuration file (`groundwork node --config FILE`). Relative paths are
/// relative to the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// The chain's genesis file.
    pub genesis: PathBuf,
    /// This validator's key file.
    pub key: PathBuf,
    /// Where this validator keeps its storage.
    pub data_dir: PathBuf,
    /// Address to listen on for peers.
    pub p2p_listen: SocketAddr,
    /// Address peers should dial (defaults to `p2p_listen`).
    #[serde(default)]
    pub p2p_dialable: Option<SocketAddr>,
    pub rpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Least time between blocks in milliseconds.
    #[serde(default = "default_block_time")]
    pub block_time_ms: u64,
    /// JSON-RPC calls per second allowed from one IP address; 0 = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_requests_per_second: Option<u32>,
    /// Peers to contact first: other validators' keys and p2p addresses.
    #[serde(default)]
    pub bootstrappers: Vec<BootstrapperEntry>,
}

fn default_block_time() -> u64 {
    1_000
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapperEntry {
    pub public_key: String,
    pub address: SocketAddr,
}

/// How a node writes its logs (to stderr).
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct NodeArgs {
    /// The validator's configuration file (TOML); `groundwork testnet` writes examples.
    #[arg(long)]
    config: PathBuf,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: tracing::Level,
    /// Log format: text for people, json (one object per line) for log collectors.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// `groundwork node --config FILE`.
pub fn node(args: NodeArgs) -> Result<()> {
    let text = fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let file: NodeFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid node config", args.config.display()))?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let genesis = load_genesis(&base.join(&file.genesis))?;
    say_if_genesis_is_ahead(&genesis);
    let signer = load_key(&base.join(&file.key))?;
    if !genesis.validators.contains(&signer.public_key()) {
        bail!(
            "{} is not a validator key of this genesis",
            file.key.display()
        );
    }
    let mut bootstrappers = Vec::new();
    for (i, entry) in file.bootstrappers.iter().enumerate() {
        let key = account_public_key_from_hex(&entry.public_key)
            .with_context(|| format!("bootstrappers[{i}].public_key"))?;
        bootstrappers.push((key, entry.address));
    }
    let config = ServiceConfig {
        genesis,
        signer,
        data_dir: base.join(&file.data_dir),
        p2p_listen: file.p2p_listen,
        p2p_dialable: file.p2p_dialable.unwrap_or(file.p2p_listen),
        bootstrappers,
        rpc_addr: file.rpc_addr,
        rpc: RpcConfig {
            requests_per_second: file
                .rpc_requests_per_second
                .unwrap_or(groundwork_node::rpc::DEFAULT_REQUESTS_PER_SECOND),
            ..RpcConfig::default()
        },
        metrics_addr: file.metrics_addr,
        block_time: Duration::from_millis(file.block_time_ms),
        log_level: args.log_level,
        log_json: matches!(args.log_format, LogFormat::Json),
        mempool: MempoolConfig::default(),
    };
    service::run(config, |endpoints: &Endpoints| {
        println!(
            "validator ready at height {}: RPC http://{}, metrics http://{}/metrics",
            endpoints.height, endpoints.rpc, endpoints.metrics
        );
    })?;
    Ok(())
}

#[derive(Args)]
pub struct TestnetArgs {
    /// Number of validators (1 to 32).
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Directory for genesis, keys, configs, logs and storage; reused if it exists.
    #[arg(long, default_value = "groundwork-testnet")]
    dir: PathBuf,
    /// First port: validator i uses p2p base+i, RPC base+100+i, metrics base+200+i.
    #[arg(long, default_value_t = 9_100)]
    base_port: u16,
    /// Least time between blocks in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    block_time: u64,
}

/// `groundwork testnet`: N validator processes on loopback.
pub fn testnet(args: TestnetArgs) -> Result<()> {
    if args.validators == 0 || args.validators > 32 {
        bail!(
            "--validators must be between 1 and 32, got {}",
            args.validators
        );
    }
    let n = args.validators as u16;
    if args.base_port.checked_add(200 + n).is_none() {
        bail!(
            "--base-port {} leaves no room for {} validators",
            args.base_port,
            n
        );
    }
    let genesis_path = args.dir.join("genesis.toml");
    if !genesis_path.exists() {
        let params = local_params("groundwork-testnet", None)?;
        let balance = Amount(1_000_000 * 10u128.pow(u32::from(params.core.token_decimals)));
        write_network(&args.dir, args.validators, params, balance, 0, false)?;
    }
    let genesis = load_genesis(&genesis_path)?;
    if genesis.validators.len() != usize::from(n) {
        bail!(
            "{} has {} validators, not {}; use another --dir",
            genesis_path.display(),
            genesis.validators.len(),
            n
        );
    }
    let address = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let bootstrappers: Vec<BootstrapperEntry> = (0..n)
        .map(|i| BootstrapperEntry {
            public_key: hex::encode(genesis.validators[usize::from(i)].as_ref()),
            address: address(args.base_port + i),
        })
        .collect();
    let exe = std::env::current_exe().context("locating the groundwork binary")?;
    let mut children: Vec<(u16, Child)> = Vec::new();
    for i in 0..n {
        let file = NodeFile {
            genesis: PathBuf::from("genesis.toml"),
            key: PathBuf::from(format!("validator-{i}.key")),
            data_dir: PathBuf::from(format!("validator-{i}")),
            p2p_listen: address(args.base_port + i),
            p2p_dialable: None,
            rpc_addr: address(args.base_port + 100 + i),
            metrics_addr: address(args.base_port + 200 + i),
            block_time_ms: args.block_time,
            rpc_requests_per_second: None,
            bootstrappers: bootstrappers
                .iter()
                .map(|b| BootstrapperEntry {
                    public_key: b.public_key.clone(),
                    address: b.address,
                })
                .collect(),
        };
        let config_path = args.dir.join(format!("node-{i}.toml"));
        fs::write(
            &config_path,
            toml::to_string(&file).context("writing node config")?,
        )
        .with_context(|| format!("writing {}", config_path.display()))?;
        let log = fs::File::create(args.dir.join(format!("node-{i}.log")))
            .context("creating node log")?;
        let child = Process::new(&exe)
            .arg("node")
            .arg("--config")
            .arg(&config_path)
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting validator {i}"))?;
        children.push((i, child));
    }
    println!(
        "Testnet of {n} validators in {} (logs: node-<i>.log)",
        args.dir.display()
    );
    for (i, child) in &children {
        println!(
            "  validator {i}: pid {}, RPC http://{}",
            child.id(),
            address(args.base_port + 100 + i)
        );
    }
    println!("Press Ctrl-C to stop them all.");
    wait_and_stop(children)
}

/// Says once for each validator that stopped on its own how it ended, so a testnet never
/// looks healthy with a validator gone.
fn report_stopped(children: &mut [(u16, Child)], reported: &mut [bool]) {
    for ((i, child), told) in children.iter_mut().zip(reported.iter_mut()) {
        if *told {
            continue;
        }
        if let Ok(Some(status)) = child.try_wait() {
            *told = true;
            let how = match (
                status.code(),
                std::os::unix::process::ExitStatusExt::signal(&status),
            ) {
                (Some(code), _) => format!("exited with status {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                (None, None) => "stopped".to_string(),
            };
            println!(
                "validator {i} (pid {}) {how}; see node-{i}.log. The network keeps going while more than two thirds of the validators run.",
                child.id()
            );
        }
    }
}

fn wait_and_stop(mut children: Vec<(u16, Child)>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let mut reported = vec![false; children.len()];
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                _ = tick.tick() => report_stopped(&mut children, &mut reported),
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    for (i, child) in &mut children {
        #[cfg(unix)]
        {
            // SIGTERM lets each validator stop cleanly.
            let _ = Process::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
        }
        let _ = i;
    }
    std::thread::sleep(Duration::from_secs(2));
    for (i, child) in &mut children {
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
        }
        let _ = child.wait();
        println!("validator {i} stopped");
    }
    Ok(())
}
