//! A storage device's side of its deals: the shards it keeps on disk, the HTTP routes of the
//! service port that take and serve them, and the proofs it sends each period
//! (docs/storage.md).
//!
//! Routes, under the service port:
//! - `PUT /storage/{deal}/roots`: first, the shard's block roots (32 bytes per 64 KiB block).
//!   The agent checks them against the deal's root on chain (`roots_do_not_match_root`) and
//!   keeps them, so every byte uploaded after is checked as it arrives.
//! - `PUT /storage/{deal}/data/{offset}`: the next piece of a shard, from `offset` (which
//!   must be what the agent holds; `GET /storage/{deal}` says how much). A piece ends on a
//!   block boundary or at the shard's end, and each of its blocks must match its root, or
//!   nothing of it is kept (`bytes_do_not_match_root`, naming the block). So whoever sends a
//!   piece, only the deal's own bytes are ever held. Each piece is fsynced before the answer,
//!   so an interrupted upload resumes where it stopped. With the last byte in, the agent
//!   keeps the shard and sends the device's acceptance.
//! - `GET /storage/{deal}`: what the agent holds of a deal.
//! - `GET /storage/{deal}/roots`: the shard's block roots (32 bytes per 64 KiB block), which
//!   a reader checks against the root on chain before trusting any block.
//! - `GET /storage/{deal}/blocks/{index}`: one 64 KiB block of the shard.
//! - `GET /storage/{deal}/blocks/{first}/{count}`: up to 64 consecutive blocks at once.
//! - `GET /storage/{deal}/bytes`: the whole shard at once, unverified (for tools that check
//!   the root themselves, and the benchmark's `curl` baseline).
//!
//! On disk, in the storage directory: `<deal>.expect` (the block roots) and `<deal>.part`
//! while uploading, then `<deal>.shard` and `<deal>.roots`. Files are written to a temporary
//! name, fsynced and renamed. An upload whose deal closed unaccepted is removed.

use crate::rpc_client::{CallError, RpcClient};
use anyhow::{Context, Result};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use groundwork_api as api;
use groundwork_primitives::hash::digest_from_hex;
use groundwork_primitives::tx::storage::LeafAnswer;
use groundwork_primitives::{ChainId, DeviceKey, DeviceTransaction, StorageReport, Transaction};
use groundwork_storage::{BLOCK_BYTES, BLOCK_LEAVES, BlockRoots, Root, block_root, prove_leaf};
use serde_json::json;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Largest piece one upload request may carry.
pub const MAX_UPLOAD_PIECE: usize = 4 << 20;

/// Largest block-root list an agent takes in one request: 64 MiB, the roots of a 128 GiB
/// shard. (`storage put` holds the whole file in memory, so its shards are far smaller.)
pub const MAX_ROOTS_UPLOAD: usize = 64 << 20;

/// The shards a storage agent keeps.
pub struct ShardStore {
    dir: PathBuf,
    /// Held while a piece is appended or an upload finished, so two uploads of one deal at
    /// once cannot interleave their bytes.
    writing: std::sync::Mutex<()>,
}

/// Why a piece of an upload was refused.
#[derive(Debug)]
pub enum PieceRefusal {
    /// No block roots were sent for the deal yet.
    RootsFirst,
    /// The piece ends inside a block that is not the shard's last.
    Unaligned { end: u64 },
    /// A block of the piece does not hash to its root.
    BlockMismatch { block: u64 },
}

