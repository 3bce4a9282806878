//! The token's USD price, from oracle accounts, built so that lying does not pay.
//!
//! Each genesis oracle account submits its observation of the price (`oracle/submit-price`);
//! the latest one per oracle counts while it is at most `max_age_blocks` old. With at least
//! `quorum` fresh submissions, the chain's **median** is their median (the mean of the middle
//! two for an even count, rounded down): one oracle, or any minority, reporting a wild value
//! moves it no further than the honest values around the middle.
//!
//! At every block's end the median (if any) is recorded, and the **average** is the mean of
//! the medians recorded over the last `smoothing_window_blocks` blocks, this one's included.
//! What it is used for decides which of the two counts, always the one that pays the
//! manipulator less:
//!
//! - **burn price** = min(median, average): buying credits with tokens. A briefly pumped
//!   price would give more credits per token; the lower figure refuses that.
//! - **mint price** = max(median, average): minting tokens worth a USD amount. A briefly
//!   crashed price would mint more tokens; the higher figure refuses that.
//!
//! With fewer than a quorum fresh, the price is unavailable and everything valued by it is
//! refused with [`OracleError::PriceUnavailable`].

mod error;
mod genesis;
mod params;

pub use error::OracleError;
pub use params::{MAX_ORACLES, MAX_SMOOTHING_WINDOW_BLOCKS, OracleParams};

use crate::core::Singleton;
use crate::error::{BlockError, InvariantViolation, TxError};
use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::table::{AnyTable, Table};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{Address, OracleCall};

/// An oracle's latest submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submission {
    pub micro_usd_per_token: u64,
    /// The height it landed at.
    pub height: u64,
}
impl_struct_codec!(Submission {
    micro_usd_per_token,
    height
});

/// The running sum of the recorded medians in the smoothing window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleSum {
    pub sum: u128,
    pub count: u64,
}
impl_struct_codec!(SampleSum { sum, count });

/// The chain's price at one height, and the figures it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OraclePrice {
    /// Median of the fresh submissions, micro-USD per token.
    pub median: u64,
    /// Mean of the medians over the smoothing window, this height's included.
    pub average: u64,
    /// Fresh submissions behind the median.
    pub fresh: u8,
}
impl_struct_codec!(OraclePrice {
    median,
    average,
    fresh
});

impl OraclePrice {
    /// The price that values tokens burned for something (credits): the lower figure.
    pub fn burn(&self) -> u64 {
        self.median.min(self.average)
    }

    /// The price that values tokens minted for a USD amount: the higher figure.
    pub fn mint(&self) -> u64 {
        self.median.max(self.average)
    }
}

/// The median of `prices` (sorted here), the mean of the middle two for an even count,
/// rounded down; `None` for no prices.
pub fn median(prices: &mut [u64]) -> Option<u64> {
    prices.sort_unstable();
    let n = prices.len();
    let middle = n.checked_div(2)?;
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        return prices.get(middle).copied();
    }
    let low = u128::from(*prices.get(middle.checked_sub(1)?)?);
    let high = u128::from(*prices.get(middle)?);
    // The mean of two u64 values fits a u64.
    u64::try_from((low + high) / 2).ok()
}

/// Table prefixes of the oracle module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const SUBMISSION: u8 = 0x40;
    pub const PRICE_SAMPLE: u8 = 0x41;
    pub const SAMPLE_SUM: u8 = 0x42;
    pub const EPOCH_PRICE: u8 = 0x43;
    pub const ORACLE_PARAMS: u8 = 0x44;
}

#[derive(Clone, Debug)]
pub(crate) struct Oracle {
    /// Each oracle's latest submission.
    submissions: Table<Address, Submission>,
    /// The median recorded at each height of the smoothing window.
    samples: Table<u64, u64>,
    samples_sum: Table<Singleton, SampleSum>,
    /// The price at each epoch's last block, for `epoch_get` and the explanation.
    epoch_prices: Table<u64, OraclePrice>,
    params: Table<Singleton, OracleParams>,
}

