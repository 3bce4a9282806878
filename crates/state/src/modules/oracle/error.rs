//! Why the oracle module rejected a transaction. Codes 1000–1099: never renumbered or reused.

use groundwork_primitives::Address;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    /// The signer is not one of the genesis oracle accounts.
    #[error("{signer} is not an oracle account of this chain")]
    NotAnOracle { signer: Address },
    /// A price of zero.
    #[error("a price must be above zero micro-USD per token")]
    ZeroPrice,
    /// Fewer than a quorum of oracles submitted within the maximum age: there is no price, and
    /// nothing valued by it (buying credits, usage mints) can run.
    #[error(
        "the token price is unavailable: {fresh} oracle submissions are fresh (at most {max_age_blocks} blocks old), {quorum} needed"
    )]
    PriceUnavailable {
        fresh: u8,
        quorum: u8,
        max_age_blocks: u64,
    },
}

impl OracleError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            OracleError::NotAnOracle { .. } => 1000,
            OracleError::ZeroPrice => 1001,
            OracleError::PriceUnavailable { .. } => 1002,
        }
    }
}
