//! JSON-RPC 2.0 over HTTP and WebSocket on one port (jsonrpsee). Every method, with an example,
//! is in `docs/rpc.md`.
//!
//! Parameters are positional (`[a, b]`, in the documented order) or named (`{"a": …}`).
//! Amounts are decimal strings of base units, so no client ever rounds through a float.
//! Errors carry a stable numeric code (see [`code`]) and a message naming the bad field.
//!
//! Limits: request and response size, connections, calls per batch, and a per-IP call rate
//! ([`crate::rpc_limit`]). The accept loop is ours rather than jsonrpsee's so that each
//! connection's middleware knows the client's address.

mod account;
mod attest;
mod chain;
mod challenges;
mod compute;
mod coverage;
mod credits;
mod device;
pub(crate) mod errors;
mod oracle;
mod params;
mod rewards;
mod storage;
mod tx;
mod usage;

use errors::*;
use params::*;

use crate::chain::{BlockSummary, Chain};
use crate::engine::MarshalMailbox;
use crate::executor::Prover;
use crate::proof::ProofError;
use crate::rpc_limit::{ConnectionLimiter, RateLimitLayer, RateLimiter, Watched};
use crate::rpc_shape::JsonRpcRulesLayer;
use crate::rpc_stats::RpcStats;
use commonware_consensus::types::Height;
use groundwork_api as api;
use groundwork_api::BaseUnits;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::{Address, DeviceId, ResourceKind, Transaction};
use groundwork_state::challenge::{Challenge, ChallengeStatus};
use groundwork_state::coverage::{self as coverage_rules, CoverageExplanation, CoverageSummary};
use groundwork_state::{Device, DeviceStatus, EpochSummary, RewardRecord};
use groundwork_state::{State, TxError, account_key, device_key};
use h3o::CellIndex;
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, PingConfig, RpcModule, Server, ServerConfig,
    ServerHandle, SubscriptionSink, serve_with_graceful_shutdown, stop_channel,
};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted, in bytes: a full `tx_submitBatch` of the largest
/// transactions in hex, with room for JSON.
pub const DEFAULT_MAX_REQUEST_BYTES: u32 = 2 * 1_024 * 1_024 + 64 * 1_024;

/// Largest response body, in bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = 16 * 1_024 * 1_024;

/// Most simultaneous connections (HTTP and WebSocket together).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 256;

/// Most simultaneous connections from one client IP: an eighth of the total, so one address
/// can never lock the others out.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 32;

/// A connection from which no byte arrives for this long is closed. WebSocket clients are
/// pinged three times per timeout, so a live subscriber (whose library answers pings) is
/// never idle, even between epochs; a client that only holds a socket open is.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest idle timeout a node accepts (a day).
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(86_400);

const _: () = assert!(DEFAULT_MAX_CONNECTIONS_PER_IP < DEFAULT_MAX_CONNECTIONS);

/// Most calls in one batch.
pub const DEFAULT_MAX_BATCH: u32 = 64;

/// Calls per second per client IP, sustained; bursts of twice this are allowed.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 500;

/// Most transactions in one `tx_submitBatch`.
pub const MAX_SUBMIT_BATCH: usize = 1_024;

/// Most subscriptions one WebSocket connection may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 16;

/// Default and largest page of `device_list`.
pub const DEFAULT_DEVICE_PAGE: usize = 100;

pub const MAX_DEVICE_PAGE: usize = 1_000;

const _: () = assert!(
    (DEFAULT_MAX_REQUEST_BYTES as usize)
        > MAX_SUBMIT_BATCH * (2 * groundwork_primitives::limits::MAX_TRANSACTION_BYTES + 8)
);

/// Error codes. Stable: never renumbered.
pub mod code {
    /// A parameter is missing, of the wrong type, or malformed (standard JSON-RPC code).
    pub const INVALID_PARAMS: i32 = -32602;
    /// The requested block, transaction, device, reward or state entry is not known.
    pub const NOT_FOUND: i32 = 4_004;
    /// The client sent calls faster than its per-IP rate allows.
    pub const RATE_LIMITED: i32 = 4_029;
    /// The node cannot answer right now (shutting down, store failure).
    pub const UNAVAILABLE: i32 = 4_503;
    /// The mempool refused a transaction; the reason's own code is added: 4_000 + code.
    pub const TRANSACTION_REFUSED_BASE: i32 = 4_000;
    /// Against the latest state no block could carry the transaction (it cannot pay its fee,
    /// is outside its validity window, or is a device report that fails); the state machine's
    /// rejection code is added: 5_000 + code (docs/state.md). Nothing was charged.
    pub const TRANSACTION_UNINCLUDABLE_BASE: i32 = 5_000;
    /// A quote (`credits_quote`) the state machine would refuse: 6_000 + the rejection code a
    /// transaction asking the same would get.
    pub const QUOTE_REFUSED_BASE: i32 = 6_000;
}

