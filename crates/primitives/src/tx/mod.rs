//! Transactions: two envelopes, each carrying one module's message.
//!
//! * An **account transaction** ([`AccountTransaction`]) is signed by an account key, carries a
//!   nonce and a last valid height, pays the genesis fee, and carries a [`Call`].
//! * A **device transaction** ([`DeviceTransaction`]) is signed by a device key, pays no fee,
//!   and carries a [`Report`].
//!
//! On the wire a call or report is `module byte ‖ message byte ‖ fields`. What is signed is
//! `namespace ‖ payload`, with the namespace `groundwork/<chain>/<module>/<message>` built from
//! the module's and the message's names ([`ChainId::namespace`]), so a signature made for one
//! message, module or chain never verifies for another, and no global list of message types
//! exists. The envelopes are handled once — signing, verification, batching, mempool slots,
//! fees — whatever module the message belongs to.
//!
//! Adding a module's messages: a file here with its call or report enum implementing
//! [`Message`], and one line in [`Call`] or [`Report`]. Module and message bytes are frozen
//! once released: never renumber or reuse one.

mod account;
pub mod attest;
mod challenges;
pub mod compute;
mod core;
mod coverage;
mod credits;
mod device;
mod oracle;
pub mod storage;
mod uptime;
mod usage;

pub use self::core::{CoreCall, device_ownership_message};
pub use account::{AccountTransaction, Validity};
pub use attest::AttestCall;
pub use challenges::{ChallengeCall, challenge_id};
pub use compute::{ComputeCall, ComputeReport, TaskOutcome, job_id, outcome_commitment, task_id};
pub use coverage::{BeaconRadio, CoverageReport, WitnessReading, beacon_id};
pub use credits::CreditsCall;
pub use device::DeviceTransaction;
pub use oracle::OracleCall;
pub use storage::{StorageCall, StorageReport, deal_id, deal_set_id};
pub use uptime::UptimeReport;
pub use usage::{UsageCall, Voucher, session_id};

use crate::domain::ChainId;
use crate::hash::{Digest, hash};
use crate::keys::DeviceId;
use crate::limits::{MAX_PROOF_TRANSACTION_BYTES, MAX_TRANSACTION_BYTES};
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// One module's calls or reports: an enum whose encoding starts with the message byte.
pub trait Message: Write + EncodeSize + Read<Cfg = ()> {
    /// The module's name, as in signing namespaces and RPC namespaces. Frozen.
    const MODULE: &'static str;
    /// The message's name within its module, as in signing namespaces. Frozen.
    fn name(&self) -> &'static str;
}

/// Declares the enum of every module's messages of one envelope, one line per module:
/// `Variant(Type) = module byte`. It encodes as the module byte, then the message.
macro_rules! module_messages {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident($ty:ty) = $byte:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant($ty),)+
        }

        impl $name {
            /// The module byte.
            pub fn module_byte(&self) -> u8 {
                match self {
                    $($name::$variant(_) => $byte,)+
                }
            }

            /// The module's name.
            pub fn module(&self) -> &'static str {
                match self {
                    $($name::$variant(_) => <$ty as Message>::MODULE,)+
                }
            }

            /// The message's name within its module.
            pub fn name(&self) -> &'static str {
                match self {
                    $($name::$variant(m) => Message::name(m),)+
                }
            }

            /// `module/message`, for receipts and logs.
            pub fn full_name(&self) -> String {
                format!("{}/{}", self.module(), self.name())
            }

            /// The namespace this message is signed under on `chain`.
            pub fn namespace(&self, chain: &ChainId) -> Vec<u8> {
                chain.namespace(self.module(), self.name())
            }
        }

        impl Write for $name {
            fn write(&self, buf: &mut impl bytes::BufMut) {
                self.module_byte().write(buf);
                match self {
                    $($name::$variant(m) => m.write(buf),)+
                }
            }
        }

        impl EncodeSize for $name {
            fn encode_size(&self) -> usize {
                1 + match self {
                    $($name::$variant(m) => m.encode_size(),)+
                }
            }
        }

        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                match u8::read(buf)? {
                    $($byte => Ok($name::$variant(<$ty>::read(buf)?)),)+
                    other => Err(CodecError::InvalidEnum(other)),
                }
            }
        }

        $(impl From<$ty> for $name {
            fn from(message: $ty) -> Self {
                $name::$variant(message)
            }
        })+
    };
}

