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
pub mod tx;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use block::{Block, BlockHeader};
pub use cell::{Cell, CellError, LOCATION_RESOLUTION, PlaceCell};
pub use domain::{ChainId, ChainIdError};
pub use hash::{Digest, hash, hash_parts};
pub use keys::{
    AccountKey, AccountPublicKey, AccountSignature, DeviceId, DeviceKey, DeviceSignature, KeyError,
    KeyScheme,
};
pub use resource::ResourceKind;
pub use tx::{
    AccountTransaction, AttestCall, BeaconRadio, Call, ChallengeCall, ComputeCall, ComputeReport,
    CoreCall, CoverageReport, CreditsCall, DeviceTransaction, Message, OracleCall, Report,
    StorageCall, StorageReport, Transaction, UptimeReport, UsageCall, Validity, Voucher,
    WitnessReading, beacon_id, challenge_id, deal_id, deal_set_id, job_id, session_id, task_id,
};

/// Re-exported so dependants use the exact codec this crate encodes with.
pub use commonware_codec as codec;

/// Decodes a whole byte slice into `T`, rejecting trailing bytes.
/// A decoding error in words a user can act on, without the codec's internals.
pub fn describe_decode_error(error: &codec::Error) -> String {
    use codec::Error;
    match error {
        Error::EndOfBuffer => "it ends too early: bytes are missing".to_string(),
        Error::ExtraData(n) => format!("{n} unexpected bytes follow it"),
        Error::InvalidVarint(_) | Error::InvalidUsize => "a length in it is malformed".to_string(),
        Error::InvalidBool => "a yes/no field in it is neither 0 nor 1".to_string(),
        Error::InvalidEnum(tag) => format!("it has an unknown type tag {tag}"),
        Error::InvalidLength(n) => format!("a length in it ({n}) is out of range"),
        Error::Invalid(what, why) => format!("its {what} is invalid: {why}"),
        Error::Wrapped(what, _) => format!("its {what} value is not a valid {what} encoding"),
    }
}

pub fn decode_exact<T: codec::Read<Cfg = ()>>(bytes: &[u8]) -> Result<T, codec::Error> {
    use codec::Decode;
    T::decode_cfg(codec::Copying(bytes), &())
}
