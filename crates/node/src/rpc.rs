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

use crate::chain::{BlockSummary, Chain};
use crate::engine::MarshalMailbox;
use crate::executor::Prover;
use crate::proof::ProofError;
use crate::rpc_limit::{ConnectionLimiter, RateLimitLayer, RateLimiter, Watched};
use crate::rpc_shape::JsonRpcRulesLayer;
use commonware_consensus::types::Height;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::{Address, DeviceId, ResourceKind, Transaction};
use groundwork_state::challenge::{Challenge, ChallengeStatus};
use groundwork_state::coverage::{
    self, CoverageExplanation, MAX_FREQUENCY_DELTA_HZ, MAX_WITNESS_DISTANCE_M,
    MIN_GRID_DISTANCE_RES11,
};
use groundwork_state::{Account, Device, DeviceStatus, EpochSummary, RewardRecord};
use groundwork_state::{State, account_key, device_key};
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

struct RpcState {
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
    prover: Prover,
}

type RpcResult = Result<Value, ErrorObjectOwned>;

/// Longest error message, in bytes: a bad parameter is quoted, never echoed back whole.
const MAX_ERROR_MESSAGE_BYTES: usize = 300;

fn invalid(field: &str, reason: impl std::fmt::Display) -> ErrorObjectOwned {
    let mut message = format!("invalid `{field}`: {reason}");
    if message.len() > MAX_ERROR_MESSAGE_BYTES {
        let total = message.len();
        let mut cut = MAX_ERROR_MESSAGE_BYTES;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(&format!("… ({total} bytes in all)"));
    }
    ErrorObject::owned(code::INVALID_PARAMS, message, None::<()>)
}

/// Refuses parameters given to a method that takes none.
fn no_params(params: &Params<'_>) -> Result<(), ErrorObjectOwned> {
    match params.as_str().map(str::trim) {
        None | Some("[]") | Some("{}") | Some("null") => Ok(()),
        Some(_) => Err(ErrorObject::owned(
            code::INVALID_PARAMS,
            "this method takes no parameters: send [] or leave them out",
            None::<()>,
        )),
    }
}

fn not_found(what: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(code::NOT_FOUND, what.to_string(), None::<()>)
}

/// The call's parameters by name: positional ones take `names` in order, named ones must be
/// among `names`. Absent parameters are simply missing from the map.
fn named(params: &Params<'_>, names: &[&str]) -> Result<Map<String, Value>, ErrorObjectOwned> {
    let expected = || format!("expected [{}] or {{\"name\": value}}", names.join(", "));
    let value: Value = if params.as_str().is_none() {
        Value::Array(Vec::new())
    } else {
        params
            .parse::<Value>()
            .map_err(|_| invalid("params", expected()))?
    };
    match value {
        Value::Array(items) => {
            if items.len() > names.len() {
                return Err(invalid(
                    "params",
                    format!(
                        "{} given, at most {}: {}",
                        items.len(),
                        names.len(),
                        expected()
                    ),
                ));
            }
            Ok(names
                .iter()
                .zip(items)
                .filter(|(_, v)| !v.is_null())
                .map(|(n, v)| (n.to_string(), v))
                .collect())
        }
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(invalid(
                    unknown,
                    format!("unknown parameter; {}", expected()),
                ));
            }
            Ok(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        _ => Err(invalid("params", expected())),
    }
}

fn optional<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<T>, ErrorObjectOwned> {
    map.get(name)
        .map(|v| serde_json::from_value(v.clone()).map_err(|e| invalid(name, e)))
        .transpose()
}

fn required<T: DeserializeOwned>(
    map: &Map<String, Value>,
    name: &str,
) -> Result<T, ErrorObjectOwned> {
    optional(map, name)?.ok_or_else(|| invalid(name, "missing"))
}

/// Reads the single parameter `name`, positional or named.
fn param<T: DeserializeOwned>(params: &Params<'_>, name: &str) -> Result<T, ErrorObjectOwned> {
    required(&named(params, &[name])?, name)
}

fn parse_address(map: &Map<String, Value>, name: &str) -> Result<Address, ErrorObjectOwned> {
    required::<String>(map, name)?
        .parse()
        .map_err(|e| invalid(name, e))
}

fn parse_device(map: &Map<String, Value>, name: &str) -> Result<DeviceId, ErrorObjectOwned> {
    required::<String>(map, name)?
        .parse()
        .map_err(|e| invalid(name, e))
}

