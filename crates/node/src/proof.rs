//! State proofs: a state entry's value with a QMDB inclusion proof against the state root of
//! a finalized block.
//!
//! A proof is made by the executor between blocks, so the root it proves against is exactly the
//! root the store holds after the executed tip (the root the next block's header carries). The
//! verifier needs nothing but the proof's bytes, the state key, the value and a root: it runs
//! offline, which is what `groundwork verify-proof` does.
//!
//! The store key of a state key is `sha256(key)[..8] ‖ key` (see [`crate::storage`]); the
//! verifier recomputes it, so a proof of one key can never pass for another.

use crate::storage::{StateDb, store_key};
use commonware_codec::{Decode, Encode, RangeCfg};
use commonware_cryptography::Sha256;
use commonware_storage::mmr;
use commonware_storage::qmdb::any::value::VariableEncoding;
use commonware_storage::qmdb::current::ordered::proof::constant::KeyValueProof;
use groundwork_primitives::hash::Digest;

/// Bitmap chunk size of the state store, in bytes (the `N` of [`StateDb`]).
const CHUNK_BYTES: usize = 32;
/// Most digests a proof may carry: a Merkle path over 2^64 operations needs well under this.
const MAX_PROOF_DIGESTS: usize = 256;
/// Longest store key a proof may name (mirrors the store's own bound).
const MAX_KEY_BYTES: usize = 128;

/// The proof type of the state store.
pub type StateKeyValueProof = KeyValueProof<mmr::Family, Vec<u8>, Digest, CHUNK_BYTES>;

/// A state entry with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateProof {
    /// Height of the executed block whose resulting state is proven.
    pub height: u64,
    /// The state root after that block.
    pub root: Digest,
    /// The state key (table prefix ‖ record key).
    pub key: Vec<u8>,
    /// The record's canonical encoding.
    pub value: Vec<u8>,
    /// The encoded QMDB key-value proof.
    pub proof: Vec<u8>,
}

/// Why a proof could not be made or did not verify.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no value is stored under this key")]
    NotFound,
    #[error("the node is shutting down")]
    Unavailable,
    /// Shared, so one store failure can answer every waiting request.
    #[error(transparent)]
    Store(std::sync::Arc<crate::storage::StoreError>),
    #[error("proof bytes are malformed: {0}")]
    Malformed(std::sync::Arc<commonware_codec::Error>),
    #[error("the proof does not show this value under this key at this root")]
    Mismatch,
}

impl ProofError {
    pub(crate) fn store(error: crate::storage::StoreError) -> Self {
        ProofError::Store(std::sync::Arc::new(error))
    }
}

/// Makes the inclusion proof of `state_key` from the store.
pub(crate) async fn prove<E>(db: &StateDb<E>, state_key: &[u8]) -> Result<Vec<u8>, ProofError>
where
    E: commonware_runtime::Storage
        + commonware_runtime::Clock
        + commonware_runtime::Metrics
        + commonware_runtime::Spawner,
{
    match db.key_value_proof(store_key(state_key)).await {
        Ok(proof) => Ok(proof.encode().to_vec()),
        Err(commonware_storage::qmdb::Error::KeyNotFound) => Err(ProofError::NotFound),
        Err(error) => Err(ProofError::store(crate::storage::StoreError::Qmdb(error))),
    }
}

/// Checks that `proof` shows `value` stored under `state_key` in the state whose root is
/// `root`. Pure: no store, no network.
pub fn verify(
    state_key: &[u8],
    value: &[u8],
    proof: &[u8],
    root: &Digest,
) -> Result<(), ProofError> {
    let key_cfg = (RangeCfg::new(..=MAX_KEY_BYTES), ());
    let decoded = StateKeyValueProof::decode_cfg(
        commonware_codec::Copying(proof),
        &(MAX_PROOF_DIGESTS, key_cfg),
    )
    .map_err(|e| ProofError::Malformed(std::sync::Arc::new(e)))?;
    if decoded.verify::<Sha256, VariableEncoding<Vec<u8>>>(
        store_key(state_key),
        value.to_vec(),
        root,
    ) {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}
