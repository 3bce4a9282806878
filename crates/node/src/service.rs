//! Runs a validator as a process: the tokio runtime, authenticated p2p (discovery), the
//! consensus engine, the JSON-RPC server, logs and Prometheus metrics. This is the only module
//! that touches tokio directly.

use crate::engine::{self, Channels, NodeConfig, channel};
use crate::mempool::MempoolConfig;
use crate::rpc;
use commonware_cryptography::{ChaCha20Poly1305, Signer, ed25519};
use commonware_p2p::Manager;
use commonware_p2p::authenticated::discovery;
use commonware_runtime::tokio as runtime;
use commonware_runtime::{Quota, Runner, Supervisor};
use commonware_stream::{cups, cups::Cups, sake, sake::Sake};
use commonware_utils::ordered::Set;
use commonware_utils::{NZU32, NZUsize};
use groundwork_state::Genesis;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Namespace of p2p handshakes; the chain id is appended.
const P2P_NAMESPACE: &str = "groundwork/p2p/";

/// Everything a validator process needs.
#[derive(Clone)]
pub struct ServiceConfig {
    pub genesis: Genesis,
    pub signer: ed25519::PrivateKey,
    pub data_dir: PathBuf,
    pub p2p_listen: SocketAddr,
    pub p2p_dialable: SocketAddr,
    pub bootstrappers: Vec<(ed25519::PublicKey, SocketAddr)>,
    pub rpc_addr: SocketAddr,
    pub rpc: rpc::RpcConfig,
    pub metrics_addr: SocketAddr,
    pub block_time: Duration,
    pub log_level: tracing::Level,
    /// One JSON object per log line instead of text.
    pub log_json: bool,
    pub mempool: MempoolConfig,
}

/// Where a started validator can be reached.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub rpc: SocketAddr,
    pub metrics: SocketAddr,
    pub p2p: SocketAddr,
    pub height: u64,
}

/// Why a validator process could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot use {what} address {address}")]
    Bind {
        what: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Node(#[from] engine::NodeError),
    #[error("cannot create data directory {path}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "data directory {path} is in use by {holder}; stop that node first, or give this one another --data-dir"
    )]
    DataDirInUse { path: PathBuf, holder: String },
    #[error("cannot write to the data directory: {path}")]
    DataDirUnwritable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why the data directory cannot take writes now, if it cannot: found by writing a small
/// probe file, so it names what the operating system says.
fn unwritable(data_dir: &std::path::Path) -> Option<&'static str> {
    let probe = data_dir.join(".write-probe");
    let result = std::fs::write(&probe, [0u8; 4096]);
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::StorageFull => Some("disk full"),
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            Some("read-only file system")
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Some("permission denied"),
        Err(_) => Some("write failed"),
    }
}

/// Storage code below us (consensus journals, the state store) stops the process with a
/// panic when a write fails. When that is because the data directory cannot take writes —
/// the disk is full, or it became read-only — say so in one line and exit with status 1:
/// what was committed before is on disk, and the node resumes from it once there is room.
/// Any other panic is a bug and keeps the default report.
fn stop_cleanly_on_storage_faults(data_dir: PathBuf) {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(cause) = unwritable(&data_dir) {
            eprintln!(
                "error: the node stopped: it cannot write to its data directory {} ({cause}). \
                 Everything committed before is safe; make room (or make it writable) and start \
                 the node again to resume.",
                data_dir.display()
            );
            std::process::exit(1);
        }
        default(info);
    }));
}

/// Name of the file in a data directory that the running node holds locked.
const LOCK_FILE: &str = "LOCK";

/// Takes the data directory's lock for as long as the returned file is open, and writes this
/// process's id into it so a second node can say who holds it. The lock is the operating
/// system's (flock), so a node that dies, however it dies, leaves nothing to clean up.
fn lock_data_dir(data_dir: &std::path::Path) -> Result<std::fs::File, ServiceError> {
    use std::io::{Read, Seek, Write};
    let path = data_dir.join(LOCK_FILE);
    let io_error = |source| ServiceError::DataDirUnwritable {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let holder = match text.trim().parse::<u32>() {
                Ok(pid) => format!("process {pid}"),
                Err(_) => "another process".to_string(),
            };
            return Err(ServiceError::DataDirInUse {
                path: data_dir.to_path_buf(),
                holder,
            });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(io_error(source)),
    }
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    writeln!(file, "{}", std::process::id()).map_err(io_error)?;
    Ok(file)
}

