//! A device's coverage reward explained: every beacon it took part in, worked out again from
//! what settlement fixed.

use super::BeaconShare;
use super::{Coverage, CoverageReward, CoverageSummary, Settlement};
use groundwork_primitives::DeviceId;

/// Why a device got its coverage reward for an epoch: every beacon it took part in, with the
/// numbers behind each check and share, and the pool arithmetic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageExplanation {
    pub epoch: u64,
    pub reward: CoverageReward,
    pub summary: CoverageSummary,
    /// The device's part in each beacon settled in the epoch.
    pub shares: Vec<BeaconShare>,
    /// The amount worked out again from `shares` and `summary` alone.
    pub recomputed: groundwork_primitives::Amount,
}

impl Coverage {
    /// Explains a device's coverage reward for an ended epoch (while its beacons are retained).
    pub(crate) fn explain(&self, device: &DeviceId, epoch: u64) -> Option<CoverageExplanation> {
        let reward = self.reward(epoch, device)?;
        let summary = self.summary(epoch)?;
        let empty = Settlement::default();
        let mut shares = Vec::new();
        for key in self
            .rewarded_beacons
            .keys()
            .into_iter()
            .filter(|k| k.0 == epoch)
        {
            let Some(settled) = self.rewarded_beacons.get(&key) else {
                continue;
            };
            let Some((_, all)) = self.beacon_shares(&key.1, &empty, Some(settled)) else {
                continue;
            };
            shares.extend(all.into_iter().filter(|(d, _)| d == device).map(|(_, s)| s));
        }
        let (beacon_units, witness_units) = shares.iter().fold((0u64, 0u64), |(b, w), s| {
            if s.as_beaconer {
                (b.saturating_add(s.units), w)
            } else {
                (b, w.saturating_add(s.units))
            }
        });
        let recomputed = summary.amount_for(beacon_units, witness_units);
        Some(CoverageExplanation {
            epoch,
            reward,
            summary,
            shares,
            recomputed,
        })
    }
}
