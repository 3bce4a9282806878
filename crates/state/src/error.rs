//! Typed outcomes. A rejected block gets a [`BlockError`] and changes nothing.
//!
//! A transaction is either *includable* or not. One that is not — a bad signature; for an
//! account transaction a wrong nonce, a height outside its validity window or a balance below
//! the fee; any device report that fails — makes a block that carries it invalid
//! ([`BlockError::UnincludableTransaction`]), so proposers leave it out. An includable account
//! transaction whose action fails still pays its fee and uses its nonce: its receipt carries
//! the [`TxError`], and the same bytes can never execute later.
//!
//! Every `TxError` has a stable numeric code, stored with receipts and returned over RPC.
//! Codes are never renumbered or reused.

use groundwork_primitives::{Amount, DeviceId};

/// Why a transaction was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The signature does not verify for this chain and transaction type with the signer's key.
    #[error("bad signature: not made by the signer's key for this chain and transaction type")]
    BadSignature,
    /// The nonce is not the account's next one.
    #[error("bad nonce: expected {expected}, got {got}")]
    BadNonce { expected: u64, got: u64 },
    /// The account cannot pay amount plus fee.
    #[error("insufficient balance: needs {needed} base units, has {available}")]
    InsufficientBalance { needed: Amount, available: Amount },
    /// An amount computation would exceed 128 bits (or a credit balance 64 bits).
    #[error("amount overflow: {what} does not fit")]
    AmountOverflow { what: &'static str },
    /// A transfer or purchase of nothing.
    #[error("zero amount: {what} must be greater than zero")]
    ZeroAmount { what: &'static str },
    /// No device has this id.
    #[error("unknown device {device}")]
    UnknownDevice { device: DeviceId },
    /// The device's ownership proof is not the device key's signature over the owner's address.
    #[error(
        "bad device signature: the ownership proof is not signed by device {device} for this owner and chain"
    )]
    BadDeviceSignature { device: DeviceId },
    /// A device with this key already exists (device keys are never reused).
    #[error("device {device} is already registered")]
    DeviceAlreadyRegistered { device: DeviceId },
    /// The signer does not own the device.
    #[error("device {device} is not owned by the signer")]
    NotDeviceOwner { device: DeviceId },
    /// The device is unbonding or decommissioned.
    #[error("device {device} is {status}, not active")]
    DeviceNotActive {
        device: DeviceId,
        status: &'static str,
    },
    /// The heartbeat names a block this chain does not have in its recent history.
    #[error("unknown block hash {block}: not a recent block of this chain")]
    UnknownBlockHash { block: String },
    /// The heartbeat names a block older than the allowed age.
    #[error(
        "stale block hash: block {referenced_height} is {age} blocks old, at most {max_age} allowed"
    )]
    StaleBlockHash {
        referenced_height: u64,
        age: u64,
        max_age: u64,
    },
    /// The device already has a heartbeat credited in this window.
    #[error("device already sent a heartbeat in window {window}")]
    HeartbeatAlreadyInWindow { window: u64 },
    /// The heartbeat names a block no newer than the device's last credited heartbeat did:
    /// the same signed bytes again, or an older report.
    #[error(
        "heartbeat names block {referenced_height}, not newer than block {last_height} of the device's last credited heartbeat"
    )]
    HeartbeatNotNewer {
        referenced_height: u64,
        last_height: u64,
    },
    /// Beacons and witness reports come from wireless devices only.
    #[error("device {device} is a {kind} device; only wireless devices beacon and witness")]
    NotWireless {
        device: DeviceId,
        kind: &'static str,
    },
    /// The device beaconed less than a beacon interval ago.
    #[error(
        "beacon too soon: last beacon at block {last_height}, next allowed at block {next_height}"
    )]
    BeaconTooSoon { last_height: u64, next_height: u64 },
    /// This device already beaconed on this entropy block.
    #[error("duplicate beacon: this device already beaconed on this block")]
    DuplicateBeacon,
    /// The witness report names a beacon the chain does not have.
    #[error("unknown beacon {beacon}")]
    UnknownBeacon { beacon: String },
    /// A device reported its own beacon.
    #[error("self-witness: a device cannot witness its own beacon")]
    SelfWitness,
    /// The witness report landed too long after the beacon.
    #[error("late witness: {blocks_after} blocks after the beacon, at most {max_blocks} allowed")]
    LateWitness { blocks_after: u64, max_blocks: u64 },
    /// This device already reported this beacon.
    #[error("duplicate witness: this device already reported this beacon")]
    DuplicateWitness,
    /// The witness heard the beacon on another frequency.
    #[error(
        "frequency mismatch: witness is {delta_hz} Hz off the beacon, at most {max_hz} allowed"
    )]
    FrequencyMismatch { delta_hz: u64, max_hz: u64 },
    /// The two asserted locations are too close for the report to show coverage.
    #[error(
        "witness too close: res-11 grid distance {grid_distance} between the asserted locations, at least {min} required"
    )]
    WitnessTooClose { grid_distance: u32, min: u32 },
    /// The two asserted locations are too far apart for a real reception.
    #[error("witness too far: {meters} m between the asserted locations, at most {max} m")]
    WitnessTooFar { meters: u32, max: u32 },
    /// The reported signal is stronger than free space allows between the asserted locations.
    #[error(
        "RSSI too strong: {rssi_dbm} dBm reported, free space allows at most {} dBm over {meters} m",
        hundredths(*.max_cdbm)
    )]
    RssiTooStrong {
        rssi_dbm: i16,
        max_cdbm: i32,
        meters: u32,
    },
    /// The beacon already has its full count of valid witnesses.
    #[error("witness limit reached: the beacon already has {max} valid witnesses")]
    WitnessLimitReached { max: u8 },
    /// The locations' geometry could not be computed (e.g. across an H3 pentagon).
    #[error("cannot compare the asserted locations: {reason}")]
    Geometry { reason: String },
    /// This chain's genesis sets no challenge bond.
    #[error("location challenges are disabled on this chain (no challenge bond in genesis)")]
    ChallengesDisabled,
    /// An owner challenged its own device.
    #[error("self-challenge: the signer owns the device")]
    SelfChallenge,
    /// The device already has an open challenge (or a challenge it lost and has not answered
    /// by asserting a new location); nothing may change it until that resolves.
    #[error("device has a pending location challenge {challenge}")]
    ChallengePending { challenge: String },
    /// A cited beacon is not in state, or shows no link of the device, at its current
    /// location, with a device held by neither its owner nor the challenger.
    #[error(
        "evidence beacon {beacon} is unknown, or shows no link of the device at its current location with a device of another owner than its own and the challenger's"
    )]
    EvidenceNotFound { beacon: String },
    /// A beacon was cited twice.
    #[error("evidence beacon {beacon} is cited twice")]
    DuplicateEvidence { beacon: String },
    /// No cited link is louder than a typical link over its distance by more than the margin.
    #[error(
        "weak evidence: the loudest cited link is {loudest_excess_cdb} cdB over a typical link, more than {min_cdb} needed"
    )]
    WeakEvidence {
        loudest_excess_cdb: i64,
        min_cdb: i64,
    },
    /// No challenge has this id.
    #[error("unknown challenge {challenge}")]
    UnknownChallenge { challenge: String },
    /// The challenge's answer window has passed, or it has resolved.
    #[error("challenge closed: answers were accepted until block {answer_by}")]
    ChallengeClosed { answer_by: u64 },
    /// The challenge already has an answer.
    #[error("challenge already answered")]
    AlreadyAnswered,
    /// The answering beacon cannot answer this challenge.
    #[error("bad answer: {reason}")]
    BadAnswer { reason: &'static str },
    /// A challenge upheld against the device's location; it must assert a different location
    /// before it beacons, witnesses or can be challenged again.
    #[error(
        "location disputed: challenge {challenge} was upheld; assert a different location for the device first"
    )]
    LocationDisputed { challenge: String },
    /// The block's height is past the transaction's last valid height.
    #[error("expired: valid until block {valid_until}, this is block {height}")]
    Expired { valid_until: u64, height: u64 },
    /// The transaction's last valid height is further ahead than a transaction may live.
    #[error(
        "valid too long: valid until block {valid_until}, more than {max_blocks} blocks after block {height}"
    )]
    ValidTooLong {
        valid_until: u64,
        height: u64,
        max_blocks: u64,
    },
    /// The account cannot pay the fee, so the transaction cannot be included at all.
    #[error("cannot pay the fee: fee is {fee} base units, the account has {available}")]
    CannotPayFee { fee: Amount, available: Amount },
}