fn optional_address(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<Address>, ErrorObjectOwned> {
    map.contains_key(name)
        .then(|| parse_address(map, name))
        .transpose()
}

fn optional_device(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<DeviceId>, ErrorObjectOwned> {
    map.contains_key(name)
        .then(|| parse_device(map, name))
        .transpose()
}

/// An H3 cell of any resolution, as hex or decimal.
fn parse_area(text: &str) -> Result<CellIndex, ErrorObjectOwned> {
    groundwork_primitives::cell::parse_h3_index(text)
        .and_then(|r| CellIndex::try_from(r).ok())
        .ok_or_else(|| invalid("cell", format!("{text:?} is not an H3 cell index")))
}

// ---- JSON views of records ------------------------------------------------------------------

fn account_json(address: &Address, account: &Account) -> Value {
    json!({
        "address": address.to_string(),
        "balance": account.balance.0.to_string(),
        "nonce": account.nonce,
        "credits": account.credits,
    })
}

fn device_json(id: &DeviceId, device: &Device, pending_work: u64) -> Value {
    let release_epoch = match device.status {
        DeviceStatus::Unbonding { release_epoch } => Some(release_epoch),
        _ => None,
    };
    json!({
        "device": id.to_string(),
        "scheme": id.scheme().name(),
        "owner": device.owner.to_string(),
        "kind": device.kind.name(),
        "location": device.location.to_string(),
        "bond": device.bond.0.to_string(),
        "status": device.status.name(),
        "release_epoch": release_epoch,
        "registered_at_height": device.registered_at_height,
        "last_heartbeat_window": device.last_heartbeat_window,
        "pending_work_units": pending_work,
    })
}

fn reward_json(epoch: u64, device: &DeviceId, record: &RewardRecord) -> Value {
    json!({
        "epoch": epoch,
        "device": device.to_string(),
        "owner": record.owner.to_string(),
        "kind": record.kind.name(),
        "work_units": record.work_units,
        "kind_total_units": record.kind_total_units,
        "pool": record.pool.0.to_string(),
        "amount": record.amount.0.to_string(),
    })
}

fn epoch_json(epoch: u64, summary: &EpochSummary) -> Value {
    let kinds: Map<String, Value> = ResourceKind::ALL
        .iter()
        .map(|kind| {
            (
                kind.name().to_string(),
                json!({
                    "pool": summary.pools[kind.index()].0.to_string(),
                    "work_units": summary.total_units[kind.index()],
                }),
            )
        })
        .collect();
    json!({
        "epoch": epoch,
        "emission": summary.emission.0.to_string(),
        "halvings": summary.halvings,
        "kinds": kinds,
        "devices_rewarded": summary.devices_rewarded,
        "paid": summary.paid.0.to_string(),
        "to_treasury": summary.to_treasury.0.to_string(),
    })
}

fn block_summary_json(summary: &BlockSummary) -> Value {
    json!({
        "height": summary.tip.height,
        "hash": digest_hex(&summary.tip.block),
        "timestamp_ms": summary.tip.timestamp_ms,
        "state_root": digest_hex(&summary.tip.state_root),
        "transactions": summary.transactions,
        "failed": summary.failed,
        "epoch_ended": summary.epoch_ended,
    })
}

// ---- methods ---------------------------------------------------------------------------------

fn chain_status(state: &RpcState) -> Value {
    let tip = state.chain.tip();
    let (chain_id, epoch, symbol, decimals, epoch_length, window, max_age, coverage, challenges) =
        state.chain.with_state(|s| {
            let params = s.params();
            (
                params.chain_id.to_string(),
                s.epoch_of(tip.height + 1),
                params.token_symbol.clone(),
                params.token_decimals,
                params.epoch_length_blocks,
                params.heartbeat_window_blocks,
                params.heartbeat_max_age_blocks,
                params.coverage,
                params.challenges,
            )
        });
    json!({
        "chain_id": chain_id,
        "height": tip.height,
        "finalized_height": tip.height,
        "state_root": digest_hex(&tip.state_root),
        "block": digest_hex(&tip.block),
        "timestamp_ms": tip.timestamp_ms,
        "epoch": epoch,
        "epoch_length_blocks": epoch_length,
        "heartbeat_window_blocks": window,
        "heartbeat_max_age_blocks": max_age,
        "coverage": {
            "share_bps": coverage.share_bps,
            "beacon_interval_blocks": coverage.beacon_interval_blocks,
            "witness_window_blocks": coverage.witness_window_blocks,
        },
        "challenges": {
            "bond": challenges.bond.0.to_string(),
            "answer_window_blocks": challenges.answer_window_blocks,
            "slash_bps": challenges.slash_bps,
            "min_answer_witnesses": challenges.min_answer_witnesses,
        },
        "token": { "symbol": symbol, "decimals": decimals },
    })
}

fn refused(error: &crate::chain::SubmitError) -> ErrorObjectOwned {
    let code = match error {
        crate::chain::SubmitError::Mempool(reason) => {
            code::TRANSACTION_REFUSED_BASE + i32::from(reason.code())
        }
        crate::chain::SubmitError::Unincludable(reason) => {
            code::TRANSACTION_UNINCLUDABLE_BASE + i32::from(reason.code())
        }
    };
    ErrorObject::owned(code, error.to_string(), None::<()>)
}

fn decode_transaction(field: &str, text: &str) -> Result<(Transaction, usize), ErrorObjectOwned> {
    let bytes = hex::decode(text.trim_start_matches("0x"))
        .map_err(|e| invalid(field, format!("not hex: {e}")))?;
    let transaction = Transaction::decode_untrusted(&bytes).map_err(|e| {
        let reason = groundwork_primitives::describe_decode_error(&e);
        invalid(field, format!("not a transaction: {reason}"))
    })?;
    Ok((transaction, bytes.len()))
}

fn submit(state: &RpcState, text: String) -> RpcResult {
    let (transaction, bytes) = decode_transaction("tx", &text)?;
    let hash = state
        .chain
        .submit(transaction, bytes)
        .map_err(|e| refused(&e))?;
    Ok(json!({ "hash": digest_hex(&hash) }))
}

fn submit_batch(state: &RpcState, items: Vec<String>) -> RpcResult {
    if items.len() > MAX_SUBMIT_BATCH {
        return Err(invalid(
            "txs",
            format!("{} transactions, at most {MAX_SUBMIT_BATCH}", items.len()),
        ));
    }
    let decoded = items
        .iter()
        .enumerate()
        .map(|(index, text)| decode_transaction(&format!("txs[{index}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    let results: Vec<Value> = state
        .chain
        .submit_batch(decoded)
        .into_iter()
        .map(|result| match result {
            Ok(hash) => json!({ "hash": digest_hex(&hash) }),
            Err(error) => {
                let object = refused(&error);
                json!({ "error": { "code": object.code(), "message": object.message() } })
            }
        })
        .collect();
    Ok(Value::Array(results))
}

fn account(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["address"])?;
    let address = parse_address(&map, "address")?;
    let account = state.chain.with_state(|s| s.account(&address));
    let mut answer = account_json(&address, &account);
    answer["pending_nonce"] = json!(state.chain.pending_nonce(&address));
    Ok(answer)
}

fn transaction(state: &RpcState, text: String) -> RpcResult {
    let hash: Digest =
        digest_from_hex(&text).ok_or_else(|| invalid("hash", "expected 64 hex characters"))?;
    let inclusion = state
        .chain
        .inclusion(&hash)
        .ok_or_else(|| not_found(format!("transaction {text} is not in a recent block")))?;
    Ok(json!({
        "hash": digest_hex(&hash),
        "height": inclusion.height,
        "ok": inclusion.error_code.is_none(),
        "error_code": inclusion.error_code,
        "error": inclusion.error,
    }))
}

fn device(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let device = s
            .device(&id)
            .ok_or_else(|| not_found(format!("device {id} is not registered")))?;
        let mut answer = device_json(&id, &device, s.pending_work(&id));
        answer["challenge"] = s.device_challenge(&id).map_or(
            Value::Null,
            |(cid, c)| json!({ "id": digest_hex(&cid), "status": c.status.name() }),
        );
        Ok(answer)
    })
}

/// A location challenge as JSON: the evidence with its numbers, the answer, the outcome.
fn challenge_json(s: &State, id: &Digest, c: &Challenge) -> Value {
    let evidence: Vec<Value> = c
        .evidence
        .0
        .iter()
        .map(|e| {
            json!({
                "beacon": digest_hex(&e.beacon),
                "role": if e.as_beaconer { "beaconer" } else { "witness" },
                "other": e.other.to_string(),
                "distance_m": e.distance_m,
                "rssi_dbm": e.rssi_dbm,
                "typical_cdbm": e.typical_cdbm,
                "excess_cdb": e.excess_cdb,
            })
        })
        .collect();
    let params = s.params().challenges;
    let (status, slashed) = match c.status {
        ChallengeStatus::Upheld { slashed } => ("upheld", Some(slashed.0.to_string())),
        other => (other.name(), None),
    };
    json!({
        "id": digest_hex(id),
        "device": c.device.to_string(),
        "owner": c.owner.to_string(),
        "challenger": c.challenger.to_string(),
        "bond": c.bond.0.to_string(),
        "location": c.location.to_string(),
        "opened_at": c.opened_at,
        "answer_by": c.answer_by,
        "resolves_at": c.resolves_at,
        "evidence": evidence,
        "answer": c.answer.map(|b| digest_hex(&b)),
        "answer_witnesses": c.answer_witnesses,
        "answer_median_excess_cdb": c.answer_median_excess_cdb,
        "status": status,
        "slashed": slashed,
        "resolved_at": c.resolved_at,
        "rule": format!(
            "rejected if at least {} witnesses of other owners than the device's and the challenger's heard the answer beacon with a median excess over the typical link of at most {} cdB; otherwise upheld: {} bps of the device bond slashed, half to the challenger and half to the treasury",
            params.min_answer_witnesses,
            coverage::LOCATION_MARGIN_CDB,
            params.slash_bps
        ),
    })
}

fn challenge(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["id"])?;
    let text: String = required(&map, "id")?;
    let id = digest_from_hex(&text).ok_or_else(|| invalid("id", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .challenge(&id)
            .ok_or_else(|| not_found(format!("no challenge {text}")))?;
        Ok(challenge_json(s, &id, &record))
    })
}

fn challenge_list(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    Ok(state.chain.with_state(|s| {
        let all: Vec<Value> = s
            .challenges_of(&id)
            .iter()
            .map(|(cid, c)| challenge_json(s, cid, c))
            .collect();
        json!({ "device": id.to_string(), "challenges": all })
    }))
}

/// Devices by owner and/or inside an H3 cell of any resolution, in device-id order, a page at
/// a time (`after` = the last id of the previous page). A scan of the device table: fine for
/// the tens of thousands of devices a node holds today; an index comes when that stops holding.
fn device_list(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["owner", "cell", "limit", "after"])?;
    let owner = optional_address(&map, "owner")?;
    let area = optional::<String>(&map, "cell")?
        .map(|text| parse_area(&text))
        .transpose()?;
    if owner.is_none() && area.is_none() {
        return Err(invalid("owner", "give `owner`, `cell`, or both"));
    }
    let limit = optional::<usize>(&map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    let after = optional_device(&map, "after")?;
    Ok(state.chain.with_state(|s| {
        let mut page = Vec::new();
        let mut next = None;
        for (id, device) in s.devices() {
            if after.as_ref().is_some_and(|a| id <= a) {
                continue;
            }
            if owner.as_ref().is_some_and(|o| *o != device.owner) {
                continue;
            }
            if let Some(area) = area {
                let inside = device.location.index().parent(area.resolution()) == Some(area);
                if !inside {
                    continue;
                }
            }
            if page.len() == limit {
                next = page
                    .last()
                    .and_then(|v: &Value| v["device"].as_str().map(str::to_string));
                break;
            }
            page.push(device_json(id, device, s.pending_work(id)));
        }
        json!({ "devices": page, "next": next })
    }))
}

fn ended_epoch(s: &State, map: &Map<String, Value>) -> Result<u64, ErrorObjectOwned> {
    match optional::<u64>(map, "epoch")? {
        Some(epoch) => Ok(epoch),
        None => s
            .epochs_ended()
            .checked_sub(1)
            .ok_or_else(|| not_found("no epoch has ended yet")),
    }
}

fn epoch(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["epoch"])?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let summary = s.epoch_summary(epoch).ok_or_else(|| {
            not_found(format!(
                "epoch {epoch} has not ended (epochs ended so far: {})",
                s.epochs_ended()
            ))
        })?;
        let mut answer = epoch_json(epoch, &summary);
        answer["coverage"] = s.coverage_summary(epoch).map_or(Value::Null, |c| {
            json!({
                "pool": c.pool.0.to_string(),
                "paid": c.paid.0.to_string(),
                "beacons": c.beacons,
                "beacon_units": c.total_beacon_units,
                "witness_units": c.total_witness_units,
            })
        });
        Ok(answer)
    })
}

