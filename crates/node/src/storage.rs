//! The authenticated state store: commonware QMDB (`current`, ordered, variable-size keys and
//! values). Every block's write-set becomes one QMDB batch whose commit metadata records the
//! block's height and digest, so the store always sits exactly at a block boundary and knows
//! which one, even after a crash.
//!
//! Store keys are `sha256(state key)[..8] ‖ state key`. The ordered QMDB indexes keys by their
//! first eight bytes; state keys begin with a table prefix and often an epoch, so without the
//! hash prefix whole tables would share one index slot. The full state key follows, so a
//! proof still names the key it proves.

use crate::block::ChainBlock;
use commonware_codec::RangeCfg;
use commonware_cryptography::{Hasher, Sha256};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use commonware_storage::qmdb::current::VariableConfig;
use commonware_storage::qmdb::current::ordered::variable;
use commonware_storage::qmdb::floor::Proportional;
use commonware_storage::translator::EightCap;
use commonware_storage::{merkle, mmr};
use commonware_utils::{NZU64, NZUsize};
use futures::StreamExt;
use groundwork_primitives::hash::Digest;
use groundwork_state::{State, StateWrite};

/// Longest state key accepted when reading the store back (prefix + hash + key).
const MAX_STORE_KEY_BYTES: usize = 128;
/// Longest state value accepted when reading the store back.
const MAX_STORE_VALUE_BYTES: usize = 4_096;

/// The QMDB flavour holding state.
pub type StateDb<E> =
    variable::Db<mmr::Family, E, Vec<u8>, Vec<u8>, Sha256, EightCap, 32, Sequential>;

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store: {0}")]
    Qmdb(#[from] commonware_storage::qmdb::Error<mmr::Family>),
    #[error("state store metadata is malformed ({length} bytes)")]
    BadMetadata { length: usize },
    /// An earlier write failed part-way; the store refuses everything after it.
    #[error("state store closed after an earlier failure")]
    Closed,
    #[error("state store key {} is shorter than its 8-byte hash prefix", hex::encode(.key))]
    ShortKey { key: Vec<u8> },
}

fn qmdb(error: commonware_storage::qmdb::Error<mmr::Family>) -> StoreError {
    StoreError::Qmdb(error)
}

/// The block the store's state reflects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredTip {
    pub height: u64,
    pub block: Digest,
}

/// The store key of a state key.
pub fn store_key(state_key: &[u8]) -> Vec<u8> {
    let digest = Sha256::hash(&[state_key]);
    let mut key = Vec::with_capacity(8 + state_key.len());
    key.extend_from_slice(&digest.as_ref()[..8]);
    key.extend_from_slice(state_key);
    key
}

fn encode_tip(tip: &StoredTip) -> Vec<u8> {
    let mut bytes = tip.height.to_be_bytes().to_vec();
    bytes.extend_from_slice(tip.block.as_ref());
    bytes
}

fn decode_tip(bytes: &[u8]) -> Result<StoredTip, StoreError> {
    let bad = || StoreError::BadMetadata {
        length: bytes.len(),
    };
    if bytes.len() != 40 {
        return Err(bad());
    }
    let height = u64::from_be_bytes(bytes[..8].try_into().map_err(|_| bad())?);
    let block: [u8; 32] = bytes[8..].try_into().map_err(|_| bad())?;
    Ok(StoredTip {
        height,
        block: Digest::from(block),
    })
}

/// Decoding bounds of a store key and value.
type BytesCfg = (RangeCfg<usize>, ());