impl ShardStore {
    pub fn open(dir: PathBuf) -> Result<Self> {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir,
            writing: std::sync::Mutex::new(()),
        })
    }

    fn path(&self, deal: &str, extension: &str) -> PathBuf {
        self.dir.join(format!("{deal}.{extension}"))
    }

    /// Bytes held of a deal's shard: all of it once stored, else what the upload has.
    pub fn received(&self, deal: &str) -> u64 {
        [self.path(deal, "shard"), self.path(deal, "part")]
            .iter()
            .find_map(|p| fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// Where a stored shard's bytes are.
    pub fn shard_path(&self, deal: &str) -> PathBuf {
        self.path(deal, "shard")
    }

    pub fn stored(&self, deal: &str) -> bool {
        self.path(deal, "shard").exists() && self.path(deal, "roots").exists()
    }

    /// Deals with an upload in progress (block roots or bytes held, not yet stored), by id.
    pub fn uploads(&self) -> Vec<String> {
        let mut deals: Vec<String> = self
            .names_ending(".expect")
            .into_iter()
            .chain(self.names_ending(".part"))
            .filter(|deal| !self.stored(deal))
            .collect();
        deals.sort();
        deals.dedup();
        deals
    }

    fn names_ending(&self, suffix: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(suffix).map(str::to_string)
            })
            .collect()
    }

    /// Writes a file whole under a temporary name, fsyncs it and gives it `extension`.
    fn write_whole(&self, deal: &str, extension: &str, bytes: &[u8]) -> Result<()> {
        let temporary = self.path(deal, &format!("{extension}.tmp"));
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, self.path(deal, extension))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).ok();
        Ok(())
    }

    /// Keeps a deal's block roots, already checked against its root, for its upload. Bytes
    /// held from before any roots came (an upload begun by an older agent) were never
    /// checked, so they are dropped and the upload starts again from 0.
    pub fn expect(&self, deal: &str, roots: &[u8]) -> Result<()> {
        let _writing = self
            .writing
            .lock()
            .map_err(|_| anyhow::anyhow!("the shard store's lock is poisoned"))?;
        if !self.path(deal, "expect").exists() {
            fs::remove_file(self.path(deal, "part")).ok();
        }
        self.write_whole(deal, "expect", roots)
    }

    /// The block roots an upload is checked against, if they were sent.
    fn expected(&self, deal: &str) -> Option<Vec<[u8; 32]>> {
        let bytes = fs::read(self.path(deal, "expect")).ok()?;
        Some(BlockRoots::from_bytes(0, &bytes).roots)
    }

    /// Deals whose shards are stored, by id.
    pub fn deals(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut deals: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".shard").map(str::to_string)
            })
            .collect();
        deals.sort();
        deals
    }

    /// Checks a piece against the block roots sent for the deal: it must end on a block
    /// boundary or at the shard's end (`size`), and each of its blocks must match.
    pub fn check_piece(
        &self,
        deal: &str,
        offset: u64,
        bytes: &[u8],
        size: u64,
    ) -> Result<(), PieceRefusal> {
        let expected = self.expected(deal).ok_or(PieceRefusal::RootsFirst)?;
        let end = offset.saturating_add(bytes.len() as u64);
        let block_bytes = BLOCK_BYTES as u64;
        if !offset.is_multiple_of(block_bytes) || (!end.is_multiple_of(block_bytes) && end != size)
        {
            return Err(PieceRefusal::Unaligned { end });
        }
        let first = offset / block_bytes;
        for (block, piece) in (first..).zip(bytes.chunks(BLOCK_BYTES)) {
            if expected.get(block as usize) != Some(&block_root(piece)) {
                return Err(PieceRefusal::BlockMismatch { block });
            }
        }
        Ok(())
    }

    /// Appends `bytes` at `offset`, which must be what is held; fsyncs; returns the new
    /// length. The caller has checked the piece ([`ShardStore::check_piece`]).
    pub fn append(&self, deal: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        let _writing = self
            .writing
            .lock()
            .map_err(|_| anyhow::anyhow!("the shard store's lock is poisoned"))?;
        anyhow::ensure!(!self.stored(deal), "the shard is stored already");
        let path = self.path(deal, "part");
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let held = file.metadata()?.len();
        anyhow::ensure!(held == offset, "the agent holds {held} bytes, not {offset}");
        file.write_all(bytes)?;
        file.sync_data()?;
        Ok(held + bytes.len() as u64)
    }

    /// Keeps a complete upload: every block of it was checked against roots that were
    /// checked against the deal's root, so nothing is hashed again. `.roots` is written
    /// before the shard takes its name, so a stored shard always has its roots.
    pub fn finish(&self, deal: &str, size: u64) -> Result<()> {
        let _writing = self
            .writing
            .lock()
            .map_err(|_| anyhow::anyhow!("the shard store's lock is poisoned"))?;
        let part = self.path(deal, "part");
        let held = fs::metadata(&part)?.len();
        anyhow::ensure!(held == size, "the upload holds {held} bytes, not {size}");
        let roots = fs::read(self.path(deal, "expect"))?;
        self.write_whole(deal, "roots", &roots)?;
        fs::rename(&part, self.path(deal, "shard"))?;
        fs::remove_file(self.path(deal, "expect")).ok();
        File::open(&self.dir).and_then(|d| d.sync_all()).ok();
        Ok(())
    }

    pub fn block_roots(&self, deal: &str) -> Result<BlockRoots> {
        let size = fs::metadata(self.path(deal, "shard"))?.len();
        let bytes = fs::read(self.path(deal, "roots"))?;
        Ok(BlockRoots::from_bytes(size, &bytes))
    }

    /// Block `index` of a stored shard (the last may be short).
    pub fn block(&self, deal: &str, index: u64) -> Result<Vec<u8>> {
        self.blocks(deal, index, 1)
    }

    /// `count` blocks of a stored shard from `first` (fewer at the end), back to back.
    pub fn blocks(&self, deal: &str, first: u64, count: u64) -> Result<Vec<u8>> {
        let mut file = File::open(self.path(deal, "shard"))?;
        let size = file.metadata()?.len();
        let start = first.saturating_mul(BLOCK_BYTES as u64);
        anyhow::ensure!(start < size, "block {first} is past the shard's end");
        let n = (size - start).min(count.saturating_mul(BLOCK_BYTES as u64)) as usize;
        let mut block = vec![0u8; n];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block)?;
        Ok(block)
    }

    /// Drops a deal's files once the deal is closed.
    pub fn forget(&self, deal: &str) {
        for extension in ["shard", "roots", "part", "expect"] {
            fs::remove_file(self.path(deal, extension)).ok();
        }
    }

    /// Writes zeros over a tenth of a stored shard's blocks, chosen by `pick`: what the
    /// dev fleet's lazy provider does. Its proofs then fail whenever a challenge lands there.
    pub fn lose_a_tenth(&self, deal: &str, pick: impl Fn(u64) -> bool) -> Result<u64> {
        let path = self.path(deal, "shard");
        let mut file = OpenOptions::new().write(true).open(&path)?;
        let size = file.metadata()?.len();
        let blocks = size.div_ceil(BLOCK_BYTES as u64);
        let mut lost = 0;
        for index in (0..blocks).filter(|b| pick(*b)) {
            let start = index * BLOCK_BYTES as u64;
            let n = (size - start).min(BLOCK_BYTES as u64) as usize;
            file.seek(SeekFrom::Start(start))?;
            file.write_all(&vec![0u8; n])?;
            lost += 1;
        }
        file.sync_all()?;
        Ok(lost)
    }
}

