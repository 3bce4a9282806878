//! Resolving challenges when they are due (see the module documentation for the rule).

use super::*;
use crate::core::Core;
use crate::error::BlockError;
use crate::genesis::ChallengeParams;
use crate::modules::coverage::Coverage;

impl Challenges {
    /// Resolves every challenge due at `height` (see the module documentation).
    pub(crate) fn end_block(
        &mut self,
        core: &mut Core,
        coverage: &Coverage,
        params: &ChallengeParams,
        height: u64,
    ) -> Result<(), BlockError> {
        let due: Vec<HeightChallenge> = self
            .open
            .keys()
            .into_iter()
            .take_while(|k| k.0 <= height)
            .collect();
        for key in due {
            self.open.delete(key.clone());
            let id = key.1;
            let mut challenge = self.challenge(&id).ok_or(BlockError::Invariant {
                context: "an open challenge without its record",
            })?;
            if let Some(beacon) = challenge.answer {
                let (count, median) = Self::independent_answer(core, coverage, &beacon, &challenge);
                challenge.answer_witnesses = count;
                challenge.answer_median_excess_cdb = median;
            }
            if challenge.answered_well(params.min_answer_witnesses) {
                // The device is where it says: the challenger's bond goes to its owner.
                core.release_escrow(&challenge.owner, challenge.bond, "forfeited bond")?;
                challenge.status = ChallengeStatus::Rejected;
                self.device_challenges.delete(challenge.device.clone());
                self.settle_held(core, &id, false, height)?;
            } else {
                core.release_escrow(&challenge.challenger, challenge.bond, "challenge payout")?;
                let slash =
                    core.slash_bond(&challenge.device, params.slash_bps, &challenge.challenger)?;
                challenge.status = ChallengeStatus::Upheld {
                    slashed: slash.slashed,
                };
                self.settle_held(core, &id, true, height)?;
            }
            challenge.resolved_at = Some(height);
            self.challenges.put(id, challenge);
        }
        Ok(())
    }

    /// The answer beacon's witnesses held by neither the owner nor the challenger: how many,
    /// and the median excess of their signals over the typical link at the asserted distance.
    fn independent_answer(
        core: &Core,
        coverage: &Coverage,
        beacon: &Digest,
        challenge: &Challenge,
    ) -> (u8, Option<i64>) {
        let Some(record) = coverage.beacon(beacon) else {
            return (0, None);
        };
        let mut excesses = Vec::new();
        for index in 0..record.witnesses {
            let Some(report) = coverage.witness_record(beacon, index) else {
                continue;
            };
            let independent = core
                .device(&report.witness)
                .is_some_and(|w| w.owner != challenge.owner && w.owner != challenge.challenger);
            if !independent {
                continue;
            }
            if let Ok(typical) = groundwork_coverage::typical_rssi_cdbm(
                i32::from(record.radio.tx_power_dbm),
                record.radio.frequency_hz,
                report.distance_m,
                i32::from(record.radio.antenna_gain_ddbi),
                i32::from(report.reading.antenna_gain_ddbi),
            ) {
                excesses.push(groundwork_coverage::excess_over_typical_cdb(
                    report.reading.rssi_dbm.into(),
                    typical,
                ));
            }
        }
        let count = u8::try_from(excesses.len()).unwrap_or(u8::MAX);
        (count, groundwork_coverage::median(&excesses))
    }
}
