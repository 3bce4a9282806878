//! Why the usage module rejected a transaction. Codes 1200–1299: never renumbered or reused.

use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, DeviceId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// The device has no offer (or withdrew it).
    #[error("device {device} offers no service")]
    NoOffer { device: DeviceId },
    /// A session's price is not the device's current offer.
    #[error("price {asked} credits per unit is not the offer's {offered}")]
    PriceNotOffered { asked: u64, offered: u64 },
    /// A session longer than the offer allows, or one that has already expired.
    #[error(
        "a session must end after this block and at most {max_blocks} blocks from now; it ends at {expires_at}"
    )]
    BadExpiry { expires_at: u64, max_blocks: u64 },
    /// A session that escrows nothing, or an offer of price zero.
    #[error("zero {what}")]
    Zero { what: &'static str },
    /// No session has this id.
    #[error("unknown session {session}")]
    UnknownSession { session: Digest },
    /// The session has ended and its grace window passed, or was refunded.
    #[error("session {session} is closed: settlement was accepted until block {settle_by}")]
    SessionClosed { session: Digest, settle_by: u64 },
    /// A voucher whose cumulative total is not above what was settled already.
    #[error("stale voucher: it totals {cumulative} credits, {settled} are settled already")]
    StaleVoucher { cumulative: u64, settled: u64 },
    /// A voucher for more credits than the session escrowed.
    #[error("voucher totals {cumulative} credits, above the {escrowed} in escrow")]
    AboveEscrow { cumulative: u64, escrowed: u64 },
    /// A voucher whose credits are not its units at the session's price.
    #[error(
        "voucher charges {credits} credits for {units} units; at the session's price of {price} that is not right"
    )]
    VoucherPrice {
        units: u64,
        credits: u64,
        price: u64,
    },
    /// The customer's signature over the voucher does not verify (another session, chain or
    /// key).
    #[error("the voucher is not signed by the session's customer")]
    BadCustomerSignature,
    /// The device's co-signature does not verify.
    #[error("the voucher is not co-signed by the session's device")]
    BadDeviceSignature,
    /// Neither the customer nor the device's owner sent it.
    #[error("{signer} is neither the session's customer nor its device's owner")]
    NotAParty { signer: Address },
    /// Only the customer may end a session early.
    #[error("only the session's customer may close it")]
    NotTheCustomer,
}

impl UsageError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            UsageError::NoOffer { .. } => 1200,
            UsageError::PriceNotOffered { .. } => 1201,
            UsageError::BadExpiry { .. } => 1202,
            UsageError::Zero { .. } => 1203,
            UsageError::UnknownSession { .. } => 1204,
            UsageError::SessionClosed { .. } => 1205,
            UsageError::StaleVoucher { .. } => 1206,
            UsageError::AboveEscrow { .. } => 1207,
            UsageError::VoucherPrice { .. } => 1208,
            UsageError::BadCustomerSignature => 1209,
            UsageError::BadDeviceSignature => 1210,
            UsageError::NotAParty { .. } => 1211,
            UsageError::NotTheCustomer => 1212,
        }
    }
}
