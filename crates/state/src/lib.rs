//! Groundwork state machine: genesis, accounts, devices, transactions, epochs and rewards.
//!
//! `State::execute(block)` is a pure function of the state and the block: it returns a receipt
//! per transaction and the sorted write-set of changed keys, which the node commits to its
//! authenticated store. The reward function is part of the state machine, so every full node
//! recomputes every payout, and `State::explain` shows each input and step.
//!
//! Never in this crate: I/O, async, clocks, thread RNGs, hash-ordered collections or floats.
//! Errors are typed; arithmetic is checked.
//!
//! Stability: ALPHA.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// Errors name the device they concern; a P-256 device id is large, and rejected transactions
// are the rare path, so the size is accepted rather than boxed.
#![allow(clippy::result_large_err)]

/// A table key made of two encoded parts, in order (so keys sort by the first part).
macro_rules! pair_key {
    ($(#[$doc:meta])* $name:ident($a:ty, $b:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name(pub $a, pub $b);

        impl commonware_codec::Write for $name {
            fn write(&self, buf: &mut impl bytes::BufMut) {
                commonware_codec::Write::write(&self.0, buf);
                commonware_codec::Write::write(&self.1, buf);
            }
        }

        impl commonware_codec::Read for $name {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl commonware_codec::Buf,
                _: &(),
            ) -> Result<Self, commonware_codec::Error> {
                Ok($name(
                    <$a as commonware_codec::ReadExt>::read(buf)?,
                    <$b as commonware_codec::ReadExt>::read(buf)?,
                ))
            }
        }
    };
}

mod core;
mod envelope;
pub mod error;
pub mod genesis;
mod invariants;
pub mod machine;
pub mod module;
pub mod modules;
pub mod outcome;
mod queries;
pub mod records;
pub mod rewards;
pub mod signatures;
mod table;

// The service modules, by the names the node and the CLI know them by.
pub use modules::attest;
pub use modules::challenges as challenge;
pub use modules::compute;
pub use modules::coverage;
pub use modules::credits;
pub use modules::oracle;
pub use modules::storage;
pub use modules::usage;

pub use core::{CoreParams, TokenSymbol};
pub use error::{
    BlockError, ChallengeError, CoreError, CoverageError, CreditsError, ExplainError,
    GeometryCause, InvariantViolation, OracleError, TxError, UptimeError, UsageError,
};
pub use genesis::{
    ChallengeParams, CoverageParams, CreditsParams, Genesis, GenesisError, OracleParams, Params,
    UsageParams,
};
pub use machine::{State, account_key, device_key};
pub use outcome::{
    BlockOutcome, LoadError, Receipt, StateWrite, TrialOutcome, check_validity_window,
};
pub use queries::{DeviceExplanation, HeldExplanation};
pub use records::{Account, ChainInfo, Device, DeviceStatus, EpochSummary, RewardRecord};
pub use rewards::RewardExplanation;