fn rewards(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let coverage = s.coverage_reward(epoch, &id).map(|c| {
            json!({
                "amount": c.amount.0.to_string(),
                "beacons": c.beacons,
                "witness_reports": c.witnesses,
                "beacon_units": c.beacon_units,
                "witness_units": c.witness_units,
                "reciprocity_misses": c.reciprocity_misses,
                "collusion_exclusions": c.collusion_exclusions,
                "peer_comparable_reports": c.peers.comparable,
                "peer_deviant_reports": c.peers.deviant,
            })
        });
        let mut answer = match s.reward(epoch, &id) {
            Some(record) => reward_json(epoch, &id, &record),
            None if coverage.is_none() => {
                return Err(not_found(format!(
                    "device {id} has no reward record for epoch {epoch}"
                )));
            }
            None => json!({ "epoch": epoch, "device": id.to_string() }),
        };
        answer["coverage"] = coverage.unwrap_or(Value::Null);
        Ok(answer)
    })
}

/// A coverage explanation as JSON: every beacon the device took part in, the checks its
/// reports passed with their numbers, and the pool arithmetic.
fn coverage_json(s: &State, e: &CoverageExplanation) -> Value {
    let window = s.params().coverage.witness_window_blocks;
    let shares: Vec<Value> = e
        .shares
        .iter()
        .map(|share| {
            let beacon = s.beacon(&share.beacon);
            let report = share.report.as_ref().map(|r| {
                let beacon_height = beacon.as_ref().map(|b| b.height).unwrap_or(r.height);
                let beacon_freq = beacon.as_ref().map(|b| b.radio.frequency_hz).unwrap_or(0);
                let delta = beacon_freq.abs_diff(r.reading.frequency_hz);
                json!({
                    "location": r.location.to_string(),
                    "height": r.height,
                    "rssi_dbm": r.reading.rssi_dbm,
                    "snr_cdb": r.reading.snr_cdb,
                    "checks": [
                        {"check": "not a self-witness", "passed": true},
                        {"check": "within the witness window", "passed": true,
                         "blocks_after": r.height.saturating_sub(beacon_height), "max": window},
                        {"check": "frequency within 100 kHz", "passed": true,
                         "delta_hz": delta, "max": MAX_FREQUENCY_DELTA_HZ},
                        {"check": "res-11 grid distance at least 8", "passed": true,
                         "grid_distance": r.grid_distance_res11, "min": MIN_GRID_DISTANCE_RES11},
                        {"check": "distance at most 100 km", "passed": true,
                         "meters": r.distance_m, "max": MAX_WITNESS_DISTANCE_M},
                        {"check": "RSSI within free space", "passed": true,
                         "rssi_cdbm": i32::from(r.reading.rssi_dbm) * 100, "max_cdbm": r.max_rssi_cdbm},
                        {"check": "among the first 14 valid witnesses", "passed": true},
                    ],
                    "peer_deviation_cdb": share.peer_deviation_cdb,
                    "peer_deviant": share.peer_deviation_cdb.map(coverage::deviates),
                })
            });
            json!({
                "beacon": digest_hex(&share.beacon),
                "role": if share.as_beaconer { "beaconer" } else { "witness" },
                "witnesses": share.witnesses,
                "unit": share.unit,
                "hex_scale": share.hex_scale,
                "witness_scale": share.witness_scale,
                "reciprocity": share.reciprocity,
                "excluded_by": share.excluded.map(|rule| rule.name()),
                "units": share.units,
                "report": report,
            })
        })
        .collect();
    let r = &e.reward;
    let m = &e.summary;
    json!({
        "amount": r.amount.0.to_string(),
        "recomputed": e.recomputed.0.to_string(),
        "beacon_units": r.beacon_units,
        "witness_units": r.witness_units,
        "reciprocity_misses": r.reciprocity_misses,
        "collusion_exclusions": r.collusion_exclusions,
        "peer_comparable_reports": r.peers.comparable,
        "peer_deviant_reports": r.peers.deviant,
        "out_of_line": r.peers.out_of_line(),
        "pool": m.pool.0.to_string(),
        "beacon_pool": m.beacon_pool.0.to_string(),
        "witness_pool": m.witness_pool.0.to_string(),
        "total_beacon_units": m.total_beacon_units,
        "total_witness_units": m.total_witness_units,
        "shares": shares,
        "steps": [
            format!("reports compared with the other reports of the same beacon: {} comparable, {} more than {} cdB louder than the median of the others; more than half of at least {} makes the device out of line and leaves all its shares out ({})", r.peers.comparable, r.peers.deviant, coverage::PEER_MARGIN_CDB, coverage::MIN_COMPARABLE_REPORTS, if r.peers.out_of_line() { "out of line" } else { "in line" }),
            format!("units are HIP-15 unit × the beaconer's hex scale (× the witness's own hex scale for a report; all in 1/10 000), summed over this device's beacons ({}) and witness reports ({}); shares failing reciprocity count 0 ({} here)", r.beacons, r.witnesses, r.reciprocity_misses),
            format!("beacon part = floor({} × {} / {})", m.beacon_pool, r.beacon_units, m.total_beacon_units),
            format!("witness part = floor({} × {} / {})", m.witness_pool, r.witness_units, m.total_witness_units),
            format!("coverage reward = {} base units, paid to {}", r.amount, r.owner),
        ],
    })
}