fn check_free(what: &'static str, address: SocketAddr) -> Result<(), ServiceError> {
    std::net::TcpListener::bind(address)
        .map(drop)
        .map_err(|source| ServiceError::Bind {
            what,
            address,
            source,
        })
}

/// Runs a validator until Ctrl-C or SIGTERM. `on_ready` is called once the node serves RPC.
pub fn run(
    config: ServiceConfig,
    on_ready: impl FnOnce(&Endpoints) + Send + 'static,
) -> Result<(), ServiceError> {
    // Keeping the sender alive means only signals stop the node.
    let (_keep, stop) = tokio::sync::oneshot::channel();
    run_until(config, on_ready, stop)
}

/// Like [`run`], and also stops when `stop` fires or its sender is dropped.
pub fn run_until(
    config: ServiceConfig,
    on_ready: impl FnOnce(&Endpoints) + Send + 'static,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), ServiceError> {
    let storage = config.data_dir.join("storage");
    std::fs::create_dir_all(&storage).map_err(|source| ServiceError::DataDir {
        path: storage.clone(),
        source,
    })?;
    // Held until this function returns: one node per data directory.
    let _lock = lock_data_dir(&config.data_dir)?;
    stop_cleanly_on_storage_faults(config.data_dir.clone());
    check_free("p2p", config.p2p_listen)?;
    check_free("metrics", config.metrics_addr)?;
    let runner = runtime::Runner::new(
        runtime::Config::new()
            .with_storage_directory(storage)
            .with_worker_threads(2)
            .with_catch_panics(false),
    );
    runner.start(|context| async move {
        crate::telemetry::init_logs(config.log_level, config.log_json);
        let extra_metrics: crate::telemetry::ExtraMetrics = Arc::default();
        crate::telemetry::serve_metrics(
            context.child("metrics"),
            config.metrics_addr,
            extra_metrics.clone(),
        );
        let validators = config.genesis.validators.clone();
        let participants =
            Set::try_from(validators.clone()).map_err(engine::NodeError::ValidatorSet)?;
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: config.signer.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let namespace = format!("{P2P_NAMESPACE}{}", config.genesis.params.core.chain_id);
        let bootstrappers = config
            .bootstrappers
            .iter()
            .filter(|(key, _)| *key != config.signer.public_key())
            .map(|(k, a)| (k.clone(), (*a).into()))
            .collect();
        let p2p = discovery::Config::local(
            handshake,
            namespace.as_bytes(),
            config.p2p_listen,
            config.p2p_dialable,
            bootstrappers,
            NZUsize!(validators.len().max(1)),
            engine::max_message_size(validators.len()),
            NZUsize!(4_096),
        );
        let (mut network, mut oracle) = discovery::Network::new(context.child("p2p"), p2p);
        let _ = oracle.track(0, participants);
        // Per peer and channel. Channel capacities are sized from this, so keep it modest:
        // transactions travel in batches and consensus sends a few messages per view.
        let quota = Quota::per_second(NZU32!(1_024));
        let channels =
            Channels::from_registered(channel::ALL.map(|ch| network.register(ch, quota)));
        let _network = network.start();
        let node_config = NodeConfig {
            genesis: config.genesis.clone(),
            signer: config.signer.clone(),
            partition_prefix: "validator".to_string(),
            block_time: config.block_time,
            mempool: config.mempool,
        };
        let node = engine::start(
            context.child("node"),
            node_config,
            oracle.clone(),
            oracle,
            channels,
        )
        .await?;
        let (rpc_bound, _rpc, rpc_stats) = rpc::serve(
            config.rpc_addr,
            config.rpc,
            node.chain.clone(),
            node.marshal.clone(),
            node.prover.clone(),
        )
        .await
        .map_err(|source| ServiceError::Bind {
            what: "RPC",
            address: config.rpc_addr,
            source,
        })?;
        let chain = node.chain.clone();
        let _ = extra_metrics.set(Box::new(move || {
            crate::telemetry::node_metrics(&chain, &rpc_stats)
        }));
        on_ready(&Endpoints {
            rpc: rpc_bound,
            metrics: config.metrics_addr,
            p2p: config.p2p_listen,
            height: node.chain.tip().height,
        });
        tokio::select! {
            _ = wait_for_shutdown() => {},
            _ = stop => {},
        }
        tracing::info!(height = node.chain.tip().height, "shutting down");
        Ok(())
    })
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