/// What the routes need.
pub struct StoragePort {
    pub store: ShardStore,
    pub key: DeviceKey,
    pub rpc_url: String,
    /// Retrieval checks sent, so a pending one is not fetched again.
    checked: std::sync::Mutex<std::collections::BTreeSet<(String, u64, u16)>>,
}

impl StoragePort {
    pub fn new(store: ShardStore, key: DeviceKey, rpc_url: String) -> Self {
        Self {
            store,
            key,
            rpc_url,
            checked: std::sync::Mutex::new(std::collections::BTreeSet::new()),
        }
    }
}

type Refusal = (StatusCode, Json<serde_json::Value>);

fn refuse(status: StatusCode, code: &str, reason: impl Into<String>) -> Refusal {
    (
        status,
        Json(json!({ "error": reason.into(), "code": code })),
    )
}

/// The storage routes, to merge into the service port's router.
pub fn routes(port: Arc<StoragePort>) -> axum::Router {
    axum::Router::new()
        .route("/storage/{deal}", get(held))
        .route(
            "/storage/{deal}/roots",
            put(expect_roots)
                .get(roots)
                .layer(DefaultBodyLimit::max(MAX_ROOTS_UPLOAD)),
        )
        .route(
            "/storage/{deal}/data/{offset}",
            put(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_PIECE)),
        )
        .route("/storage/{deal}/blocks/{index}", get(block))
        .route("/storage/{deal}/blocks/{first}/{count}", get(block_run))
        .route("/storage/{deal}/bytes", get(whole))
        .with_state(port)
}

