//! A device's coverage reward explained: every beacon it took part in, worked out again from
//! what settlement fixed.

use super::{
    BeaconShare, Coverage, CoverageParams, CoverageReward, CoverageSummary, MAX_FREQUENCY_DELTA_HZ,
    MAX_REWARDED_WITNESSES, MAX_WITNESS_DISTANCE_M, MIN_COMPARABLE_REPORTS,
    MIN_GRID_DISTANCE_RES11, PEER_MARGIN_CDB, ReportCheck, Settlement, WitnessRecord,
};
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
    /// The same computation in words, one step a line, with the numbers filled in.
    pub steps: Vec<String>,
}

impl Coverage {
    /// Explains a device's coverage reward for an ended epoch (while its beacons are retained).
    pub(crate) fn explain(
        &self,
        params: &CoverageParams,
        device: &DeviceId,
        epoch: u64,
    ) -> Option<CoverageExplanation> {
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
        for share in &mut shares {
            if let Some(report) = &share.report {
                share.checks = self.report_checks(params, &share.beacon, report);
            }
        }
        let (beacon_units, witness_units) = shares.iter().fold((0u64, 0u64), |(b, w), s| {
            if s.as_beaconer {
                (b.saturating_add(s.units), w)
            } else {
                (b, w.saturating_add(s.units))
            }
        });
        let recomputed = summary.amount_for(beacon_units, witness_units);
        let steps = describe(&reward, &summary);
        Some(CoverageExplanation {
            epoch,
            reward,
            summary,
            shares,
            recomputed,
            steps,
        })
    }

    /// The checks a stored witness report passed, with the numbers and limits they used.
    fn report_checks(
        &self,
        params: &CoverageParams,
        beacon: &groundwork_primitives::Digest,
        report: &WitnessRecord,
    ) -> Vec<ReportCheck> {
        let beacon = self.beacon(beacon);
        let beacon_height = beacon.as_ref().map_or(report.height, |b| b.height);
        let beacon_frequency = beacon.as_ref().map_or(0, |b| b.radio.frequency_hz);
        let number = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let check = |check: String, measured, limit| ReportCheck {
            check,
            measured,
            limit,
        };
        vec![
            check("not a self-witness".to_string(), None, None),
            check(
                "within the witness window".to_string(),
                Some((
                    "blocks_after",
                    number(report.height.saturating_sub(beacon_height)),
                )),
                Some(("max", number(params.witness_window_blocks))),
            ),
            check(
                format!("frequency within {} kHz", MAX_FREQUENCY_DELTA_HZ / 1_000),
                Some((
                    "delta_hz",
                    number(beacon_frequency.abs_diff(report.reading.frequency_hz)),
                )),
                Some(("max", number(MAX_FREQUENCY_DELTA_HZ))),
            ),
            check(
                format!("res-11 grid distance at least {MIN_GRID_DISTANCE_RES11}"),
                Some(("grid_distance", i64::from(report.grid_distance_res11))),
                Some(("min", i64::from(MIN_GRID_DISTANCE_RES11))),
            ),
            check(
                format!("distance at most {} km", MAX_WITNESS_DISTANCE_M / 1_000),
                Some(("meters", i64::from(report.distance_m))),
                Some(("max", i64::from(MAX_WITNESS_DISTANCE_M))),
            ),
            check(
                "RSSI within free space".to_string(),
                Some(("rssi_cdbm", i64::from(report.reading.rssi_dbm) * 100)),
                Some(("max_cdbm", i64::from(report.max_rssi_cdbm))),
            ),
            check(
                format!("among the first {MAX_REWARDED_WITNESSES} valid witnesses"),
                None,
                None,
            ),
        ]
    }
}

/// The coverage reward's computation in words, one step a line.
fn describe(r: &CoverageReward, m: &CoverageSummary) -> Vec<String> {
    let line = if r.peers.out_of_line() {
        "out of line"
    } else {
        "in line"
    };
    vec![
        format!(
            "reports compared with the other reports of the same beacon: {} comparable, {} more than {} cdB louder than the median of the others; more than half of at least {} makes the device out of line and leaves all its shares out ({line})",
            r.peers.comparable, r.peers.deviant, PEER_MARGIN_CDB, MIN_COMPARABLE_REPORTS
        ),
        format!(
            "units are HIP-15 unit × the beaconer's hex scale (× the witness's own hex scale for a report; all in 1/10 000), summed over this device's beacons ({}) and witness reports ({}); shares failing reciprocity count 0 ({} here)",
            r.beacons, r.witnesses, r.reciprocity_misses
        ),
        format!(
            "beacon part = floor({} × {} / {}) = {}",
            m.beacon_pool,
            r.beacon_units,
            m.total_beacon_units,
            m.amount_for(r.beacon_units, 0)
        ),
        format!(
            "witness part = floor({} × {} / {}) = {}",
            m.witness_pool,
            r.witness_units,
            m.total_witness_units,
            m.amount_for(0, r.witness_units)
        ),
        format!(
            "coverage reward = {} base units, paid to {}",
            r.amount, r.owner
        ),
    ]
}