fn explain(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device", "epoch"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let epoch = ended_epoch(s, &map)?;
        let coverage = s.explain_coverage(&id, epoch).map(|c| coverage_json(s, &c));
        let mut answer = match s.explain(&id, epoch) {
            Ok(e) => json!({
                "epoch": e.epoch,
                "device": e.device,
                "owner": e.owner,
                "kind": e.kind.name(),
                "inputs": {
                    "initial_emission": e.initial_emission.0.to_string(),
                    "halving_interval_epochs": e.halving_interval_epochs,
                    "halvings": e.halvings,
                    "coverage_share_bps": e.coverage_share_bps,
                    "weight_bps": e.weight_bps,
                    "work_units": e.work_units,
                    "kind_total_units": e.kind_total_units,
                },
                "emission": e.emission.0.to_string(),
                "kinds_emission": e.kinds_emission.0.to_string(),
                "pool": e.pool.0.to_string(),
                "amount": e.amount.0.to_string(),
                "recomputed": e.recompute().map(|a| a.0.to_string()),
                "steps": e.steps,
            }),
            Err(error) if coverage.is_none() => return Err(not_found(error)),
            Err(_) => json!({ "epoch": epoch, "device": id.to_string() }),
        };
        answer["coverage"] = coverage.unwrap_or(Value::Null);
        // Challenges of the device opened or resolved in the epoch, every step shown.
        let length = s.params().epoch_length_blocks;
        let first = epoch.saturating_mul(length).saturating_add(1);
        let last = epoch.saturating_add(1).saturating_mul(length);
        let touching: Vec<Value> = s
            .challenges_of(&id)
            .iter()
            .filter(|(_, c)| {
                (first..=last).contains(&c.opened_at)
                    || c.resolved_at.is_some_and(|h| (first..=last).contains(&h))
            })
            .map(|(cid, c)| challenge_json(s, cid, c))
            .collect();
        answer["challenges"] = Value::Array(touching);
        Ok(answer)
    })
}