impl Module for Oracle {
    fn store_params(&mut self, params: &Params) {
        self.params
            .insert_committed(Singleton, params.oracle.clone());
    }

    fn check(&self) -> Result<(), InvariantViolation> {
        if self.samples_consistent() {
            Ok(())
        } else {
            Err(InvariantViolation::PriceSamples)
        }
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .cloned()
            .map(|stored| params.oracle = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "oracle",
            prefixes: 0x40..=0x4F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.submissions,
            &self.samples,
            &self.samples_sum,
            &self.epoch_prices,
            &self.params,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.submissions,
            &mut self.samples,
            &mut self.samples_sum,
            &mut self.epoch_prices,
            &mut self.params,
        ]
    }
}

impl Oracle {
    pub(crate) fn new() -> Self {
        Self {
            submissions: Table::new(prefix::SUBMISSION, "oracle submissions"),
            samples: Table::new(prefix::PRICE_SAMPLE, "price samples"),
            samples_sum: Table::new(prefix::SAMPLE_SUM, "price sample sum"),
            epoch_prices: Table::new(prefix::EPOCH_PRICE, "epoch prices"),
            params: Table::new(prefix::ORACLE_PARAMS, "oracle params"),
        }
    }

    /// Applies one of the module's calls, its fee already paid.
    pub(crate) fn apply_call(
        &mut self,
        params: &OracleParams,
        sender: &Address,
        call: &OracleCall,
        height: u64,
    ) -> Result<(), TxError> {
        match call {
            OracleCall::SubmitPrice {
                micro_usd_per_token,
            } => {
                if !params.is_oracle(sender) {
                    return Err(TxError::Oracle(OracleError::NotAnOracle {
                        signer: *sender,
                    }));
                }
                if *micro_usd_per_token == 0 {
                    return Err(TxError::Oracle(OracleError::ZeroPrice));
                }
                self.submissions.put(
                    *sender,
                    Submission {
                        micro_usd_per_token: *micro_usd_per_token,
                        height,
                    },
                );
                Ok(())
            }
        }
    }

    /// Each oracle's latest submission, in account order.
    pub(crate) fn submissions(&self, params: &OracleParams) -> Vec<(Address, Submission)> {
        params
            .accounts
            .iter()
            .filter_map(|a| self.submissions.get(a).map(|s| (*a, *s)))
            .collect()
    }

    /// The median of the submissions fresh at `height`.
    fn median_at(&self, params: &OracleParams, height: u64) -> Result<(u64, u8), OracleError> {
        let mut fresh: Vec<u64> = self
            .submissions(params)
            .into_iter()
            .filter(|(_, s)| s.height.saturating_add(params.max_age_blocks) >= height)
            .map(|(_, s)| s.micro_usd_per_token)
            .collect();
        // At most MAX_ORACLES.
        let count = u8::try_from(fresh.len()).unwrap_or(u8::MAX);
        let unavailable = OracleError::PriceUnavailable {
            fresh: count,
            quorum: params.quorum,
            max_age_blocks: params.max_age_blocks,
        };
        if count < params.quorum || params.accounts.is_empty() {
            return Err(unavailable);
        }
        let median = median(&mut fresh).ok_or(unavailable)?;
        Ok((median, count))
    }

    /// The chain's price at `height` (the block being executed).
    pub(crate) fn price(
        &self,
        params: &OracleParams,
        height: u64,
    ) -> Result<OraclePrice, OracleError> {
        let (median, fresh) = self.median_at(params, height)?;
        let recorded = self
            .samples_sum
            .get(&Singleton)
            .copied()
            .unwrap_or_default();
        // Window sums are bounded by MAX_SMOOTHING_WINDOW_BLOCKS · u64::MAX, far inside u128.
        let sum = recorded.sum.saturating_add(u128::from(median));
        let count = u128::from(recorded.count).saturating_add(1);
        let average = u64::try_from(sum / count).unwrap_or(u64::MAX);
        Ok(OraclePrice {
            median,
            average,
            fresh,
        })
    }

