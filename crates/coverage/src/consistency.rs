//! Whether signals fit the asserted places: a report compared with the other reports of the
//! same beacon, and a link compared with a typical path-loss model.
//!
//! A witness that asserts a place far from where it really is, or that inflates what it
//! measured, reports a beacon much louder than the other witnesses of that beacon heard it at
//! their distances. Comparing with the other reports of the same beacon cancels everything the
//! witnesses share (the beaconer's power, antenna and height), so only the witness's own claim
//! is tested. One loud report is shadowing or a rooftop; most of a device's reports being loud
//! is a claim that does not fit the physics.

use crate::rf::{RfError, below_free_space_cdbm, decades_cdb, gain_db};

/// Path-loss slope of a typical link, in centi-dB per decade of distance: 30 dB, a path-loss
/// exponent of 3 (free space is 2; measured suburban and urban links are 2.7 to 3.5).
pub const TYPICAL_SLOPE_CDB_PER_DECADE: i64 = 3_000;
/// Free space's own slope, in centi-dB per decade.
const FREE_SPACE_SLOPE_CDB_PER_DECADE: i64 = 2_000;
/// Distance from which links are compared, in metres; closer links count as this distance.
pub const REFERENCE_DISTANCE_M: u32 = crate::rf::PLAUSIBLE_REFERENCE_M;
/// A report is out of line when its signal, brought to the reference distance, is more than
/// this much stronger than the median of the other reports of the same beacon: 15 dB, about
/// 2σ of the difference between two shadowed links (σ = 6 dB each, against a median of peers).
pub const PEER_MARGIN_CDB: i64 = 1_500;
/// Fewest other reports of the same beacon a report is compared with.
pub const MIN_PEERS: usize = 2;
/// Fewest comparable reports of one device in an epoch before it is judged.
pub const MIN_COMPARABLE_REPORTS: u32 = 3;
/// A link is far louder than its asserted distance allows when its signal is more than this
/// above the typical model ([`typical_rssi_cdbm`]): 20 dB, beyond anything but a rare
/// line-of-sight link.
pub const LOCATION_MARGIN_CDB: i64 = 2_000;

/// A report's signal brought to the reference distance along the typical slope, less the
/// witness's own antenna gain, in centi-dBm: `100·(rssi − ⌊gain/10⌋) + ⌊3000·log10(d/100)⌋`.
/// Reports of one beacon are comparable once normalised this way.
pub fn normalised_signal_cdbm(rssi_dbm: i32, rx_gain_ddbi: i32, distance_m: u32) -> i64 {
    (i64::from(rssi_dbm) - i64::from(gain_db(rx_gain_ddbi))) * 100
        + decades_cdb(distance_m, TYPICAL_SLOPE_CDB_PER_DECADE)
}

/// For each report of one beacon (given as normalised signals, in report order): how much
/// stronger it is than the median of the OTHER reports, in centi-dB, or `None` with fewer than
/// [`MIN_PEERS`] others. With an even number of others the median is the mean of the middle
/// two, rounded down.
pub fn peer_deviations(normalised: &[i64]) -> Vec<Option<i64>> {
    let mut out = Vec::with_capacity(normalised.len());
    for (i, own) in normalised.iter().enumerate() {
        let others: Vec<i64> = normalised
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, v)| *v)
            .collect();
        let deviation = if others.len() < MIN_PEERS {
            None
        } else {
            median(&others).map(|m| own.saturating_sub(m))
        };
        out.push(deviation);
    }
    out
}

/// Whether one report stands out from its peers: deviation above [`PEER_MARGIN_CDB`].
pub fn deviates(deviation_cdb: i64) -> bool {
    deviation_cdb > PEER_MARGIN_CDB
}

/// Whether a device whose `comparable` reports in an epoch include `deviant` out-of-line ones
/// is judged out of line as a whole: at least [`MIN_COMPARABLE_REPORTS`] comparable, and more
/// than half of them out of line.
pub fn out_of_line(comparable: u32, deviant: u32) -> bool {
    comparable >= MIN_COMPARABLE_REPORTS && u64::from(deviant) * 2 > u64::from(comparable)
}

/// The signal a typical link would deliver, in centi-dBm: the free-space bound
/// ([`expected_rssi_cdbm`](crate::expected_rssi_cdbm)) less 10 dB per decade past 100 m, i.e. the typical slope of 30 dB
/// per decade overall.
pub fn typical_rssi_cdbm(
    tx_power_dbm: i32,
    freq_hz: u64,
    distance_m: u32,
    tx_gain_ddbi: i32,
    rx_gain_ddbi: i32,
) -> Result<i32, RfError> {
    below_free_space_cdbm(
        [tx_power_dbm, tx_gain_ddbi, rx_gain_ddbi],
        freq_hz,
        distance_m,
        TYPICAL_SLOPE_CDB_PER_DECADE - FREE_SPACE_SLOPE_CDB_PER_DECADE,
        0,
    )
}

/// How much stronger a reported signal (whole dBm) is than [`typical_rssi_cdbm`], in centi-dB.
pub fn excess_over_typical_cdb(reported_rssi_dbm: i32, typical_cdbm: i32) -> i64 {
    i64::from(reported_rssi_dbm) * 100 - i64::from(typical_cdbm)
}