fn deal_name(text: &str) -> Result<String, Refusal> {
    digest_from_hex(text)
        .map(|_| text.to_ascii_lowercase())
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "bad_deal",
                "a deal id is 64 hex characters",
            )
        })
}

/// The deal as the chain has it, from a blocking call off the async thread.
async fn chain_deal(
    port: &Arc<StoragePort>,
    deal: &str,
) -> Result<(api::StorageDeal, ChainId), Refusal> {
    let (url, id) = (port.rpc_url.clone(), deal.to_string());
    tokio::task::spawn_blocking(move || {
        let rpc = RpcClient::new(&url, Duration::from_secs(5)).map_err(|e| {
            refuse(
                StatusCode::BAD_GATEWAY,
                "node_unreachable",
                format!("{e:#}"),
            )
        })?;
        let set: api::StorageDealSet =
            rpc.get("storage_getDeal", json!({ "id": id }))
                .map_err(|e| match e {
                    CallError::Rpc {
                        code: 4004,
                        message,
                    } => refuse(StatusCode::NOT_FOUND, "unknown_deal", message),
                    other => refuse(
                        StatusCode::BAD_GATEWAY,
                        "node_unreachable",
                        other.to_string(),
                    ),
                })?;
        let chain = rpc
            .status()
            .map_err(|e| refuse(StatusCode::BAD_GATEWAY, "node_unreachable", e.to_string()))?
            .chain_id;
        set.deals
            .into_iter()
            .find(|d| d.id == id)
            .map(|d| (d, chain))
            .ok_or_else(|| {
                refuse(
                    StatusCode::NOT_FOUND,
                    "unknown_deal",
                    format!("no deal {id}"),
                )
            })
    })
    .await
    .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

fn internal(error: anyhow::Error) -> Refusal {
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("{error:#}"),
    )
}

async fn held(
    State(port): State<Arc<StoragePort>>,
    UrlPath(deal): UrlPath<String>,
) -> Result<Json<serde_json::Value>, Refusal> {
    let deal = deal_name(&deal)?;
    Ok(Json(json!({
        "deal": deal,
        "received": port.store.received(&deal),
        "stored": port.store.stored(&deal),
    })))
}

/// A deal proposed to this device and not yet stored, as the chain has it, with its root.
async fn proposed_here(
    port: &Arc<StoragePort>,
    deal: &str,
) -> Result<(api::StorageDeal, Root, ChainId), Refusal> {
    let (record, chain) = chain_deal(port, deal).await?;
    if record.provider != port.key.id().to_string() {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "not_the_provider",
            format!(
                "deal {deal} is stored by {}, not this device",
                record.provider
            ),
        ));
    }
    if port.store.stored(deal) {
        return Err(refuse(
            StatusCode::CONFLICT,
            "already_stored",
            "this device stores the shard already",
        ));
    }
    if record.status != "proposed" {
        return Err(refuse(
            StatusCode::CONFLICT,
            "deal_not_proposed",
            format!("the deal is {}", record.status),
        ));
    }
    let root = hex::decode(&record.root)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Root)
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_GATEWAY,
                "bad_root",
                "the node sent a malformed root",
            )
        })?;
    Ok((record, root, chain))
}

/// The shard's block roots, before any byte: kept once they hash to the deal's root.
async fn expect_roots(
    State(port): State<Arc<StoragePort>>,
    UrlPath(deal): UrlPath<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Refusal> {
    let deal = deal_name(&deal)?;
    let (record, root, _) = proposed_here(&port, &deal).await?;
    let blocks = record.size_bytes.div_ceil(BLOCK_BYTES as u64);
    if body.len() as u64 != blocks.saturating_mul(32) {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "roots_do_not_match_root",
            format!(
                "a shard of {} bytes has {blocks} block roots ({} bytes), not {} bytes",
                record.size_bytes,
                blocks.saturating_mul(32),
                body.len()
            ),
        ));
    }
    let roots = BlockRoots::from_bytes(record.size_bytes, &body);
    if groundwork_storage::verify_block_roots(&root, &roots).is_err() {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "roots_do_not_match_root",
            format!(
                "the block roots do not hash to the deal's root {}",
                root.to_hex()
            ),
        ));
    }
    port.store.expect(&deal, &body).map_err(internal)?;
    Ok(Json(json!({ "deal": deal, "blocks": blocks })))
}

