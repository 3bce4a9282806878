//! The device agent's service port: HTTP where customers trade usage vouchers with the
//! device (docs/usage.md, docs/agent.md).
//!
//! - `GET /offer`: the device's offer, as the chain has it.
//! - `POST /voucher`: a voucher the customer signed (`groundwork session pay` prints one). The
//!   agent checks it against the session on chain (`groundwork_agent::usage::cosign`: this
//!   device's, still open, the units at the session's price, within the escrow, signed by the
//!   session's customer, and not below what it co-signed before), then co-signs it, keeps the latest per session on disk, and answers with
//!   the doubly signed voucher. Either party may settle it.
//! - `GET /vouchers`: the latest co-signed voucher of every session, for the device's owner to
//!   settle (`groundwork session settle`).
//!
//! - `/storage/…`: a storage device's shards, when the agent keeps some
//!   ([`crate::storage_port`]).
//!
//! A device serves the next increment only after the customer signed for the last one, so
//! what either side can lose is one increment.

use crate::rpc_client::RpcClient;
use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use groundwork_agent::usage::{self, Cosigned, Fault, VoucherRefusal};
use groundwork_api as api;
use groundwork_primitives::DeviceKey;
use groundwork_primitives::hash::digest_hex;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most sessions whose latest voucher the agent keeps.
const MAX_KEPT_SESSIONS: usize = 10_000;

struct Port {
    key: DeviceKey,
    rpc_url: String,
    store: PathBuf,
    /// Session id → the latest voucher co-signed for it.
    vouchers: Mutex<BTreeMap<String, api::SignedVoucher>>,
}

type Refusal = (StatusCode, Json<serde_json::Value>);

fn refuse(status: StatusCode, reason: impl Into<String>) -> Refusal {
    (status, Json(json!({ "error": reason.into() })))
}

/// Binds `listen` and serves the port on its own thread until the process ends; `store` keeps
/// the co-signed vouchers across restarts.
pub fn start(
    listen: SocketAddr,
    key: DeviceKey,
    rpc_url: String,
    store: PathBuf,
    storage: Option<Arc<crate::storage_port::StoragePort>>,
    compute: Option<Arc<crate::compute_worker::ComputeWorker>>,
) -> Result<SocketAddr> {
    let vouchers: BTreeMap<String, api::SignedVoucher> = match std::fs::read_to_string(&store) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not a voucher store", store.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", store.display())),
    };
    let listener = std::net::TcpListener::bind(listen)
        .with_context(|| format!("binding the service port {listen}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let port = Arc::new(Port {
        key,
        rpc_url,
        store,
        vouchers: Mutex::new(vouchers),
    });
    let mut app = Router::new()
        .route("/offer", get(offer))
        .route("/voucher", post(voucher))
        .route("/vouchers", get(list_vouchers))
        .with_state(port);
    if let Some(storage) = storage {
        app = app.merge(crate::storage_port::routes(storage));
    }
    if let Some(compute) = compute {
        app = app.merge(crate::compute_worker::routes(compute));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the service port's runtime")?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => {
                    if let Err(error) = axum::serve(listener, app).await {
                        eprintln!("service port stopped: {error}");
                    }
                }
                Err(error) => eprintln!("service port: {error}"),
            }
        });
    });
    Ok(bound)
}

/// Runs a blocking RPC call off the async thread.
async fn ask<T: Send + 'static>(
    port: &Arc<Port>,
    call: impl FnOnce(&RpcClient) -> Result<T, crate::rpc_client::CallError> + Send + 'static,
) -> Result<T, Refusal> {
    let url = port.rpc_url.clone();
    tokio::task::spawn_blocking(move || {
        let rpc = RpcClient::new(&url, Duration::from_secs(5))
            .map_err(|e| refuse(StatusCode::BAD_GATEWAY, format!("{e:#}")))?;
        call(&rpc).map_err(|e| match e {
            crate::rpc_client::CallError::Rpc {
                code: 4004,
                message,
            } => refuse(StatusCode::NOT_FOUND, message),
            other => refuse(StatusCode::BAD_GATEWAY, other.to_string()),
        })
    })
    .await
    .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

async fn offer(State(port): State<Arc<Port>>) -> Result<Json<api::Offer>, Refusal> {
    let id = port.key.id().to_string();
    ask(&port, move |rpc| rpc.get("usage_getOffer", json!([id])))
        .await
        .map(Json)
}

async fn list_vouchers(State(port): State<Arc<Port>>) -> Json<Vec<api::SignedVoucher>> {
    let kept = port.vouchers.lock().map(|v| v.values().cloned().collect());
    Json(kept.unwrap_or_default())
}

async fn voucher(
    State(port): State<Arc<Port>>,
    Json(offered): Json<api::SignedVoucher>,
) -> Result<Json<api::SignedVoucher>, Refusal> {
    let refused = |refusal: VoucherRefusal| {
        let status = match refusal.fault() {
            Fault::Request => StatusCode::BAD_REQUEST,
            Fault::Conflict => StatusCode::CONFLICT,
            Fault::Node => StatusCode::BAD_GATEWAY,
        };
        refuse(status, refusal.to_string())
    };
    let id = digest_hex(&usage::session_of(&offered).map_err(refused)?);
    let (record, chain) = ask(&port, move |rpc| {
        let record: api::Session = rpc.get("usage_getSession", json!({ "id": id }))?;
        Ok((record, rpc.status()?.chain_id))
    })
    .await?;
    let mut kept = port
        .vouchers
        .lock()
        .map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "voucher store poisoned"))?;
    let signed = match usage::cosign(&port.key, &chain, &record, kept.get(&record.id), &offered)
        .map_err(refused)?
    {
        Cosigned::Again(previous) => return Ok(Json(previous)),
        Cosigned::New(signed) => signed,
    };
    if !kept.contains_key(&record.id) && kept.len() >= MAX_KEPT_SESSIONS {
        return Err(refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many sessions kept",
        ));
    }
    kept.insert(record.id.clone(), signed.clone());
    // Written before answering, so a co-signed voucher survives a crash of the agent.
    let text = serde_json::to_string_pretty(&*kept)
        .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let temporary = port.store.with_extension("tmp");
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, &port.store))
        .map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storing the voucher: {e}"),
            )
        })?;
    Ok(Json(signed))
}