/// `-6635` as `-66.35`: a value kept in hundredths, shown in its unit, with integers only.
fn hundredths(value: i32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

impl TxError {
    /// The stable numeric code of this error.
    pub fn code(&self) -> u16 {
        match self {
            TxError::BadSignature => 1,
            TxError::BadNonce { .. } => 2,
            TxError::InsufficientBalance { .. } => 3,
            TxError::AmountOverflow { .. } => 4,
            TxError::ZeroAmount { .. } => 5,
            TxError::UnknownDevice { .. } => 6,
            TxError::BadDeviceSignature { .. } => 7,
            TxError::DeviceAlreadyRegistered { .. } => 8,
            TxError::NotDeviceOwner { .. } => 9,
            TxError::DeviceNotActive { .. } => 10,
            TxError::UnknownBlockHash { .. } => 11,
            TxError::StaleBlockHash { .. } => 12,
            TxError::HeartbeatAlreadyInWindow { .. } => 13,
            TxError::HeartbeatNotNewer { .. } => 14,
            TxError::NotWireless { .. } => 15,
            TxError::BeaconTooSoon { .. } => 16,
            TxError::DuplicateBeacon => 17,
            TxError::UnknownBeacon { .. } => 18,
            TxError::SelfWitness => 19,
            TxError::LateWitness { .. } => 20,
            TxError::DuplicateWitness => 21,
            TxError::FrequencyMismatch { .. } => 22,
            TxError::WitnessTooClose { .. } => 23,
            TxError::WitnessTooFar { .. } => 24,
            TxError::RssiTooStrong { .. } => 25,
            TxError::WitnessLimitReached { .. } => 26,
            TxError::Geometry { .. } => 27,
            TxError::ChallengesDisabled => 28,
            TxError::SelfChallenge => 29,
            TxError::ChallengePending { .. } => 30,
            TxError::EvidenceNotFound { .. } => 31,
            TxError::DuplicateEvidence { .. } => 32,
            TxError::WeakEvidence { .. } => 33,
            TxError::UnknownChallenge { .. } => 34,
            TxError::ChallengeClosed { .. } => 35,
            TxError::AlreadyAnswered => 36,
            TxError::BadAnswer { .. } => 37,
            TxError::LocationDisputed { .. } => 38,
            TxError::Expired { .. } => 39,
            TxError::ValidTooLong { .. } => 40,
            TxError::CannotPayFee { .. } => 41,
        }
    }
}

/// Why a whole block was rejected. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("wrong height: expected {expected}, got {got}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("wrong parent: block does not build on the last executed block")]
    WrongParent,
    #[error("timestamp {got} ms is earlier than the parent's {parent} ms")]
    TimestampNotMonotonic { parent: u64, got: u64 },
    #[error("too many transactions: {count}, at most {max}")]
    TooManyTransactions { count: usize, max: usize },
    #[error("transactions root does not match the block's transactions")]
    TransactionsRootMismatch,
    /// A protocol computation exceeded its integer range. Genesis limits make this unreachable;
    /// it is an error rather than a panic so a bug cannot halt every validator at once.
    #[error("arithmetic overflow in {context}")]
    Arithmetic { context: &'static str },
    /// State that should be impossible was found. Like `Arithmetic`, an error and not a panic.
    #[error("state invariant broken: {context}")]
    Invariant { context: &'static str },
    /// The block carries a transaction no block may carry (see the module docs).
    #[error("transaction {index} cannot be included: {error}")]
    UnincludableTransaction { index: usize, error: Box<TxError> },
}

/// Why an explanation could not be given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("epoch {epoch} has not ended yet (current epoch is {current})")]
    EpochNotEnded { epoch: u64, current: u64 },
    #[error("device {device} earned nothing in epoch {epoch}: it had no verified work")]
    NoReward { device: DeviceId, epoch: u64 },
}

/// A broken conservation law, found by [`crate::State::check_invariants`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvariantViolation {
    #[error("invariant broken: burned exceeds genesis plus minted")]
    BurnedExceedsSupply,
    #[error("invariant broken: the sum of {what} overflows")]
    Overflow { what: &'static str },
    #[error(
        "invariant broken: the records sum to {counted}, the {counter} counter says {recorded}"
    )]
    CounterMismatch {
        counter: &'static str,
        counted: Amount,
        recorded: Amount,
    },
    #[error(
        "invariant broken: balances, bonds, escrow and treasury hold {held}, but the supply is {supply}"
    )]
    Unbalanced { held: Amount, supply: Amount },
}