module_messages! {
    /// What an account transaction asks of a module.
    Call {
        Core(CoreCall) = 0,
        Challenges(ChallengeCall) = 3,
        Oracle(OracleCall) = 4,
        Credits(CreditsCall) = 5,
        Usage(UsageCall) = 6,
        Attest(AttestCall) = 7,
        Storage(StorageCall) = 8,
        Compute(ComputeCall) = 9,
    }
}

module_messages! {
    /// What a device transaction reports to a module.
    Report {
        Uptime(UptimeReport) = 1,
        Coverage(CoverageReport) = 2,
        Storage(StorageReport) = 8,
        Compute(ComputeReport) = 9,
    }
}

impl Report {
    /// What, besides the device and the message type, tells two pending reports apart: the
    /// mempool keeps one report per (device, module, message, subject).
    pub fn subject(&self) -> Option<Digest> {
        match self {
            Report::Coverage(CoverageReport::Witness { beacon, .. }) => Some(*beacon),
            Report::Storage(report) => Some(report.deal()),
            Report::Compute(report) => Some(report.subject()),
            _ => None,
        }
    }
}

/// Any transaction.
// Account transactions are larger, but boxing them would cost an allocation per decoded
// transaction for no measured gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    Account(AccountTransaction),
    Device(DeviceTransaction),
}

impl Transaction {
    /// The transaction id: SHA-256 of its canonical encoding.
    pub fn hash(&self) -> Digest {
        hash(&self.encode())
    }

    /// Decodes one transaction from untrusted bytes: bounded size, no trailing bytes.
    pub fn decode_untrusted(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX_PROOF_TRANSACTION_BYTES {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        let transaction: Self = crate::decode_exact(bytes)?;
        if bytes.len() > transaction.max_encoded_bytes() {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        Ok(transaction)
    }

    /// The largest this transaction may be: [`MAX_PROOF_TRANSACTION_BYTES`] for a storage
    /// proof, which carries leaf bytes, [`MAX_TRANSACTION_BYTES`] for everything else.
    pub fn max_encoded_bytes(&self) -> usize {
        match self {
            Transaction::Device(tx)
                if matches!(tx.report, Report::Storage(StorageReport::Prove { .. })) =>
            {
                MAX_PROOF_TRANSACTION_BYTES
            }
            _ => MAX_TRANSACTION_BYTES,
        }
    }

    /// Checks the transaction's own signature for `chain` (not a device's ownership proof,
    /// which the state machine checks against the owner).
    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        match self {
            Transaction::Account(tx) => tx.verify_signature(chain),
            Transaction::Device(tx) => tx.verify_signature(chain),
        }
    }

    /// The device that signed this transaction, for device transactions.
    pub fn device(&self) -> Option<&DeviceId> {
        match self {
            Transaction::Account(_) => None,
            Transaction::Device(tx) => Some(&tx.device),
        }
    }

    /// `module/message` of what the transaction carries, for receipts and logs.
    pub fn kind_name(&self) -> String {
        match self {
            Transaction::Account(tx) => tx.call.full_name(),
            Transaction::Device(tx) => tx.report.full_name(),
        }
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            Transaction::Account(tx) => {
                0u8.write(buf);
                tx.write(buf);
            }
            Transaction::Device(tx) => {
                1u8.write(buf);
                tx.write(buf);
            }
        }
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        1 + match self {
            Transaction::Account(tx) => tx.encode_size(),
            Transaction::Device(tx) => tx.encode_size(),
        }
    }
}

impl Read for Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(Transaction::Account(AccountTransaction::read(buf)?)),
            1 => Ok(Transaction::Device(DeviceTransaction::read(buf)?)),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

#[cfg(test)]
mod tests;