/// A beacon with its valid witness reports and the numbers their checks used.
fn beacon(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["beacon"])?;
    let text: String = required(&map, "beacon")?;
    let id =
        digest_from_hex(&text).ok_or_else(|| invalid("beacon", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .beacon(&id)
            .ok_or_else(|| not_found(format!("no beacon {text}")))?;
        let witnesses: Vec<Value> = (0..record.witnesses)
            .filter_map(|i| s.witness_record(&id, i))
            .map(|w| {
                json!({
                    "witness": w.witness.to_string(),
                    "height": w.height,
                    "location": w.location.to_string(),
                    "rssi_dbm": w.reading.rssi_dbm,
                    "snr_cdb": w.reading.snr_cdb,
                    "frequency_hz": w.reading.frequency_hz,
                    "antenna_gain_ddbi": w.reading.antenna_gain_ddbi,
                    "distance_m": w.distance_m,
                    "grid_distance_res11": w.grid_distance_res11,
                    "max_rssi_cdbm": w.max_rssi_cdbm,
                })
            })
            .collect();
        Ok(json!({
            "beacon": digest_hex(&id),
            "beaconer": record.beaconer.to_string(),
            "height": record.height,
            "location": record.location.to_string(),
            "tx_power_dbm": record.radio.tx_power_dbm,
            "frequency_hz": record.radio.frequency_hz,
            "antenna_gain_ddbi": record.radio.antenna_gain_ddbi,
            "witnesses": witnesses,
        }))
    })
}