async fn upload(
    State(port): State<Arc<StoragePort>>,
    UrlPath((deal, offset)): UrlPath<(String, u64)>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Refusal> {
    let deal = deal_name(&deal)?;
    let (record, _, chain) = proposed_here(&port, &deal).await?;
    let held = port.store.received(&deal);
    if offset != held {
        return Err(refuse(
            StatusCode::CONFLICT,
            "wrong_offset",
            format!("the agent holds {held} bytes; send from there"),
        ));
    }
    let end = offset.saturating_add(body.len() as u64);
    if end > record.size_bytes {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "past_the_end",
            format!(
                "the shard is {} bytes; this piece ends at {end}",
                record.size_bytes
            ),
        ));
    }
    // Hashing and the fsync run off the async thread.
    let size = record.size_bytes;
    let (store_port, name) = (port.clone(), deal.clone());
    let appended = tokio::task::spawn_blocking(move || {
        let store = &store_port.store;
        match store.check_piece(&name, offset, &body, size) {
            Err(PieceRefusal::RootsFirst) => Err(refuse(
                StatusCode::CONFLICT,
                "roots_first",
                format!("send the block roots first: PUT /storage/{name}/roots"),
            )),
            Err(PieceRefusal::Unaligned { end }) => Err(refuse(
                StatusCode::BAD_REQUEST,
                "unaligned_piece",
                format!(
                    "a piece must end on a {BLOCK_BYTES}-byte block boundary or at the shard's end ({size}); this one ends at {end}"
                ),
            )),
            Err(PieceRefusal::BlockMismatch { block }) => Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bytes_do_not_match_root",
                format!("block {block} does not match its root: nothing of this piece is kept"),
            )),
            Ok(()) => {
                let received = store.append(&name, offset, &body).map_err(internal)?;
                if received == size {
                    store.finish(&name, size).map_err(internal)?;
                }
                Ok(received)
            }
        }
    })
    .await
    .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    if appended < record.size_bytes {
        return Ok(Json(
            json!({ "received": appended, "size": record.size_bytes, "stored": false }),
        ));
    }
    let sent = accept(&port.rpc_url, &port.key, &chain, &deal).await;
    Ok(Json(
        json!({ "received": appended, "size": record.size_bytes, "stored": true, "accepted": sent.is_ok(), "accept_error": sent.err() }),
    ))
}

/// Sends the device's acceptance of a deal it now stores.
async fn accept(url: &str, key: &DeviceKey, chain: &ChainId, deal: &str) -> Result<String, String> {
    let (url, key, chain, deal) = (
        url.to_string(),
        key.clone(),
        chain.clone(),
        deal.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let rpc = RpcClient::new(&url, Duration::from_secs(5)).map_err(|e| format!("{e:#}"))?;
        send_accept(&rpc, &key, &chain, &deal).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

fn send_accept(
    rpc: &RpcClient,
    key: &DeviceKey,
    chain: &ChainId,
    deal: &str,
) -> Result<String, CallError> {
    let id = digest_from_hex(deal).unwrap_or_else(|| groundwork_primitives::hash::hash(b""));
    let report = DeviceTransaction::sign(key, chain, StorageReport::Accept { deal: id });
    rpc.submit(&Transaction::Device(report))
}

/// The deal's id, if this agent stores its shard.
fn stored_deal(port: &StoragePort, text: &str) -> Result<String, Refusal> {
    let deal = deal_name(text)?;
    if !port.store.stored(&deal) {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "not_stored",
            "this device does not store that deal",
        ));
    }
    Ok(deal)
}

