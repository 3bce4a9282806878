//! Data credits at a stable USD price: what customers pay for service with.
//!
//! `credits/buy` burns the signer's tokens and mints non-transferable data credits to any
//! account (a customer funding its devices, say). A credit costs `credit_price_micro_usd`
//! (Helium's is 10: $0.00001) whatever the token trades at; the tokens burned are
//!
//! ```text
//! ceil(credits × credit_price_micro_usd × 10^decimals ÷ burn_price)
//! ```
//!
//! base units, at the oracle's burn price (micro-USD per whole token, the lower of its median
//! and average, see [`crate::modules::oracle`]). Rounding up means no purchase is ever
//! cheaper than its USD price. Without an oracle price no credits are sold.
//!
//! The module keeps the credit ledger's counters: credits minted, spent (by usage, later) and
//! outstanding, overall and per epoch with the tokens burned for them. The invariants check
//! that the accounts' credits add up to minted − spent.

mod error;
mod genesis;

pub use error::CreditsError;

use crate::core::{Core, Singleton};
use crate::error::{InvariantViolation, TxError};
use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::modules::oracle::{Oracle, OracleParams};
use crate::table::{AnyTable, Table};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{Address, Amount, CreditsCall};

/// Most credits one purchase may mint: $10 million at Helium's price, and far from overflow.
pub const MAX_CREDITS_PER_PURCHASE: u64 = 1_000_000_000_000;

/// The credits module's section of the chain parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditsParams {
    /// What one credit costs, in millionths of a US dollar.
    pub credit_price_micro_usd: u64,
}
impl_struct_codec!(CreditsParams {
    credit_price_micro_usd
});

impl CreditsParams {
    /// Helium's price: 10 micro-USD ($0.00001) per credit.
    pub fn helium() -> Self {
        Self {
            credit_price_micro_usd: 10,
        }
    }

    /// Refuses a value genesis may not set, naming its field.
    pub(crate) fn validate(&self) -> Result<(), crate::genesis::GenesisError> {
        if self.credit_price_micro_usd == 0 || self.credit_price_micro_usd > 1_000_000_000 {
            return Err(crate::genesis::invalid(
                "credits.credit_price_micro_usd",
                "must be between 1 and 1000000000 (a thousand dollars)",
            ));
        }
        Ok(())
    }
}

/// Credits minted and spent, and the tokens burned for them: overall, or in one epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreditCounters {
    pub minted: u64,
    pub spent: u64,
    pub tokens_burned: Amount,
}
impl_struct_codec!(CreditCounters {
    minted,
    spent,
    tokens_burned
});

impl CreditCounters {
    /// Credits minted and not yet spent.
    pub fn outstanding(&self) -> u64 {
        self.minted.saturating_sub(self.spent)
    }
}

/// Refuses a purchase of no credits or of more than one purchase may mint.
pub fn check_purchase(credits: u64) -> Result<(), CreditsError> {
    if credits == 0 {
        return Err(CreditsError::ZeroCredits);
    }
    if credits > MAX_CREDITS_PER_PURCHASE {
        return Err(CreditsError::TooManyCredits {
            credits,
            max: MAX_CREDITS_PER_PURCHASE,
        });
    }
    Ok(())
}

/// Tokens (base units) that `credits` cost at `burn_price` micro-USD per whole token.
pub fn credits_cost(
    params: &CreditsParams,
    decimals: u8,
    credits: u64,
    burn_price_micro_usd: u64,
) -> Result<Amount, CreditsError> {
    let overflow = CreditsError::CostOverflow {
        credits,
        burn_price_micro_usd,
    };
    let micro_usd = u128::from(credits)
        .checked_mul(u128::from(params.credit_price_micro_usd))
        .ok_or(overflow.clone())?;
    let scaled = 10u128
        .checked_pow(u32::from(decimals))
        .and_then(|unit| micro_usd.checked_mul(unit))
        .ok_or(overflow.clone())?;
    let price = u128::from(burn_price_micro_usd);
    if price == 0 {
        return Err(overflow);
    }
    Ok(Amount(scaled.div_ceil(price)))
}

/// Table prefixes of the credits module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const CREDIT_TOTALS: u8 = 0x50;
    pub const EPOCH_CREDITS: u8 = 0x51;
    pub const CREDITS_PARAMS: u8 = 0x52;
}

#[derive(Clone, Debug)]
pub(crate) struct Credits {
    totals: Table<Singleton, CreditCounters>,
    by_epoch: Table<u64, CreditCounters>,
    params: Table<Singleton, CreditsParams>,
}

impl Module for Credits {
    fn store_params(&mut self, params: &Params) {
        self.params.insert_committed(Singleton, params.credits);
    }