async fn state_proof(state: Arc<RpcState>, params: Params<'static>) -> RpcResult {
    let map = named(&params, &["account", "device"])?;
    let (subject, key) = match (map.contains_key("account"), map.contains_key("device")) {
        (true, false) => {
            let address = parse_address(&map, "account")?;
            (
                json!({ "account": address.to_string() }),
                account_key(&address),
            )
        }
        (false, true) => {
            let id = parse_device(&map, "device")?;
            (json!({ "device": id.to_string() }), device_key(&id))
        }
        _ => {
            return Err(invalid(
                "account",
                "give exactly one of `account` or `device`",
            ));
        }
    };
    let proof = state.prover.prove(key).await.map_err(|e| match e {
        ProofError::NotFound => not_found(format!("nothing is stored for {subject}")),
        other => ErrorObject::owned(code::UNAVAILABLE, other.to_string(), None::<()>),
    })?;
    let mut answer = json!({
        "height": proof.height,
        "root": digest_hex(&proof.root),
        "key": hex::encode(&proof.key),
        "value": hex::encode(&proof.value),
        "proof": hex::encode(&proof.proof),
    });
    if let (Value::Object(answer), Value::Object(subject)) = (&mut answer, subject) {
        answer.extend(subject);
    }
    Ok(answer)
}