fn config(
    prefix: &str,
    page_cache: CacheRef,
) -> VariableConfig<EightCap, (BytesCfg, BytesCfg), Sequential> {
    let key_cfg: BytesCfg = (RangeCfg::new(..=MAX_STORE_KEY_BYTES), ());
    let value_cfg: BytesCfg = (RangeCfg::new(..=MAX_STORE_VALUE_BYTES), ());
    VariableConfig {
        merkle_config: merkle::full::Config {
            journal_partition: format!("{prefix}-state-mmr-journal"),
            metadata_partition: format!("{prefix}-state-mmr-pinned"),
            items_per_blob: NZU64!(65_536),
            write_buffer: NZUsize!(1 << 20),
            replay_buffer: NZUsize!(1 << 21),
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: commonware_storage::journal::contiguous::variable::Config {
            partition: format!("{prefix}-state-log"),
            items_per_section: NZU64!(65_536),
            compression: None,
            codec_config: (key_cfg, value_cfg),
            page_cache,
            write_buffer: NZUsize!(1 << 20),
            replay_buffer: NZUsize!(1 << 21),
        },
        grafted_metadata_partition: format!("{prefix}-state-grafted"),
        translator: EightCap,
        init_cache: Some(NZUsize!(1 << 16)),
        init_buffer: NZUsize!(1 << 21),
        init_concurrency: (),
    }
}

/// The state store. Owned by one task: QMDB's mutators take the database by value.
pub struct StateStore<E: Storage + Clock + Metrics + Spawner> {
    db: Option<StateDb<E>>,
}

impl<E: Storage + Clock + Metrics + Spawner> StateStore<E> {
    /// Opens (or creates) the store in partitions named after `prefix`.
    pub async fn open(context: E, prefix: &str, page_cache: CacheRef) -> Result<Self, StoreError> {
        let db = StateDb::init(context, config(prefix, page_cache), None)
            .await
            .map_err(qmdb)?;
        Ok(Self { db: Some(db) })
    }

    fn db(&self) -> Result<&StateDb<E>, StoreError> {
        self.db.as_ref().ok_or(StoreError::Closed)
    }

    /// The block the stored state reflects, or `None` for a new store.
    pub async fn tip(&self) -> Result<Option<StoredTip>, StoreError> {
        match self.db()?.get_metadata().await.map_err(qmdb)? {
            Some(bytes) => Ok(Some(decode_tip(&bytes)?)),
            None => Ok(None),
        }
    }

    /// The authenticated root of the current state.
    pub fn root(&self) -> Result<Digest, StoreError> {
        Ok(self.db()?.root())
    }

    /// The value stored under `state_key` with its inclusion proof against [`Self::root`].
    pub async fn prove(
        &self,
        state_key: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), crate::proof::ProofError> {
        use crate::proof::ProofError;
        let db = self.db().map_err(ProofError::store)?;
        let value = db
            .get(&store_key(state_key))
            .await
            .map_err(|e| ProofError::store(StoreError::Qmdb(e)))?
            .ok_or(ProofError::NotFound)?;
        let proof = crate::proof::prove(db, state_key).await?;
        Ok((value, proof))
    }

    /// Every stored state entry as `(state key, value)`, for rebuilding the in-memory state.
    pub async fn entries(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let db = self.db()?;
        let mut stream = Box::pin(db.stream_range(..));
        let mut out = Vec::new();
        while let Some(item) = stream.next().await {
            let (key, value) = item.map_err(qmdb)?;
            if key.len() < 8 {
                return Err(StoreError::ShortKey { key });
            }
            out.push((key[8..].to_vec(), value));
        }
        Ok(out)
    }

    /// Applies one block's writes, records `tip`, and makes it durable. Returns the new root.
    pub async fn apply<'a>(
        &mut self,
        writes: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        tip: StoredTip,
    ) -> Result<Digest, StoreError> {
        let db = self.db.take().ok_or(StoreError::Closed)?;
        let mut batch = db.new_batch();
        for (key, value) in writes {
            batch = batch.write(store_key(key), value.map(<[u8]>::to_vec));
        }
        let merkleized = batch
            .merkleize(&db, Some(encode_tip(&tip)), &mut Proportional)
            .await
            .map_err(qmdb)?;
        let db = db.apply_batch(merkleized).await.map_err(qmdb)?;
        let db = db.commit().await.map_err(qmdb)?;
        let root = db.root();
        self.db = Some(db);
        Ok(root)
    }

    /// The state root after `blocks` (consecutive, the first extending the stored tip, whose
    /// root is `root`), computed on a copy of `state` and on unapplied QMDB batches: nothing is
    /// written. `None` if a block's header does not carry the root its parent leads to, or the
    /// state machine refuses a block.
    pub async fn speculate(
        &self,
        state: &mut State,
        blocks: &[ChainBlock],
        mut root: Digest,
    ) -> Result<Option<Digest>, StoreError> {
        let db = self.db()?;
        let Some((first, rest)) = blocks.split_first() else {
            return Ok(Some(root));
        };
        // Each block's batch is a child of the previous one; the first starts from the database.
        let Some(writes) = Self::speculative_writes(state, first, root) else {
            return Ok(None);
        };
        let mut batch = db.new_batch();
        for (key, value) in writes.0 {
            batch = batch.write(key, value);
        }
        let mut parent = batch
            .merkleize(db, Some(writes.1), &mut Proportional)
            .await
            .map_err(qmdb)?;
        root = parent.root();
        for block in rest {
            let Some(writes) = Self::speculative_writes(state, block, root) else {
                return Ok(None);
            };
            let mut batch = parent.new_batch::<Sha256>();
            for (key, value) in writes.0 {
                batch = batch.write(key, value);
            }
            parent = batch
                .merkleize(db, Some(writes.1), &mut Proportional)
                .await
                .map_err(qmdb)?;
            root = parent.root();
        }
        Ok(Some(root))
    }

    /// Executes `block` on `state` if its header carries `root`; returns its store writes and
    /// commit metadata.
    #[allow(clippy::type_complexity)]
    fn speculative_writes(
        state: &mut State,
        block: &ChainBlock,
        root: Digest,
    ) -> Option<(Vec<(Vec<u8>, Option<Vec<u8>>)>, Vec<u8>)> {
        let header = &block.block().header;
        if header.state_root != root {
            return None;
        }
        let outcome = state.execute(block.block()).ok()?;
        let writes = outcome
            .write_set
            .into_iter()
            .map(|w| (store_key(&w.key), w.value))
            .collect();
        let tip = StoredTip {
            height: header.height,
            block: block.digest_value(),
        };
        Some((writes, encode_tip(&tip)))
    }

    /// Applies a block's write-set (see [`StateStore::apply`]).
    pub async fn apply_write_set(
        &mut self,
        write_set: &[StateWrite],
        tip: StoredTip,
    ) -> Result<Digest, StoreError> {
        self.apply(
            write_set
                .iter()
                .map(|w| (w.key.as_slice(), w.value.as_deref())),
            tip,
        )
        .await
    }
}