/// Whether a link is far louder than its asserted distance allows
/// (excess above [`LOCATION_MARGIN_CDB`]).
pub fn too_loud_for_distance(excess_cdb: i64) -> bool {
    excess_cdb > LOCATION_MARGIN_CDB
}

/// The median of `values` (mean of the middle two, rounded down, for an even count), or `None`
/// for none.
pub fn median(values: &[i64]) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        // Halving each first keeps the sum inside i64 for any input.
        _ => Some(
            sorted[mid - 1].div_euclid(2)
                + sorted[mid].div_euclid(2)
                + (sorted[mid - 1].rem_euclid(2) + sorted[mid].rem_euclid(2)) / 2,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rf::expected_rssi_cdbm;

    /// By hand: −100 dBm with a 0 dBi antenna at 1 km is one decade past 100 m: −10 000 + 3 000
    /// = −7 000. At 100 m and closer nothing is added. A 5.8 dBi antenna (⌊58/10⌋ = 5 dB) is
    /// taken off: −100 − 5 → −10 500 + 3 000 = −7 500 at 1 km. 10 km: two decades, + 6 000.
    /// 3 km: log10(30) = 1.4771…, × 3 000 = 4 431.36 → 4 431.
    #[test]
    fn normalised_signal_by_hand() {
        assert_eq!(normalised_signal_cdbm(-100, 0, 1_000), -7_000);
        assert_eq!(normalised_signal_cdbm(-100, 0, 100), -10_000);
        assert_eq!(normalised_signal_cdbm(-100, 0, 5), -10_000);
        assert_eq!(normalised_signal_cdbm(-100, 58, 1_000), -7_500);
        assert_eq!(normalised_signal_cdbm(-120, 0, 10_000), -6_000);
        assert_eq!(normalised_signal_cdbm(-90, 0, 3_000), -9_000 + 4_431);
    }

    /// Four reports [−7 000, −7 200, −6 800, −4 000]:
    /// - the first's others are −7 200, −6 800, −4 000 → median −6 800 → −200;
    /// - the second's: −7 000, −6 800, −4 000 → −6 800 → −400;
    /// - the third's: −7 200, −7 000, −4 000 → −7 000 → +200;
    /// - the fourth's: −7 200, −7 000, −6 800 → −7 000 → +3 000, out of line.
    ///
    /// Three reports [−7 000, −7 300, −4 000]: the third's others are −7 300 and −7 000, mean
    /// −7 150 → +3 150. Two reports: each has one other, too few.
    #[test]
    fn peer_deviation_by_hand() {
        let d = peer_deviations(&[-7_000, -7_200, -6_800, -4_000]);
        assert_eq!(d, vec![Some(-200), Some(-400), Some(200), Some(3_000)]);
        assert!(!deviates(200) && deviates(3_000));
        assert!(!deviates(PEER_MARGIN_CDB) && deviates(PEER_MARGIN_CDB + 1));
        let d = peer_deviations(&[-7_000, -7_300, -4_000]);
        assert_eq!(d[2], Some(3_150));
        assert_eq!(peer_deviations(&[-7_000, -4_000]), vec![None, None]);
        assert_eq!(peer_deviations(&[]), Vec::<Option<i64>>::new());
        // Odd sum of the middle two rounds down: others −7 001 and −7 000 → −7 001 (floor of
        // −7 000.5).
        assert_eq!(peer_deviations(&[-7_001, -7_000, 0])[2], Some(7_001));
    }

    #[test]
    fn a_device_is_judged_on_most_of_at_least_three_reports() {
        assert!(!out_of_line(2, 2));
        assert!(out_of_line(3, 2));
        assert!(!out_of_line(4, 2));
        assert!(out_of_line(4, 3));
        assert!(!out_of_line(100, 50));
        assert!(out_of_line(100, 51));
        assert!(!out_of_line(0, 0));
        assert!(out_of_line(u32::MAX, u32::MAX));
    }

    /// Typical = free space − 10 dB per decade past 100 m. 27 dBm, gains 12 and 0 ddBi (1 and
    /// 0 dB), 915 MHz: at 1 km free space is 2 800 − 9 168 = −6 368, typical −7 368; at 10 km
    /// −8 368 − 2 000 = −10 368; at 100 m and closer, free space itself.
    #[test]
    fn typical_signal_by_hand() {
        assert_eq!(typical_rssi_cdbm(27, 915_000_000, 1_000, 12, 0), Ok(-7_368));
        assert_eq!(
            typical_rssi_cdbm(27, 915_000_000, 10_000, 12, 0),
            Ok(-10_368)
        );
        assert_eq!(
            typical_rssi_cdbm(27, 915_000_000, 100, 12, 0),
            expected_rssi_cdbm(27, 915_000_000, 100, 12, 0)
        );
        assert_eq!(excess_over_typical_cdb(-50, -7_368), 2_368);
        assert!(too_loud_for_distance(2_368));
        assert!(!too_loud_for_distance(LOCATION_MARGIN_CDB));
        assert_eq!(
            typical_rssi_cdbm(27, 915_000_000, 0, 0, 0),
            Err(RfError::ZeroDistance)
        );
    }

    #[test]
    fn median_by_hand() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[1, 2, 3, 10]), Some(2));
        assert_eq!(median(&[-3, -2]), Some(-3));
    }
}