    /// Credits minted less credits spent.
    fn credits_outstanding(&self) -> Result<u64, InvariantViolation> {
        let totals = self.totals();
        totals
            .minted
            .checked_sub(totals.spent)
            .ok_or(InvariantViolation::Overflow {
                what: "credits spent exceed credits minted",
            })
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .copied()
            .map(|stored| params.credits = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "credits",
            prefixes: 0x50..=0x5F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![&self.totals, &self.by_epoch, &self.params]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![&mut self.totals, &mut self.by_epoch, &mut self.params]
    }
}

/// What one purchase cost, for receipts and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub credits: u64,
    pub tokens_burned: Amount,
    pub burn_price_micro_usd: u64,
}

impl Credits {
    pub(crate) fn new() -> Self {
        Self {
            totals: Table::new(prefix::CREDIT_TOTALS, "credit totals"),
            by_epoch: Table::new(prefix::EPOCH_CREDITS, "credits by epoch"),
            params: Table::new(prefix::CREDITS_PARAMS, "credits params"),
        }
    }

    /// Applies one of the module's calls, its fee already paid.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_call(
        &mut self,
        core: &mut Core,
        oracle: &Oracle,
        oracle_params: &OracleParams,
        params: &CreditsParams,
        decimals: u8,
        epoch: u64,
        sender: &Address,
        call: &CreditsCall,
        height: u64,
    ) -> Result<(), TxError> {
        match call {
            CreditsCall::Buy { recipient, credits } => {
                let credits = *credits;
                check_purchase(credits)?;
                let price = oracle.price(oracle_params, height)?;
                let cost = credits_cost(params, decimals, credits, price.burn())?;
                core.burn_for_credits(sender, recipient, cost, credits)?;
                self.count_minted(epoch, credits, cost)
            }
        }
    }

    fn count_minted(&mut self, epoch: u64, credits: u64, cost: Amount) -> Result<(), TxError> {
        let add = |c: CreditCounters| -> Option<CreditCounters> {
            Some(CreditCounters {
                minted: c.minted.checked_add(credits)?,
                spent: c.spent,
                tokens_burned: c.tokens_burned.checked_add(cost)?,
            })
        };
        let overflow = TxError::Core(crate::error::CoreError::AmountOverflow {
            what: "credits minted",
        });
        let totals = add(self.totals()).ok_or(overflow.clone())?;
        let in_epoch = add(self.epoch(epoch).unwrap_or_default()).ok_or(overflow)?;
        self.totals.put(Singleton, totals);
        self.by_epoch.put(epoch, in_epoch);
        Ok(())
    }

    /// Counts `credits` spent (settled by a usage session) in `epoch`.
    pub(crate) fn count_spent(&mut self, epoch: u64, credits: u64) -> Result<(), TxError> {
        let overflow = TxError::Core(crate::error::CoreError::AmountOverflow {
            what: "credits spent",
        });
        let mut totals = self.totals();
        totals.spent = totals.spent.checked_add(credits).ok_or(overflow.clone())?;
        let mut in_epoch = self.epoch(epoch).unwrap_or_default();
        in_epoch.spent = in_epoch.spent.checked_add(credits).ok_or(overflow)?;
        self.totals.put(Singleton, totals);
        self.by_epoch.put(epoch, in_epoch);
        Ok(())
    }

    /// Credits minted, spent and burned for, since genesis.
    pub(crate) fn totals(&self) -> CreditCounters {
        self.totals.get(&Singleton).copied().unwrap_or_default()
    }

    /// The same, in one epoch (`None` if nothing happened in it).
    pub(crate) fn epoch(&self, epoch: u64) -> Option<CreditCounters> {
        self.by_epoch.get(&epoch).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 000 credits at $0.00001 are $0.01. At $2.50 a token with 6 decimals that is 0.004
    /// tokens = 4 000 base units exactly; at $3.00 it is 3 333.33… base units, rounded up.
    #[test]
    fn the_cost_of_credits_by_hand() {
        let helium = CreditsParams::helium();
        assert_eq!(
            credits_cost(&helium, 6, 1_000, 2_500_000),
            Ok(Amount(4_000))
        );
        assert_eq!(
            credits_cost(&helium, 6, 1_000, 3_000_000),
            Ok(Amount(3_334))
        );
        // One credit at a very high price still costs one base unit, never zero.
        assert_eq!(credits_cost(&helium, 6, 1, u64::MAX), Ok(Amount(1)));
        assert!(matches!(
            credits_cost(&helium, 38, u64::MAX, 1),
            Err(CreditsError::CostOverflow { .. })
        ));
    }
}
