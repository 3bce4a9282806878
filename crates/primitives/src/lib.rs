//! Groundwork primitives: the vocabulary every other crate speaks.
//!
//! Ids, keys, addresses, token amounts, H3 cells, resource kinds, transactions, block headers,
//! signing domains and their canonical binary codec (commonware-codec, every length bounded).
//!
//! This crate depends on no other Groundwork crate, does no I/O and keeps no state. Every decoder
//! treats its input as adversarial: lengths are bounded, trailing bytes are rejected, and keys
//! are validated as they are read.
//!
//! Stability: ALPHA (wire formats may still change between releases).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod address;
pub mod amount;
pub mod block;
pub mod cell;
mod codec_macros;
pub mod domain;
pub mod hash;
pub mod keyfile;
pub mod keys;
pub mod limits;
pub mod resource;
pub mod transaction;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use block::{Block, BlockHeader};
pub use cell::{Cell, CellError, LOCATION_RESOLUTION};
pub use domain::{ChainId, ChainIdError, Domain};
pub use hash::{Digest, hash, hash_parts};
pub use keys::{
    AccountKey, AccountPublicKey, AccountSignature, DeviceId, DeviceKey, DeviceSignature, KeyError,
    KeyScheme,
};
pub use resource::ResourceKind;
pub use transaction::{
    AccountAction, AccountTransaction, BeaconRadio, BeaconTransaction, HeartbeatTransaction,
    Transaction, Validity, WitnessReading, WitnessTransaction, challenge_id,
};

/// Re-exported so dependants use the exact codec this crate encodes with.
pub use commonware_codec as codec;

/// Decodes a whole byte slice into `T`, rejecting trailing bytes.
pub fn decode_exact<T: codec::Read<Cfg = ()>>(bytes: &[u8]) -> Result<T, codec::Error> {
    use codec::Decode;
    T::decode_cfg(codec::Copying(bytes), &())
}