/// A block by height (number) or hash (64 hex characters).
async fn block(state: Arc<RpcState>, params: Params<'static>) -> RpcResult {
    let map = named(&params, &["block"])?;
    let wanted = map
        .get("block")
        .cloned()
        .ok_or_else(|| invalid("block", "missing: give a height or a block hash"))?;
    let tip = state.chain.tip().height;
    let (height, hash) = match &wanted {
        Value::Number(n) => (
            n.as_u64()
                .ok_or_else(|| invalid("block", "a height is a non-negative integer"))?,
            None,
        ),
        Value::String(text) => {
            let digest = digest_from_hex(text)
                .ok_or_else(|| invalid("block", "a hash is 64 hex characters"))?;
            let (height, _) = state
                .marshal
                .get_info(&digest)
                .await
                .ok_or_else(|| not_found(format!("no finalized block with hash {text}")))?;
            (height.get(), Some(digest))
        }
        _ => {
            return Err(invalid(
                "block",
                "give a height (number) or a hash (string)",
            ));
        }
    };
    let missing = || not_found(format!("no finalized block {wanted}"));
    if height > tip {
        return Err(missing());
    }
    let block = state
        .marshal
        .get_block(Height::new(height))
        .await
        .ok_or_else(missing)?;
    let block = block.inner().block();
    if hash.is_some_and(|h| h != block.digest()) {
        return Err(missing());
    }
    let header = &block.header;
    Ok(json!({
        "hash": digest_hex(&block.digest()),
        "height": header.height,
        "parent": digest_hex(&header.parent),
        "timestamp_ms": header.timestamp_ms,
        "proposer": hex::encode(header.proposer.as_ref()),
        "state_root": digest_hex(&header.state_root),
        "transactions_root": digest_hex(&header.transactions_root),
        "transactions": block.transactions.iter().map(|t| digest_hex(&t.hash())).collect::<Vec<_>>(),
        // Rejection code per transaction (null = applied), while receipts are still kept.
        "results": block
            .transactions
            .iter()
            .map(|t| state.chain.inclusion(&t.hash()).map(|i| json!(i.error_code)).unwrap_or(Value::Null))
            .collect::<Vec<_>>(),
    }))
}

// ---- subscriptions ---------------------------------------------------------------------------

/// Follows executed blocks from the next one on, in order, and sends what `message` makes of
/// each (nothing for `None`) until the subscriber leaves. A subscriber that falls more than the
/// remembered window behind skips to the oldest block still remembered.
async fn follow_blocks(
    sink: SubscriptionSink,
    state: Arc<RpcState>,
    mut message: impl FnMut(&BlockSummary) -> Option<Value>,
) {
    let mut tips = state.chain.subscribe();
    let mut next = state.chain.tip().height + 1;
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            changed = tips.changed() => if changed.is_err() { return },
        }
        let tip = state.chain.tip().height;
        while next <= tip {
            let summary = state.chain.summary_at(next);
            next += 1;
            let Some(value) = summary.as_ref().and_then(&mut message) else {
                continue;
            };
            let Ok(raw) = serde_json::value::to_raw_value(&value) else {
                return;
            };
            if sink.send(raw).await.is_err() {
                return;
            }
        }
    }
}

