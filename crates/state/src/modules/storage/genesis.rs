//! The storage module's `[storage]` table of the genesis file.

use super::StorageParams;
use crate::genesis::{
    BASIS_POINTS_TOTAL, GenesisError, GenesisSection, Params, invalid, parse_amount,
};
use groundwork_primitives::Amount;
use groundwork_primitives::limits::MAX_CHALLENGES_PER_PERIOD;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageSection {
    period_blocks: u64,
    challenges_per_period: u16,
    accept_window_blocks: u64,
    fault_slash_bps: u16,
    slash_to_client_bps: u16,
    max_faults: u32,
    min_collateral_per_gib: String,
    max_periods: u32,
    checkers_per_deal: u16,
    min_retrieval_bps: u16,
}

impl GenesisSection for StorageParams {
    type File = StorageSection;

    fn absent() -> Self {
        Self::daily()
    }

    /// Ten-block periods (six an epoch), so a dev chain shows proofs, faults and payments
    /// within a minute.
    fn local() -> Self {
        Self {
            period_blocks: 10,
            accept_window_blocks: 30,
            checkers_per_deal: 2,
            ..Self::daily()
        }
    }

    fn from_file(s: StorageSection) -> Result<Self, GenesisError> {
        Ok(Self {
            period_blocks: s.period_blocks,
            challenges_per_period: s.challenges_per_period,
            accept_window_blocks: s.accept_window_blocks,
            fault_slash_bps: s.fault_slash_bps,
            slash_to_client_bps: s.slash_to_client_bps,
            max_faults: s.max_faults,
            min_collateral_per_gib: parse_amount(
                "storage.min_collateral_per_gib",
                &s.min_collateral_per_gib,
            )?,
            max_periods: s.max_periods,
            checkers_per_deal: s.checkers_per_deal,
            min_retrieval_bps: s.min_retrieval_bps,
        })
    }

    fn check(&self, params: &Params) -> Result<(), GenesisError> {
        let _ = params;
        if self.period_blocks < 2 {
            return Err(invalid("storage.period_blocks", "must be at least 2"));
        }
        let k = usize::from(self.challenges_per_period);
        if !(5..=MAX_CHALLENGES_PER_PERIOD).contains(&k) {
            return Err(invalid(
                "storage.challenges_per_period",
                format!("must be between 5 and {MAX_CHALLENGES_PER_PERIOD}"),
            ));
        }
        if self.accept_window_blocks == 0 {
            return Err(invalid(
                "storage.accept_window_blocks",
                "must be at least 1",
            ));
        }
        for (field, bps) in [
            ("storage.fault_slash_bps", self.fault_slash_bps),
            ("storage.slash_to_client_bps", self.slash_to_client_bps),
            ("storage.min_retrieval_bps", self.min_retrieval_bps),
        ] {
            if u32::from(bps) > BASIS_POINTS_TOTAL {
                return Err(invalid(
                    field,
                    format!("{bps} is more than {BASIS_POINTS_TOTAL}"),
                ));
            }
        }
        if self.checkers_per_deal > 16 {
            return Err(invalid("storage.checkers_per_deal", "must be at most 16"));
        }
        if self.max_faults == 0 {
            return Err(invalid("storage.max_faults", "must be at least 1"));
        }
        if self.max_periods == 0 || self.max_periods > 100_000 {
            return Err(invalid(
                "storage.max_periods",
                "must be between 1 and 100000",
            ));
        }
        if self.min_collateral_per_gib == Amount::ZERO {
            return Err(invalid(
                "storage.min_collateral_per_gib",
                "must be above zero: a fault must cost something",
            ));
        }
        Ok(())
    }

    fn to_toml(&self) -> String {
        format!(
            "\n[storage]\n# Blocks in one proving period; every active deal proves possession once a period.\nperiod_blocks = {}\n\
             # Leaves challenged per deal per period (5 to {MAX_CHALLENGES_PER_PERIOD}).\nchallenges_per_period = {}\n\
             # Blocks a provider has to accept a proposed deal before its escrow goes back.\naccept_window_blocks = {}\n\
             # Share of a deal's collateral slashed for each missed or failed proof, in basis points.\nfault_slash_bps = {}\n\
             # Share of a slash paid to the client; the rest is burned.\nslash_to_client_bps = {}\n\
             # Consecutive faults that terminate a deal.\nmax_faults = {}\n\
             # Least collateral a provider locks per GiB of capacity, in base units.\nmin_collateral_per_gib = \"{}\"\n\
             # Longest deal, in periods.\nmax_periods = {}\n\
             # Retrieval checkers drawn per deal per period among the other providers (0: none).\ncheckers_per_deal = {}\n\
             # Least share of a period's posted checks that must succeed for it to be paid, in basis points.\nmin_retrieval_bps = {}\n",
            self.period_blocks,
            self.challenges_per_period,
            self.accept_window_blocks,
            self.fault_slash_bps,
            self.slash_to_client_bps,
            self.max_faults,
            self.min_collateral_per_gib,
            self.max_periods,
            self.checkers_per_deal,
            self.min_retrieval_bps
        )
    }
}
