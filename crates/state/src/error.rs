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

pub use crate::core::CoreError;
pub use crate::modules::attest::AttestError;
pub use crate::modules::challenges::ChallengeError;
pub use crate::modules::compute::ComputeError;
pub use crate::modules::coverage::{CoverageError, GeometryCause};
pub use crate::modules::credits::CreditsError;
pub use crate::modules::oracle::OracleError;
pub use crate::modules::storage::StorageError;
pub use crate::modules::uptime::UptimeError;
pub use crate::modules::usage::UsageError;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Amount, DeviceId};

/// Declares `TxError` from one line per module: `Module(ModuleError)`.
macro_rules! tx_errors {
    ($(#[$doc:meta])* $($module:ident($error:ty),)+) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        pub enum TxError {
            $(#[error(transparent)] $module(#[from] $error),)+
        }

        impl TxError {
            /// The stable numeric code, as stored with receipts and returned over RPC.
            pub fn code(&self) -> u16 {
                match self {
                    $(TxError::$module(e) => e.code(),)+
                }
            }
        }
    };
}

tx_errors! {
    /// Why a transaction was rejected: the error of the module that rejected it. Each module's
    /// codes lie in its own block; the codes of the first modules, 1–41, keep the numbers they
    /// had before modules had blocks (docs/state.md lists them), and a new module gets a block
    /// of 100 from 1000, clear of the node's mempool codes (101–107).
    Core(CoreError),
    Uptime(UptimeError),
    Coverage(CoverageError),
    Challenges(ChallengeError),
    Oracle(OracleError),
    Credits(CreditsError),
    Usage(UsageError),
    Attest(AttestError),
    Storage(StorageError),
    Compute(ComputeError),
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
    #[error(
        "device {device} earned nothing in epoch {epoch}: challenge {} upheld that it is not where it says, so it earns in no pool until its owner asserts another location",
        groundwork_primitives::hash::digest_hex(.challenge)
    )]
    LocationDisputed {
        device: DeviceId,
        epoch: u64,
        challenge: Digest,
    },
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
    #[error(
        "invariant broken: accounts hold {held} data credits, but minted − spent is {outstanding}"
    )]
    CreditsMismatch { outstanding: u64, held: u64 },
    #[error("invariant broken: the price samples do not add up to their running sum")]
    PriceSamples,
}
