//! The challenges module's section of the chain parameters, and its genesis rules.

use super::super::coverage::{BEACON_RETENTION_EPOCHS, CoverageParams, MAX_REWARDED_WITNESSES};
use crate::genesis::{BASIS_POINTS_TOTAL, GenesisError, invalid};
use groundwork_primitives::Amount;
use groundwork_primitives::impl_struct_codec;

/// Location challenge parameters (see `groundwork_state::challenge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeParams {
    /// Tokens a challenger locks. Zero turns challenges off.
    pub bond: Amount,
    /// Blocks after a challenge lands in which the device's owner may answer.
    pub answer_window_blocks: u64,
    /// Share of the device bond an upheld challenge slashes, in basis points; half goes to the
    /// challenger, half to the treasury.
    pub slash_bps: u16,
    /// Witnesses held by neither the owner nor the challenger that must hear the answer.
    pub min_answer_witnesses: u8,
}

impl ChallengeParams {
    /// Challenges off.
    pub fn disabled() -> Self {
        Self {
            bond: Amount::ZERO,
            answer_window_blocks: 1_440,
            slash_bps: 5_000,
            min_answer_witnesses: 3,
        }
    }
}
impl_struct_codec!(ChallengeParams {
    bond,
    answer_window_blocks,
    slash_bps,
    min_answer_witnesses
});

impl ChallengeParams {
    /// Refuses a value genesis may not set, naming its field. Challenges depend on the epoch
    /// length (how long beacons stay in state) and on coverage's intervals.
    pub(crate) fn validate(
        &self,
        epoch_length_blocks: u64,
        coverage: &CoverageParams,
    ) -> Result<(), GenesisError> {
        // The answer beacon must still be in state when the challenge resolves: beacons stay
        // for BEACON_RETENTION_EPOCHS epochs after the one that settles them.
        let longest = epoch_length_blocks.saturating_mul(BEACON_RETENTION_EPOCHS);
        let needed = self
            .answer_window_blocks
            .saturating_add(coverage.witness_window_blocks);
        // The owner must be able to beacon once inside the window, however recently the device
        // beaconed before the challenge.
        if self.answer_window_blocks < coverage.beacon_interval_blocks {
            return Err(invalid(
                "challenges.answer_window_blocks",
                format!(
                    "{} is shorter than the beacon interval ({} blocks): a device could not answer",
                    self.answer_window_blocks, coverage.beacon_interval_blocks
                ),
            ));
        }
        if self.answer_window_blocks == 0 || needed > longest {
            return Err(invalid(
                "challenges.answer_window_blocks",
                format!(
                    "must be at least 1, and with the witness window at most {longest} blocks ({BEACON_RETENTION_EPOCHS} epochs)"
                ),
            ));
        }
        if u32::from(self.slash_bps) > BASIS_POINTS_TOTAL {
            return Err(invalid(
                "challenges.slash_bps",
                format!(
                    "{} is more than {BASIS_POINTS_TOTAL} basis points",
                    self.slash_bps
                ),
            ));
        }
        let max = MAX_REWARDED_WITNESSES;
        if self.min_answer_witnesses == 0 || self.min_answer_witnesses > max {
            return Err(invalid(
                "challenges.min_answer_witnesses",
                format!("must be between 1 and {max}"),
            ));
        }
        Ok(())
    }
}
