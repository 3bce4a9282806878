//! Why the storage module rejected a transaction. Codes 1400–1499: never renumbered or reused.

use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, Amount, DeviceId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Only storage devices provide storage.
    #[error("device {device} is not a storage device")]
    NotStorage { device: DeviceId },
    /// A deal names a device that provides no capacity.
    #[error("device {device} provides no storage capacity")]
    NotProviding { device: DeviceId },
    /// Collateral below the genesis minimum.
    #[error("collateral of {offered} per GiB is below the chain's minimum of {minimum}")]
    CollateralBelowMinimum { offered: Amount, minimum: Amount },
    /// A provider cannot shrink below what its deals hold.
    #[error("deals hold {used_bytes} bytes of this device; it cannot offer only {capacity_bytes}")]
    CapacityInUse {
        capacity_bytes: u64,
        used_bytes: u64,
    },
    /// The shard does not fit the provider's free capacity.
    #[error("deal full: {size_bytes} bytes asked, {free_bytes} free on device {device}")]
    DealFull {
        device: DeviceId,
        size_bytes: u64,
        free_bytes: u64,
    },
    /// The provider's free collateral does not cover the deal.
    #[error("collateral short: the deal needs {needed}, device {device} has {free} free")]
    CollateralShort {
        device: DeviceId,
        needed: Amount,
        free: Amount,
    },
    /// A shard's price is not its provider's usage offer.
    #[error("price {asked} credits per GiB-epoch is not device {device}'s offer ({offered:?})")]
    PriceNotOffered {
        device: DeviceId,
        asked: u64,
        offered: Option<u64>,
    },
    /// A malformed deal set, named by what is wrong.
    #[error("bad deal set: {reason}")]
    BadSet { reason: &'static str },
    /// A shard's size is outside what one deal may store.
    #[error("a shard must hold 1 to {max} bytes, not {size_bytes}")]
    BadShardSize { size_bytes: u64, max: u64 },
    /// A deal too small or too cheap to pay anything over its life.
    #[error("the deal set escrows no credits: every shard's price rounds to zero")]
    NothingEscrowed,
    /// No deal or deal set has this id.
    #[error("unknown deal or deal set {id}")]
    Unknown { id: Digest },
    /// Someone other than the deal's provider device reported on it.
    #[error("device {device} is not this deal's provider")]
    NotTheProvider { device: DeviceId },
    /// Only the client may end its deals.
    #[error("{signer} is not this deal set's client")]
    NotTheClient { signer: Address },
    /// The deal is not in the state the report needs.
    #[error("deal {deal} is {status}, not {needed}")]
    WrongStatus {
        deal: Digest,
        status: &'static str,
        needed: &'static str,
    },
    /// A proof for a period that is not the open one, or outside the deal's periods.
    #[error(
        "a proof for period {period} is not taken now: period {current} is open, the deal runs periods {first}..={last}"
    )]
    WrongPeriod {
        period: u64,
        current: u64,
        first: u64,
        last: u64,
    },
    /// The deal was proven for this period already.
    #[error("deal {deal} is proven for period {period} already")]
    AlreadyProven { deal: Digest, period: u64 },
    /// A proof must answer exactly the challenges drawn.
    #[error("the period draws {expected} challenges; the proof answers {got}")]
    WrongChallengeCount { expected: usize, got: usize },
    /// An answer for a leaf that was not challenged (or in another order).
    #[error("challenge {position} asks for leaf {expected}, the proof answers leaf {got}")]
    WrongLeaf {
        position: usize,
        expected: u64,
        got: u64,
    },
    /// The leaf and path do not lead to the deal's root: the provider does not hold the
    /// bytes, or answered with another deal's.
    #[error("bad proof for leaf {index}: {reason}")]
    BadProof {
        index: u64,
        reason: groundwork_storage::ProofError,
    },
    /// A provider's endpoint must be an http:// or https:// URL in UTF-8.
    #[error("the endpoint must be an http:// or https:// URL")]
    BadEndpoint,
    /// A retrieval check from a device the period's draw did not pick for that position and
    /// block.
    #[error(
        "device {device} is not the checker drawn at position {position} for this period, or not for that block"
    )]
    NotAChecker { device: DeviceId, position: u16 },
    /// The position's check for the period is posted already.
    #[error("deal {deal}'s retrieval check for period {period} at this position is posted already")]
    AlreadyChecked { deal: Digest, period: u64 },
    /// The device changed hands while its previous owner's collateral still backs deals.
    #[error(
        "device {device}'s storage is provided by its previous owner {owner}, whose collateral still backs deals; provide again when they close"
    )]
    ProvidedByAnother { device: DeviceId, owner: Address },
    /// The block whose hash seeds the period's challenges is no longer kept.
    #[error("the seed block of period {period} (height {height}) is no longer kept")]
    NoSeed { period: u64, height: u64 },
}

impl StorageError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            StorageError::NotStorage { .. } => 1400,
            StorageError::NotProviding { .. } => 1401,
            StorageError::CollateralBelowMinimum { .. } => 1402,
            StorageError::CapacityInUse { .. } => 1403,
            StorageError::DealFull { .. } => 1404,
            StorageError::CollateralShort { .. } => 1405,
            StorageError::PriceNotOffered { .. } => 1406,
            StorageError::BadSet { .. } => 1407,
            StorageError::BadShardSize { .. } => 1408,
            StorageError::NothingEscrowed => 1409,
            StorageError::Unknown { .. } => 1410,
            StorageError::NotTheProvider { .. } => 1411,
            StorageError::NotTheClient { .. } => 1412,
            StorageError::WrongStatus { .. } => 1413,
            StorageError::WrongPeriod { .. } => 1414,
            StorageError::AlreadyProven { .. } => 1415,
            StorageError::WrongChallengeCount { .. } => 1416,
            StorageError::WrongLeaf { .. } => 1417,
            StorageError::BadProof { .. } => 1418,
            StorageError::NoSeed { .. } => 1419,
            StorageError::BadEndpoint => 1420,
            StorageError::NotAChecker { .. } => 1421,
            StorageError::AlreadyChecked { .. } => 1422,
            StorageError::ProvidedByAnother { .. } => 1423,
        }
    }
}