fn octets(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

async fn roots(
    State(port): State<Arc<StoragePort>>,
    UrlPath(deal): UrlPath<String>,
) -> Result<Response, Refusal> {
    let deal = stored_deal(&port, &deal)?;
    let roots = port.store.block_roots(&deal).map_err(internal)?;
    Ok(octets(roots.to_bytes()))
}

async fn block(
    State(port): State<Arc<StoragePort>>,
    UrlPath((deal, index)): UrlPath<(String, u64)>,
) -> Result<Response, Refusal> {
    let deal = stored_deal(&port, &deal)?;
    let bytes = port
        .store
        .block(&deal, index)
        .map_err(|e| refuse(StatusCode::NOT_FOUND, "no_such_block", format!("{e:#}")))?;
    Ok(octets(bytes))
}

/// Most blocks one request may ask for: 4 MiB.
pub const MAX_BLOCK_RUN: u64 = 64;

/// A run of consecutive blocks, so a reader streams with few requests and still checks each
/// 64 KiB block against its root.
async fn block_run(
    State(port): State<Arc<StoragePort>>,
    UrlPath((deal, first, count)): UrlPath<(String, u64, u64)>,
) -> Result<Response, Refusal> {
    let deal = stored_deal(&port, &deal)?;
    if count == 0 || count > MAX_BLOCK_RUN {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "bad_run",
            format!("ask for 1 to {MAX_BLOCK_RUN} blocks at a time"),
        ));
    }
    let bytes = port
        .store
        .blocks(&deal, first, count)
        .map_err(|e| refuse(StatusCode::NOT_FOUND, "no_such_block", format!("{e:#}")))?;
    Ok(octets(bytes))
}

