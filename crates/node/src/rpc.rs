//! JSON-RPC 2.0 over HTTP (jsonrpsee). Methods:
//!
//! * `chain_status` → `{chain_id, height, finalized_height, state_root, epoch}`
//! * `chain_getBlock [height]` → header fields and transaction hashes
//! * `tx_submit [hex]` → transaction hash, or an error naming what is wrong
//! * `tx_submitBatch [[hex, …]]` → one `{hash}` or `{error}` per transaction (signatures are
//!   checked as one batch)
//! * `tx_get [hash]` → inclusion height and result, once executed
//! * `account_get [address]` → `{address, balance, nonce, credits}`
//!
//! Parameters are positional (`[value]`) or named (`{"height": 5}`). Amounts are decimal
//! strings of base units. Errors carry a stable numeric code (see [`code`]).

use crate::chain::Chain;
use crate::engine::MarshalMailbox;
use commonware_consensus::types::Height;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::{Address, Transaction};
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body accepted, in bytes: a full `tx_submitBatch` of the largest
/// transactions in hex, with room for JSON.
pub const DEFAULT_MAX_REQUEST_BYTES: u32 = 2 * 1_024 * 1_024 + 64 * 1_024;
/// Largest response body, in bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u32 = 16 * 1_024 * 1_024;
/// Most simultaneous connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 256;
/// Most calls in one batch.
pub const DEFAULT_MAX_BATCH: u32 = 64;
/// Most transactions in one `tx_submitBatch`.
pub const MAX_SUBMIT_BATCH: usize = 1_024;

const _: () = assert!(
    (DEFAULT_MAX_REQUEST_BYTES as usize)
        > MAX_SUBMIT_BATCH * (2 * groundwork_primitives::limits::MAX_TRANSACTION_BYTES + 8)
);

/// Error codes. Stable: never renumbered.
pub mod code {
    /// A parameter is missing, of the wrong type, or malformed (standard JSON-RPC code).
    pub const INVALID_PARAMS: i32 = -32602;
    /// The requested block, transaction or account is not known.
    pub const NOT_FOUND: i32 = 4_004;
    /// The mempool refused a transaction; the reason's own code is added: 4_000 + code.
    pub const TRANSACTION_REFUSED_BASE: i32 = 4_000;
}

struct RpcState {
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
}

fn invalid(field: &str, reason: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObject::owned(
        code::INVALID_PARAMS,
        format!("invalid `{field}`: {reason}"),
        None::<()>,
    )
}

/// Reads the single parameter `name`, positional or named.
fn param<T: DeserializeOwned>(params: &Params<'_>, name: &str) -> Result<T, ErrorObjectOwned> {
    let value: Value = match params.parse::<Value>() {
        Ok(Value::Array(mut items)) if items.len() == 1 => items.remove(0),
        Ok(Value::Object(mut map)) => map.remove(name).ok_or_else(|| invalid(name, "missing"))?,
        Ok(_) | Err(_) => {
            return Err(invalid(
                name,
                "expected one parameter, as [value] or {\"name\": value}",
            ));
        }
    };
    serde_json::from_value(value).map_err(|e| invalid(name, e))
}

fn chain_status(state: &RpcState) -> Value {
    let tip = state.chain.tip();
    let (chain_id, epoch) = state
        .chain
        .with_state(|s| (s.params().chain_id.to_string(), s.epoch_of(tip.height + 1)));
    json!({
        "chain_id": chain_id,
        "height": tip.height,
        "finalized_height": tip.height,
        "state_root": digest_hex(&tip.state_root),
        "block": digest_hex(&tip.block),
        "epoch": epoch,
    })
}

fn submit(state: &RpcState, hex_text: String) -> Result<Value, ErrorObjectOwned> {
    let bytes = hex::decode(hex_text.trim_start_matches("0x"))
        .map_err(|e| invalid("tx", format!("not hex: {e}")))?;
    let transaction = Transaction::decode_untrusted(&bytes)
        .map_err(|e| invalid("tx", format!("not a transaction: {e}")))?;
    let hash = state.chain.submit(transaction, bytes.len()).map_err(|e| {
        let crate::chain::SubmitError::Mempool(reason) = &e;
        ErrorObject::owned(
            code::TRANSACTION_REFUSED_BASE + i32::from(reason.code()),
            e.to_string(),
            None::<()>,
        )
    })?;
    Ok(json!({ "hash": digest_hex(&hash) }))
}

