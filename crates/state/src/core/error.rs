//! Why the core rejected a transaction. Codes are stable: never renumbered or reused.

use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Amount, DeviceId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The signature does not verify for this chain and transaction type with the signer's key.
    #[error("bad signature: not made by the signer's key for this chain and transaction type")]
    BadSignature,
    /// The nonce is not the account's next one.
    #[error("bad nonce: expected {expected}, got {got}")]
    BadNonce { expected: u64, got: u64 },
    /// The account cannot pay amount plus fee.
    #[error("insufficient balance: needs {needed} base units, has {available}")]
    InsufficientBalance { needed: Amount, available: Amount },
    /// The account holds fewer data credits than it would escrow.
    #[error("insufficient data credits: needs {needed}, has {available}")]
    InsufficientCredits { needed: u64, available: u64 },
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
    UnknownBlockHash { block: Digest },
    /// The heartbeat names a block older than the allowed age.
    #[error(
        "stale block hash: block {referenced_height} is {age} blocks old, at most {max_age} allowed"
    )]
    StaleBlockHash {
        referenced_height: u64,
        age: u64,
        max_age: u64,
    },
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

impl CoreError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            CoreError::BadSignature => 1,
            CoreError::BadNonce { .. } => 2,
            CoreError::InsufficientBalance { .. } => 3,
            CoreError::AmountOverflow { .. } => 4,
            CoreError::ZeroAmount { .. } => 5,
            CoreError::UnknownDevice { .. } => 6,
            CoreError::BadDeviceSignature { .. } => 7,
            CoreError::DeviceAlreadyRegistered { .. } => 8,
            CoreError::NotDeviceOwner { .. } => 9,
            CoreError::DeviceNotActive { .. } => 10,
            CoreError::UnknownBlockHash { .. } => 11,
            CoreError::StaleBlockHash { .. } => 12,
            CoreError::Expired { .. } => 39,
            CoreError::ValidTooLong { .. } => 40,
            CoreError::CannotPayFee { .. } => 41,
            CoreError::InsufficientCredits { .. } => 42,
        }
    }
}