/// The whole shard in one answer, unverified: for tools that check the root themselves.
async fn whole(
    State(port): State<Arc<StoragePort>>,
    UrlPath(deal): UrlPath<String>,
) -> Result<Response, Refusal> {
    let deal = stored_deal(&port, &deal)?;
    // Streamed from the file: a shard may be far larger than the agent should hold in memory.
    let file = tokio::fs::File::open(port.store.shard_path(&deal))
        .await
        .map_err(|e| internal(e.into()))?;
    let length = file.metadata().await.map_err(|e| internal(e.into()))?.len();
    let body =
        axum::body::Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

/// What one pass over the stored deals did.
#[derive(Debug, Default)]
pub struct ProvePass {
    pub accepted: Vec<String>,
    pub proven: Vec<(String, u64)>,
    pub forgotten: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// One pass over the stored deals: accept a stored one not yet accepted, prove each active
/// one whose open period is not yet proven, and forget closed ones.
pub fn prove_due(
    rpc: &RpcClient,
    key: &DeviceKey,
    chain: &ChainId,
    store: &ShardStore,
) -> ProvePass {
    let mut pass = ProvePass::default();
    // An upload whose deal is no longer proposed (expired, ended) will never be kept.
    for deal in store.uploads() {
        if let Ok(proofs) =
            rpc.get::<api::StorageProofs>("storage_getProofs", json!({ "deal": deal, "recent": 0 }))
            && proofs.status != "proposed"
        {
            store.forget(&deal);
            pass.forgotten.push(deal);
        }
    }
    for deal in store.deals() {
        let proofs: api::StorageProofs =
            match rpc.get("storage_getProofs", json!({ "deal": deal, "recent": 0 })) {
                Ok(p) => p,
                Err(e) => {
                    pass.failed.push((deal, e.to_string()));
                    continue;
                }
            };
        match proofs.status.as_str() {
            "proposed" => match send_accept(rpc, key, chain, &deal) {
                Ok(_) => pass.accepted.push(deal),
                Err(e) => pass.failed.push((deal, e.to_string())),
            },
            "active" => {
                let Some(challenge) = proofs.challenge.filter(|c| !c.proven) else {
                    continue;
                };
                match prove(store, key, chain, &deal, &challenge).map(|tx| rpc.submit(&tx)) {
                    Ok(Ok(_)) => pass.proven.push((deal, challenge.period)),
                    Ok(Err(e)) => pass.failed.push((deal, e.to_string())),
                    Err(e) => pass.failed.push((deal, format!("{e:#}"))),
                }
            }
            _ => {
                store.forget(&deal);
                pass.forgotten.push(deal);
            }
        }
    }
    pass
}

/// The signed proof of a period's challenges, from the bytes on disk.
fn prove(
    store: &ShardStore,
    key: &DeviceKey,
    chain: &ChainId,
    deal: &str,
    challenge: &api::StorageChallenge,
) -> Result<Transaction> {
    let blocks = store.block_roots(deal)?;
    let mut leaves = Vec::with_capacity(challenge.leaves.len());
    for &index in &challenge.leaves {
        let block = store.block(deal, index / BLOCK_LEAVES as u64)?;
        let proof = prove_leaf(&blocks, index, &block)?;
        leaves.push(LeafAnswer {
            index,
            leaf: proof.leaf,
            path: proof.path,
        });
    }
    let id = digest_from_hex(deal).context("a stored deal's name is not its id")?;
    let report = StorageReport::Prove {
        deal: id,
        period: challenge.period,
        leaves,
    };
    Ok(Transaction::Device(DeviceTransaction::sign(
        key, chain, report,
    )))
}

/// What one pass over the retrieval checks drawn for this device did.
#[derive(Debug, Default)]
pub struct CheckPass {
    /// (deal, block, whether the provider served it verified).
    pub posted: Vec<(String, u64, bool)>,
    pub failed: Vec<(String, String)>,
}

/// Fetches `block` of a deal's shard from its provider and checks it: the block roots
/// against the deal's root, the block against its root.
fn retrieve(http: &reqwest::blocking::Client, due: &api::StorageCheckDue) -> Result<()> {
    anyhow::ensure!(
        !due.endpoint.is_empty(),
        "the provider publishes no endpoint"
    );
    let base = format!(
        "{}/storage/{}",
        due.endpoint.trim_end_matches('/'),
        due.deal
    );
    let response = http.get(format!("{base}/roots")).send()?;
    anyhow::ensure!(
        response.status().is_success(),
        "no block roots ({})",
        response.status()
    );
    let blocks = due.size_bytes.div_ceil(BLOCK_BYTES as u64);
    let bytes = crate::rpc_client::read_at_most(response, blocks.saturating_mul(32))?;
    let roots = BlockRoots::from_bytes(due.size_bytes, &bytes);
    let root = hex::decode(&due.root)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Root)
        .context("a malformed root")?;
    groundwork_storage::verify_block_roots(&root, &roots)?;
    let response = http.get(format!("{base}/blocks/{}", due.block)).send()?;
    anyhow::ensure!(
        response.status().is_success(),
        "no block {} ({})",
        due.block,
        response.status()
    );
    let block = crate::rpc_client::read_at_most(response, BLOCK_BYTES as u64)?;
    let expected = roots
        .roots
        .get(due.block as usize)
        .context("the block is past the shard's end")?;
    anyhow::ensure!(
        block_root(&block) == *expected,
        "block {} does not match its root",
        due.block
    );
    Ok(())
}

/// One pass over the retrieval checks drawn for this device in the open period: fetch each
/// block from its provider, verify it, and post the result.
pub fn check_due(rpc: &RpcClient, port: &StoragePort, chain: &ChainId) -> CheckPass {
    let mut pass = CheckPass::default();
    let id = port.key.id().to_string();
    let due: api::StorageChecks = match rpc.get("storage_getChecks", json!({ "device": id })) {
        Ok(due) => due,
        Err(e) => {
            pass.failed.push((String::new(), e.to_string()));
            return pass;
        }
    };
    let Ok(http) = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    else {
        return pass;
    };
    for check in due.checks.iter().filter(|c| !c.posted) {
        let key = (check.deal.clone(), check.period, check.position);
        if port
            .checked
            .lock()
            .map(|s| s.contains(&key))
            .unwrap_or(true)
        {
            continue;
        }
        let ok = retrieve(&http, check).is_ok();
        let Some(deal) = digest_from_hex(&check.deal) else {
            continue;
        };
        let report = StorageReport::Check {
            deal,
            period: check.period,
            position: check.position,
            block: check.block,
            ok,
        };
        let tx = Transaction::Device(DeviceTransaction::sign(&port.key, chain, report));
        match rpc.submit(&tx) {
            Ok(_) => {
                if let Ok(mut sent) = port.checked.lock() {
                    sent.insert(key);
                }
                pass.posted.push((check.deal.clone(), check.block, ok));
            }
            Err(e) => pass.failed.push((check.deal.clone(), e.to_string())),
        }
    }
    pass
}