async fn blocks_subscription(pending: PendingSubscriptionSink, state: Arc<RpcState>) {
    if let Ok(sink) = pending.accept().await {
        follow_blocks(sink, state, |summary| Some(block_summary_json(summary))).await;
    }
}

/// At every epoch's end, sends the epoch's summary and its rewards, optionally only those of
/// one owner or one device.
async fn rewards_subscription(
    params: Params<'static>,
    pending: PendingSubscriptionSink,
    state: Arc<RpcState>,
) {
    let filter = named(&params, &["owner", "device"]).and_then(|map| {
        Ok((
            optional_address(&map, "owner")?,
            optional_device(&map, "device")?,
        ))
    });
    let (owner, device) = match filter {
        Ok(filter) => filter,
        Err(error) => {
            pending.reject(error).await;
            return;
        }
    };
    let Ok(sink) = pending.accept().await else {
        return;
    };
    let reader = state.clone();
    follow_blocks(sink, state, move |summary| {
        let epoch = summary.epoch_ended?;
        reader.chain.with_state(|s| {
            let totals = s.epoch_summary(epoch)?;
            let rewards: Vec<Value> = s
                .devices()
                .filter(|(id, _)| device.as_ref().is_none_or(|d| d == *id))
                .filter_map(|(id, _)| s.reward(epoch, id).map(|r| (id, r)))
                .filter(|(_, r)| owner.as_ref().is_none_or(|o| *o == r.owner))
                .map(|(id, r)| reward_json(epoch, id, &r))
                .collect();
            let coverage = s.coverage_summary(epoch).map_or(Value::Null, |c| {
                json!({ "pool": c.pool.0.to_string(), "paid": c.paid.0.to_string(), "beacons": c.beacons })
            });
            Some(json!({
                "summary": epoch_json(epoch, &totals),
                "coverage": coverage,
                "rewards": rewards,
            }))
        })
    })
    .await;
}

fn module(state: RpcState) -> Result<RpcModule<RpcState>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::new(state);
    module.register_method("chain_status", |params, state, _| {
        no_params(&params)?;
        Ok::<Value, ErrorObjectOwned>(chain_status(state))
    })?;
    module.register_method("tx_submit", |params, state, _| {
        submit(state, param(&params, "tx")?)
    })?;
    module.register_method("tx_submitBatch", |params, state, _| {
        submit_batch(state, param(&params, "txs")?)
    })?;
    module.register_method("tx_get", |params, state, _| {
        transaction(state, param(&params, "hash")?)
    })?;
    module.register_method("account_get", |params, state, _| account(state, &params))?;
    module.register_method("device_get", |params, state, _| device(state, &params))?;
    module.register_method("device_list", |params, state, _| {
        device_list(state, &params)
    })?;
    module.register_method("epoch_get", |params, state, _| epoch(state, &params))?;
    module.register_method("rewards_get", |params, state, _| rewards(state, &params))?;
    module.register_method("rewards_explain", |params, state, _| {
        explain(state, &params)
    })?;
    module.register_method("coverage_beacon", |params, state, _| beacon(state, &params))?;
    module.register_method("challenge_get", |params, state, _| {
        challenge(state, &params)
    })?;
    module.register_method("challenge_list", |params, state, _| {
        challenge_list(state, &params)
    })?;
    module.register_async_method("chain_getBlock", |params, state, _| block(state, params))?;
    module.register_async_method("state_proof", |params, state, _| state_proof(state, params))?;
    module.register_subscription(
        "chain_subscribeBlocks",
        "chain_block",
        "chain_unsubscribeBlocks",
        |_, pending, state, _| blocks_subscription(pending, state),
    )?;
    module.register_subscription(
        "chain_subscribeRewards",
        "chain_rewards",
        "chain_unsubscribeRewards",
        |params, pending, state, _| rewards_subscription(params, pending, state),
    )?;
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
) -> std::io::Result<(SocketAddr, ServerHandle)> {
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
                tokio::spawn(refuse_connection(socket));
                continue;
            };
            let service = builder
                .clone()
                .set_rpc_middleware(RpcServiceBuilder::new().layer(RateLimitLayer {
                    limiter: limiter.clone(),
                    ip: remote.ip(),
                }))
                .build(methods.clone(), stop.clone());
            tokio::spawn(serve_with_graceful_shutdown(
                Watched::new(socket, idle_timeout, permit),
                service,
                stop.clone().shutdown(),
            ));
        }
    });
    Ok((bound, handle))
}