/// Server limits.
#[derive(Clone, Copy, Debug)]
pub struct RpcConfig {
    pub max_request_bytes: u32,
    pub max_response_bytes: u32,
    pub max_connections: u32,
    pub max_connections_per_ip: u32,
    pub idle_timeout: Duration,
    pub max_batch: u32,
    /// Calls per second per client IP; 0 = unlimited.
    pub requests_per_second: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_batch: DEFAULT_MAX_BATCH,
            requests_per_second: DEFAULT_REQUESTS_PER_SECOND,
        }
    }
}

pub(crate) struct RpcState {
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
    prover: Prover,
}

pub(crate) type RpcResult<T = Value> = Result<T, ErrorObjectOwned>;

/// Every method, one file per namespace. Method names are `<namespace>_<verb>`; the names of
/// earlier releases stay as aliases.
fn module(state: RpcState) -> Result<RpcModule<RpcState>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::new(state);
    chain::register(&mut module)?;
    tx::register(&mut module)?;
    account::register(&mut module)?;
    device::register(&mut module)?;
    rewards::register(&mut module)?;
    coverage::register(&mut module)?;
    challenges::register(&mut module)?;
    oracle::register(&mut module)?;
    credits::register(&mut module)?;
    usage::register(&mut module)?;
    storage::register(&mut module)?;
    compute::register(&mut module)?;
    attest::register(&mut module)?;
    Ok(module)
}

/// A node whose newest executed block is older than this is catching up.
const SYNCING_AFTER_MS: u64 = 30_000;

/// `GET /health`: the executed height and whether the node is catching up (its newest block is
/// more than 30 s old by this machine's clock).
fn health(chain: Arc<Chain>) -> crate::rpc_shape::Health {
    Arc::new(move || {
        let tip = chain.tip();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let behind_ms = now_ms.saturating_sub(tip.timestamp_ms);
        let syncing = behind_ms > SYNCING_AFTER_MS;
        let body = json!({
            "status": if syncing { "syncing" } else { "ok" },
            "height": tip.height,
            "syncing": syncing,
            "last_block_age_ms": behind_ms,
        });
        (body, !syncing)
    })
}

/// Answers a connection over its address's limit with HTTP 429 and closes it.
async fn refuse_connection(mut socket: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    const BODY: &str = "too many open connections from this address; close some and retry\n";
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    // Answer, close our side, and read what the client sent, so the kernel closes the
    // connection gently instead of resetting it before the client has read the 429.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        use tokio::io::AsyncReadExt;
        socket.write_all(answer.as_bytes()).await?;
        socket.shutdown().await?;
        let mut sink = [0u8; 4_096];
        while socket.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Starts the RPC server (HTTP and WebSocket on `address`); it runs until the handle is
/// stopped or the runtime ends.
pub async fn serve(
    address: SocketAddr,
    config: RpcConfig,
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
    prover: Prover,
) -> std::io::Result<(SocketAddr, ServerHandle, Arc<RpcStats>)> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval((config.idle_timeout / 3).max(Duration::from_millis(100)))
                .inactive_limit(config.idle_timeout)
                .max_failures(3),
        )
        .build();
    let builder = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(JsonRpcRulesLayer {
            max_request_bytes: config.max_request_bytes,
            health: health(chain.clone()),
        }))
        .to_service_builder();
    let methods = module(RpcState {
        chain,
        marshal,
        prover,
    })
    .map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let limiter = RateLimiter::new(config.requests_per_second);
    let connections = ConnectionLimiter::new(config.max_connections_per_ip);
    let stats = Arc::new(RpcStats::new(connections.clone()));
    let served_stats = stats.clone();
    let idle_timeout = config.idle_timeout;
    let (stop, handle) = stop_channel();
    tokio::spawn(async move {
        loop {
            let (socket, remote) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::debug!(%error, "RPC accept failed");
                        continue;
                    }
                },
                _ = stop.clone().shutdown() => break,
            };
            let Some(permit) = connections.try_open(remote.ip()) else {
                served_stats.refused_connection();
                tokio::spawn(refuse_connection(socket));
                continue;
            };
            let service = builder
                .clone()
                .set_rpc_middleware(RpcServiceBuilder::new().layer(RateLimitLayer {
                    limiter: limiter.clone(),
                    ip: remote.ip(),
                    stats: served_stats.clone(),
                }))
                .build(methods.clone(), stop.clone());
            tokio::spawn(serve_with_graceful_shutdown(
                Watched::new(socket, idle_timeout, permit),
                service,
                stop.clone().shutdown(),
            ));
        }
    });
    Ok((bound, handle, stats))
}