fn submit_batch(state: &RpcState, items: Vec<String>) -> Result<Value, ErrorObjectOwned> {
    if items.len() > MAX_SUBMIT_BATCH {
        return Err(invalid(
            "txs",
            format!("{} transactions, at most {MAX_SUBMIT_BATCH}", items.len()),
        ));
    }
    let mut decoded = Vec::with_capacity(items.len());
    for (index, text) in items.iter().enumerate() {
        let field = format!("txs[{index}]");
        let bytes = hex::decode(text.trim_start_matches("0x"))
            .map_err(|e| invalid(&field, format!("not hex: {e}")))?;
        let transaction = Transaction::decode_untrusted(&bytes)
            .map_err(|e| invalid(&field, format!("not a transaction: {e}")))?;
        decoded.push((transaction, bytes.len()));
    }
    let results: Vec<Value> = state
        .chain
        .submit_batch(decoded)
        .into_iter()
        .map(|result| match result {
            Ok(hash) => json!({ "hash": digest_hex(&hash) }),
            Err(crate::chain::SubmitError::Mempool(reason)) => json!({
                "error": { "code": code::TRANSACTION_REFUSED_BASE + i32::from(reason.code()), "message": reason.to_string() }
            }),
        })
        .collect();
    Ok(Value::Array(results))
}

fn account(state: &RpcState, text: String) -> Result<Value, ErrorObjectOwned> {
    let address: Address = text.parse().map_err(|e| invalid("address", e))?;
    let account = state.chain.with_state(|s| s.account(&address));
    Ok(json!({
        "address": address.to_string(),
        "balance": account.balance.0.to_string(),
        "nonce": account.nonce,
        "credits": account.credits,
    }))
}

fn transaction(state: &RpcState, text: String) -> Result<Value, ErrorObjectOwned> {
    let hash: Digest =
        digest_from_hex(&text).ok_or_else(|| invalid("hash", "expected 64 hex characters"))?;
    let inclusion = state.chain.inclusion(&hash).ok_or_else(|| {
        ErrorObject::owned(
            code::NOT_FOUND,
            format!("transaction {text} is not in a recent block"),
            None::<()>,
        )
    })?;
    Ok(json!({
        "hash": digest_hex(&hash),
        "height": inclusion.height,
        "ok": inclusion.error_code.is_none(),
        "error_code": inclusion.error_code,
        "error": inclusion.error,
    }))
}

async fn block(state: Arc<RpcState>, height: u64) -> Result<Value, ErrorObjectOwned> {
    let not_found = || {
        ErrorObject::owned(
            code::NOT_FOUND,
            format!("no finalized block at height {height}"),
            None::<()>,
        )
    };
    if height > state.chain.tip().height {
        return Err(not_found());
    }
    let block = state
        .marshal
        .get_block(Height::new(height))
        .await
        .ok_or_else(not_found)?;
    let block = block.inner().block();
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

fn module(state: RpcState) -> Result<RpcModule<RpcState>, jsonrpsee::core::RegisterMethodError> {
    let mut module = RpcModule::new(state);
    module.register_method("chain_status", |_, state, _| {
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
    module.register_method("account_get", |params, state, _| {
        account(state, param(&params, "address")?)
    })?;
    module.register_async_method("chain_getBlock", |params, state, _| async move {
        let height: u64 = param(&params, "height")?;
        block(state, height).await
    })?;
    Ok(module)
}

/// Starts the RPC server; it runs until the handle is stopped or dropped with the runtime.
pub async fn serve(
    address: SocketAddr,
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(DEFAULT_MAX_REQUEST_BYTES)
        .max_response_body_size(DEFAULT_MAX_RESPONSE_BYTES)
        .max_connections(DEFAULT_MAX_CONNECTIONS)
        .set_batch_request_config(BatchRequestConfig::Limit(DEFAULT_MAX_BATCH))
        .http_only()
        .build();
    let server = Server::builder().set_config(config).build(address).await?;
    let bound = server.local_addr()?;
    let module = module(RpcState { chain, marshal }).map_err(std::io::Error::other)?;
    Ok((bound, server.start(module)))
}
