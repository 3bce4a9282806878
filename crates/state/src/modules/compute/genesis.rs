//! The compute module's `[compute]` table of the genesis file.

use super::{ComputeParams, MAX_REFEREES, RUNTIMES};
use crate::genesis::{
    BASIS_POINTS_TOTAL, GenesisError, GenesisSection, Params, invalid, parse_amount,
};
use groundwork_primitives::Amount;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComputeSection {
    runtime: String,
    commit_window_blocks: u64,
    reveal_window_blocks: u64,
    accept_window_blocks: u64,
    referees: u8,
    slash_bps: u16,
    slash_to_honest_bps: u16,
    min_collateral: String,
    max_fuel_per_task: u64,
}

impl GenesisSection for ComputeParams {
    type File = ComputeSection;

    fn absent() -> Self {
        Self::daily()
    }

    /// Windows of a few blocks, so a dev chain verifies and pays a task within seconds; one
    /// token of collateral at least.
    fn local() -> Self {
        Self {
            commit_window_blocks: 20,
            reveal_window_blocks: 10,
            accept_window_blocks: 20,
            min_collateral: Amount(1_000_000),
            ..Self::daily()
        }
    }

    fn from_file(s: ComputeSection) -> Result<Self, GenesisError> {
        let runtime = RUNTIMES
            .iter()
            .position(|name| *name == s.runtime)
            .ok_or_else(|| {
                invalid(
                    "compute.runtime",
                    format!("{:?} is not one of {RUNTIMES:?}", s.runtime),
                )
            })?;
        Ok(Self {
            runtime: u8::try_from(runtime).unwrap_or(u8::MAX),
            commit_window_blocks: s.commit_window_blocks,
            reveal_window_blocks: s.reveal_window_blocks,
            accept_window_blocks: s.accept_window_blocks,
            referees: s.referees,
            slash_bps: s.slash_bps,
            slash_to_honest_bps: s.slash_to_honest_bps,
            min_collateral: parse_amount("compute.min_collateral", &s.min_collateral)?,
            max_fuel_per_task: s.max_fuel_per_task,
        })
    }

    fn check(&self, params: &Params) -> Result<(), GenesisError> {
        let _ = params;
        if usize::from(self.runtime) >= RUNTIMES.len() {
            return Err(invalid("compute.runtime", "unknown runtime"));
        }
        for (field, blocks) in [
            ("compute.commit_window_blocks", self.commit_window_blocks),
            ("compute.reveal_window_blocks", self.reveal_window_blocks),
            ("compute.accept_window_blocks", self.accept_window_blocks),
        ] {
            if blocks == 0 || blocks > 1_000_000 {
                return Err(invalid(field, "must be between 1 and 1000000"));
            }
        }
        if self.referees == 0 || self.referees > MAX_REFEREES || self.referees.is_multiple_of(2) {
            return Err(invalid(
                "compute.referees",
                format!("must be odd, from 1 to {MAX_REFEREES}, so a majority exists"),
            ));
        }
        for (field, bps) in [
            ("compute.slash_bps", self.slash_bps),
            ("compute.slash_to_honest_bps", self.slash_to_honest_bps),
        ] {
            if u32::from(bps) > BASIS_POINTS_TOTAL {
                return Err(invalid(
                    field,
                    format!("{bps} is more than {BASIS_POINTS_TOTAL}"),
                ));
            }
        }
        if self.min_collateral == Amount::ZERO {
            return Err(invalid(
                "compute.min_collateral",
                "must be above zero: a wrong result must cost something",
            ));
        }
        if self.max_fuel_per_task == 0 || self.max_fuel_per_task > 1 << 48 {
            return Err(invalid(
                "compute.max_fuel_per_task",
                "must be between 1 and 2^48",
            ));
        }
        Ok(())
    }

    fn to_toml(&self) -> String {
        format!(
            "\n[compute]\n# The WebAssembly runtime every provider and referee runs, pinned so a re-run is bit-identical.\nruntime = \"{}\"\n\
             # Blocks the assigned providers have to commit to their outcome.\ncommit_window_blocks = {}\n\
             # Blocks they then have to reveal it.\nreveal_window_blocks = {}\n\
             # Blocks an unverified task waits for a dispute before it is accepted and paid.\naccept_window_blocks = {}\n\
             # Providers on a referee committee (odd).\nreferees = {}\n\
             # Share of a provider's collateral slashed for a wrong or missing outcome, in basis points.\nslash_bps = {}\n\
             # Share of a slash paid to the honest side; the rest is burned.\nslash_to_honest_bps = {}\n\
             # Least collateral a compute provider locks, in base units.\nmin_collateral = \"{}\"\n\
             # Most fuel any task may use.\nmax_fuel_per_task = {}\n",
            self.runtime_name(),
            self.commit_window_blocks,
            self.reveal_window_blocks,
            self.accept_window_blocks,
            self.referees,
            self.slash_bps,
            self.slash_to_honest_bps,
            self.min_collateral,
            self.max_fuel_per_task
        )
    }
}
