//! Why the credits module rejected a transaction. Codes 1100–1199: never renumbered or reused.

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreditsError {
    /// Zero credits asked for.
    #[error("buy at least one credit")]
    ZeroCredits,
    /// More credits in one purchase than the chain allows.
    #[error("{credits} credits in one purchase; at most {max}")]
    TooManyCredits { credits: u64, max: u64 },
    /// The purchase's cost does not fit the token's range at this price.
    #[error(
        "{credits} credits at a burn price of {burn_price_micro_usd} micro-USD per token cost more tokens than exist"
    )]
    CostOverflow {
        credits: u64,
        burn_price_micro_usd: u64,
    },
}

impl CreditsError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            CreditsError::ZeroCredits => 1100,
            CreditsError::TooManyCredits { .. } => 1101,
            CreditsError::CostOverflow { .. } => 1102,
        }
    }
}
