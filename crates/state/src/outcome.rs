//! What executing a block returns: receipts, write-sets, trial outcomes, and the
//! validity-window rule of account transactions.

use crate::error::{CoreError, TxError};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
use groundwork_primitives::{AccountTransaction, Validity};

/// One changed state key: the new value, or `None` if the key was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// What happened to one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub transaction: Digest,
    pub result: Result<(), TxError>,
}

/// What one block did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    pub height: u64,
    pub block: Digest,
    /// One per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// Every changed key, sorted by key bytes, each once.
    pub write_set: Vec<StateWrite>,
    /// The epoch this block closed, if it was an epoch's last block.
    pub epoch_ended: Option<u64>,
}

/// One transaction's fate in a block: `Ok` with its receipt result if a block may carry it,
/// `Err` with the reason if no block may.
pub type TrialOutcome = Result<Result<(), TxError>, TxError>;

/// Whether a block at `height` may carry `tx` as far as its validity window goes.
pub fn check_validity_window(tx: &AccountTransaction, height: u64) -> Result<(), TxError> {
    match tx.validity_at(height) {
        Validity::Valid => Ok(()),
        Validity::Expired => Err(TxError::Core(CoreError::Expired {
            valid_until: tx.valid_until,
            height,
        })),
        Validity::TooFarAhead => Err(TxError::Core(CoreError::ValidTooLong {
            valid_until: tx.valid_until,
            height,
            max_blocks: MAX_TRANSACTION_LIFETIME_BLOCKS,
        })),
    }
}

/// Why stored entries could not be loaded back into a state.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LoadError {
    #[error("a stored state entry has an empty key")]
    EmptyKey,
    #[error(
        "stored state entry {} belongs to no table (prefix {prefix:#04x})",
        hex::encode(key)
    )]
    UnknownTable { key: Vec<u8>, prefix: u8 },
    /// Shared, so the error stays cheap to clone.
    #[error(
        "stored {table} entry {} has a malformed {part}: {reason}",
        hex::encode(key)
    )]
    Malformed {
        table: &'static str,
        /// `key` or `value`.
        part: &'static str,
        key: Vec<u8>,
        reason: std::sync::Arc<commonware_codec::Error>,
    },
    #[error("stored state has no chain-info record")]
    MissingChainInfo,
    #[error("stored state has no {module} parameters")]
    MissingParams { module: &'static str },
}