    /// The block step: records this height's median in the smoothing window and drops the
    /// one that leaves it; at an epoch's last block, keeps the price for the epoch's record.
    pub(crate) fn end_block(
        &mut self,
        params: &OracleParams,
        height: u64,
        ended_epoch: Option<u64>,
    ) -> Result<(), BlockError> {
        let overflow = BlockError::Arithmetic {
            context: "price samples",
        };
        let before = self
            .samples_sum
            .get(&Singleton)
            .copied()
            .unwrap_or_default();
        let mut sum = before;
        // Samples kept after this block: heights height+2−W ..= height, so the next block's
        // average covers W heights with its own.
        let window = params.smoothing_window_blocks;
        if let Some(leaving) = height.checked_add(1).and_then(|h| h.checked_sub(window))
            && let Some(&old) = self.samples.get(&leaving)
        {
            sum.sum = sum
                .sum
                .checked_sub(u128::from(old))
                .ok_or(overflow.clone())?;
            sum.count = sum.count.checked_sub(1).ok_or(overflow.clone())?;
            self.samples.delete(leaving);
        }
        let price = self.price(params, height).ok();
        if let (Some(price), true) = (price, window > 1) {
            sum.sum = sum
                .sum
                .checked_add(u128::from(price.median))
                .ok_or(overflow.clone())?;
            sum.count = sum.count.checked_add(1).ok_or(overflow)?;
            self.samples.put(height, price.median);
        }
        // Written only when it moves, so a chain without prices writes nothing here.
        if sum != before {
            self.samples_sum.put(Singleton, sum);
        }
        if let (Some(epoch), Some(price)) = (ended_epoch, price) {
            self.epoch_prices.put(epoch, price);
        }
        Ok(())
    }

    /// The price recorded at an epoch's last block, if there was one.
    pub(crate) fn epoch_price(&self, epoch: u64) -> Option<OraclePrice> {
        self.epoch_prices.get(&epoch).copied()
    }

    /// Whether the running sum matches the recorded samples (checked with the invariants).
    pub(crate) fn samples_consistent(&self) -> bool {
        let recorded = self
            .samples_sum
            .get(&Singleton)
            .copied()
            .unwrap_or_default();
        let samples = self.samples.committed();
        let sum: Option<u128> = samples
            .values()
            .try_fold(0u128, |acc, &v| acc.checked_add(u128::from(v)));
        sum == Some(recorded.sum) && samples.len() as u64 == recorded.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_by_hand() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [7]), Some(7));
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        // Even: the mean of the middle two, rounded down: (2 + 5) / 2 = 3.
        assert_eq!(median(&mut [9, 2, 5, 1]), Some(3));
        assert_eq!(median(&mut [u64::MAX, u64::MAX]), Some(u64::MAX));
    }

    #[test]
    fn one_oracle_in_five_at_a_hundred_times_moves_the_median_by_under_one_percent() {
        let honest = [2_000_000, 2_010_000, 1_995_000, 2_005_000, 1_990_000];
        let fair = median(&mut honest.clone()).unwrap();
        for liar in 0..honest.len() {
            for factor in [100u64, 0] {
                let mut prices = honest;
                prices[liar] = prices[liar].saturating_mul(factor).max(1);
                let moved = median(&mut prices).unwrap();
                let change = moved.abs_diff(fair) * 10_000 / fair;
                assert!(change < 100, "liar {liar} ×{factor}: {fair} → {moved}");
            }
        }
    }

    #[test]
    fn burns_take_the_lower_figure_and_mints_the_higher() {
        let pumped = OraclePrice {
            median: 3_000_000,
            average: 2_100_000,
            fresh: 5,
        };
        assert_eq!(pumped.burn(), 2_100_000);
        assert_eq!(pumped.mint(), 3_000_000);
        let crashed = OraclePrice {
            median: 1_000_000,
            average: 1_900_000,
            fresh: 5,
        };
        assert_eq!(crashed.burn(), 1_000_000);
        assert_eq!(crashed.mint(), 1_900_000);
    }
}
