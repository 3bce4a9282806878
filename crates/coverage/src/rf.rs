//! Radio physics: free-space path loss and the strongest signal a witness can honestly hear.

use core::f64::consts::PI;

/// Speed of light used in the path-loss formula, in metres per second. It is the rounded
/// value Helium's verifier used (close to the speed in air), kept so the same reports pass
/// and fail.
pub const SPEED_OF_LIGHT_M_PER_S: f64 = 2.998e8;

/// Why a radio quantity cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RfError {
    /// Path loss is undefined at zero distance (the logarithm of zero).
    #[error("distance must be at least 1 m")]
    ZeroDistance,
    /// Path loss is undefined at zero frequency.
    #[error("frequency must be at least 1 Hz")]
    ZeroFrequency,
    /// The expected signal does not fit in an `i32` of centi-dBm (absurd transmit power).
    #[error("expected signal is out of range")]
    OutOfRange,
}

/// Free-space path loss `20·log10(4π·d·f/c)` in hundredths of a dB (centi-dB), rounded UP to
/// the next centi-dB.
///
/// Rounding up makes [`rssi_exceeds_free_space`] agree exactly with the real-valued rule
/// `reported > P + G − FSPL`: the expected signal becomes `100·(P+G) − ⌈100·FSPL⌉ = ⌊E⌋`,
/// with `E` the exact expected signal in centi-dBm, and for an integer `n`, `n > ⌊E⌋` ⟺
/// `n > E`. Rounding the other way would accept reports up to 0.01 dB too strong.
///
/// Computed in `f64` with `libm::log10`: IEEE-754 basic operations and `libm` give the same
/// bits on every machine. For any `u32` distance and `u64` frequency the result lies within
/// about ±43 000 centi-dB (it is negative below 1 m·Hz·c/4π, which no real radio reaches).
pub fn fspl_cdb(distance_m: u32, freq_hz: u64) -> Result<i32, RfError> {
    if distance_m == 0 {
        return Err(RfError::ZeroDistance);
    }
    if freq_hz == 0 {
        return Err(RfError::ZeroFrequency);
    }
    // u64 → f64 rounds to nearest above 2^53 Hz, deterministically; real radios are far below.
    let ratio = 4.0 * PI * f64::from(distance_m) * (freq_hz as f64) / SPEED_OF_LIGHT_M_PER_S;
    let loss_db = 20.0 * libm::log10(ratio);
    let centi = libm::ceil(loss_db * 100.0);
    if centi.is_finite() && centi >= f64::from(i32::MIN) && centi <= f64::from(i32::MAX) {
        // Integral and in range, so the conversion is exact.
        Ok(centi as i32)
    } else {
        Err(RfError::OutOfRange)
    }
}

/// Antenna gain in tenths of a dBi to whole dB, rounding down (towards −∞, also for negative
/// gains), so a fractional gain never raises the expected signal.
pub fn gain_db(gain_ddbi: i32) -> i32 {
    gain_ddbi.div_euclid(10)
}

/// The strongest signal a witness can receive in free space, in centi-dBm:
/// `100·(tx_power + ⌊tx_gain/10⌋ + ⌊rx_gain/10⌋) − fspl_cdb(distance, freq)`.
///
/// `tx_power_dbm` is the beaconer's conducted power; the gains are the beaconer's and the
/// witness's antenna gains in tenths of a dBi.
pub fn expected_rssi_cdbm(
    tx_power_dbm: i32,
    freq_hz: u64,
    distance_m: u32,
    tx_gain_ddbi: i32,
    rx_gain_ddbi: i32,
) -> Result<i32, RfError> {
    let loss = fspl_cdb(distance_m, freq_hz)?;
    // i64 holds the sum of three i32s times 100 and the subtraction without overflow.
    let budget = i64::from(tx_power_dbm)
        + i64::from(gain_db(tx_gain_ddbi))
        + i64::from(gain_db(rx_gain_ddbi));
    let expected = budget * 100 - i64::from(loss);
    i32::try_from(expected).map_err(|_| RfError::OutOfRange)
}

/// Whether a reported signal (whole dBm) is stronger than free space allows:
/// `reported·100 > expected_cdbm`. Such a report cannot be honest.
pub fn rssi_exceeds_free_space(reported_rssi_dbm: i32, expected_cdbm: i32) -> bool {
    i64::from(reported_rssi_dbm) * 100 > i64::from(expected_cdbm)
}

/// Extra loss beyond free space that even an open rural link shows, per decade of distance
/// past [`PLAUSIBLE_REFERENCE_M`], in centi-dB: 5 dB per decade (a path-loss exponent of 2.5).
pub const PLAUSIBLE_EXCESS_CDB_PER_DECADE: i64 = 500;
/// Distance from which the extra loss starts, in metres.
pub const PLAUSIBLE_REFERENCE_M: u32 = 100;
/// Allowance for shadowing and multipath that can make a link stronger than typical, in
/// centi-dB (10 dB, about 1.7σ of urban shadowing, and on top of the 2.5 exponent).
pub const PLAUSIBLE_ALLOWANCE_CDB: i64 = 1_000;

/// The strongest signal that is plausible in the real world, in centi-dBm: the free-space
/// bound, less 5 dB per decade of distance past 100 m, plus a 10 dB allowance. Stronger
/// reports are physically possible only in rare line-of-sight conditions, and are what
/// location spoofing (asserting a place farther than one is) and RSSI inflation produce.
/// Not a validity check: settlement uses it to leave such reports out, by name.
pub fn plausible_rssi_cdbm(
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
        PLAUSIBLE_EXCESS_CDB_PER_DECADE,
        PLAUSIBLE_ALLOWANCE_CDB,
    )
}

/// `floor(per_decade × log10(distance / 100 m))` centi-dB, 0 at or below 100 m; rounded down,
/// so never more than the real-valued loss. `libm` keeps it bit-identical everywhere.
pub(crate) fn decades_cdb(distance_m: u32, per_decade_cdb: i64) -> i64 {
    if distance_m <= PLAUSIBLE_REFERENCE_M {
        return 0;
    }
    let decades = libm::log10(f64::from(distance_m) / f64::from(PLAUSIBLE_REFERENCE_M));
    // At most log10(2^32 / 100) ≈ 7.6 decades: the product is far inside i64.
    libm::floor(decades * per_decade_cdb as f64) as i64
}

/// The free-space bound ([`expected_rssi_cdbm`]; `power_and_gains` = transmit power in dBm,
/// then the beaconer's and the witness's antenna gains in tenths of a dBi), less
/// `per_decade_cdb` per decade of distance past 100 m, plus `allowance_cdb`, in centi-dBm.
pub(crate) fn below_free_space_cdbm(
    power_and_gains: [i32; 3],
    freq_hz: u64,
    distance_m: u32,
    per_decade_cdb: i64,
    allowance_cdb: i64,
) -> Result<i32, RfError> {
    let [tx_power_dbm, tx_gain_ddbi, rx_gain_ddbi] = power_and_gains;
    let free_space = expected_rssi_cdbm(
        tx_power_dbm,
        freq_hz,
        distance_m,
        tx_gain_ddbi,
        rx_gain_ddbi,
    )?;
    let value = i64::from(free_space) - decades_cdb(distance_m, per_decade_cdb) + allowance_cdb;
    i32::try_from(value).map_err(|_| RfError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At 1 km one decade past 100 m: the plausible bound is the free-space bound − 5 dB + 10 dB;
    /// at 100 m and closer it is the free-space bound + 10 dB.
    #[test]
    fn plausible_bound_is_free_space_less_five_db_per_decade_plus_ten() {
        let free = expected_rssi_cdbm(27, 915_000_000, 1_000, 12, 0).unwrap();
        assert_eq!(
            plausible_rssi_cdbm(27, 915_000_000, 1_000, 12, 0).unwrap(),
            free - 500 + 1_000
        );
        let free = expected_rssi_cdbm(27, 915_000_000, 100, 12, 0).unwrap();
        assert_eq!(
            plausible_rssi_cdbm(27, 915_000_000, 100, 12, 0).unwrap(),
            free + 1_000
        );
        // 10 km: two decades.
        let free = expected_rssi_cdbm(27, 915_000_000, 10_000, 12, 0).unwrap();
        assert_eq!(
            plausible_rssi_cdbm(27, 915_000_000, 10_000, 12, 0).unwrap(),
            free - 1_000 + 1_000
        );
    }

    /// FSPL = 20·log10(4π·d·f / 2.998e8), by hand (then ×100, rounded up):
    /// - 1 km, 915 MHz: 4π·1000·915e6/2.998e8 = 38 353.3…; log10 = 4.583799…; ×20 = 91.67599 dB
    ///   → 9167.599 → 9168.
    /// - 1 km, 868 MHz: ratio 36 383.3…; 91.21796 dB → 9122.
    /// - 2 km, 915 MHz: doubling d adds 20·log10 2 = 6.0206 dB → 97.69659 → 9770.
    /// - 10 km, 915 MHz: +20 dB → 111.67599 → 11168; 100 km: 131.67599 → 13168.
    /// - 500 m, 868 MHz: −6.0206 dB → 85.19736 → 8520; 5 km, 868 MHz: 105.19736 → 10520.
    /// - 1 m, 915 MHz: −60 dB from 1 km → 31.67599 → 3168.
    /// - 1 m, 1 Hz: 20·log10(4π/2.998e8) = −147.55244 → −14755.24 → up: −14755.
    #[test]
    fn free_space_path_loss_by_hand() {
        assert_eq!(fspl_cdb(1000, 915_000_000), Ok(9168));
        assert_eq!(fspl_cdb(1000, 868_000_000), Ok(9122));
        assert_eq!(fspl_cdb(2000, 915_000_000), Ok(9770));
        assert_eq!(fspl_cdb(10_000, 915_000_000), Ok(11168));
        assert_eq!(fspl_cdb(100_000, 915_000_000), Ok(13168));
        assert_eq!(fspl_cdb(500, 868_000_000), Ok(8520));
        assert_eq!(fspl_cdb(5000, 868_000_000), Ok(10520));
        assert_eq!(fspl_cdb(1, 915_000_000), Ok(3168));
        assert_eq!(fspl_cdb(1, 1), Ok(-14755));
        // The largest inputs: 20·log10(4π·(2^32−1)·(2^64−1)/2.998e8) = 430.4252 dB.
        assert_eq!(fspl_cdb(u32::MAX, u64::MAX), Ok(43043));
    }

    #[test]
    fn path_loss_needs_distance_and_frequency() {
        assert_eq!(fspl_cdb(0, 915_000_000), Err(RfError::ZeroDistance));
        assert_eq!(fspl_cdb(1000, 0), Err(RfError::ZeroFrequency));
        assert_eq!(
            expected_rssi_cdbm(27, 915_000_000, 0, 0, 0),
            Err(RfError::ZeroDistance)
        );
    }

    #[test]
    fn gains_are_floored_to_whole_db() {
        // ⌊g/10⌋, also below zero: −1.5 dBi → −2 dB, not −1.
        for (ddbi, db) in [
            (0, 0),
            (9, 0),
            (10, 1),
            (12, 1),
            (19, 1),
            (58, 5),
            (-1, -1),
            (-10, -1),
            (-15, -2),
            (-21, -3),
        ] {
            assert_eq!(gain_db(ddbi), db, "{ddbi} ddBi");
        }
    }

    /// Expected RSSI = 100·(P + ⌊Gt/10⌋ + ⌊Gr/10⌋) − FSPL, by hand:
    /// - 27 dBm, gains 12 and 58 ddBi (1 and 5 dB), 1 km at 915 MHz:
    ///   100·33 − 9168 = −5868 centi-dBm.
    /// - same at 868 MHz: 3300 − 9122 = −5822.
    /// - 20 dBm, gains −15 and 19 ddBi (−2 and 1 dB), 5 km at 868 MHz:
    ///   100·19 − 10520 = −8620.
    /// - 14 dBm, gains −1 and −1 ddBi (−1 and −1 dB), 500 m at 868 MHz: 1200 − 8520 = −7320.
    /// - 36 dBm, gains 0 and 0, 100 km at 915 MHz: 3600 − 13168 = −9568.
    #[test]
    fn expected_rssi_by_hand() {
        assert_eq!(expected_rssi_cdbm(27, 915_000_000, 1000, 12, 58), Ok(-5868));
        assert_eq!(expected_rssi_cdbm(27, 868_000_000, 1000, 12, 58), Ok(-5822));
        assert_eq!(
            expected_rssi_cdbm(20, 868_000_000, 5000, -15, 19),
            Ok(-8620)
        );
        assert_eq!(expected_rssi_cdbm(14, 868_000_000, 500, -1, -1), Ok(-7320));
        assert_eq!(
            expected_rssi_cdbm(36, 915_000_000, 100_000, 0, 0),
            Ok(-9568)
        );
    }

    #[test]
    fn absurd_power_is_out_of_range_not_a_panic() {
        assert_eq!(
            expected_rssi_cdbm(i32::MAX, 915_000_000, 1000, i32::MAX, i32::MAX),
            Err(RfError::OutOfRange)
        );
        assert_eq!(
            expected_rssi_cdbm(i32::MIN, 1, u32::MAX, i32::MIN, i32::MIN),
            Err(RfError::OutOfRange)
        );
    }

    /// Exact expected signal for 33 dB of budget at 1 km, 915 MHz: 33 − 91.67599 =
    /// −58.67599 dBm. −58 dBm is stronger than that (impossible), −59 dBm is weaker (fine). The
    /// integer rule agrees: −5800 > −5868, −5900 ≤ −5868.
    #[test]
    fn reports_stronger_than_free_space_are_flagged() {
        let expected = expected_rssi_cdbm(27, 915_000_000, 1000, 12, 58).unwrap();
        assert!(rssi_exceeds_free_space(-58, expected));
        assert!(!rssi_exceeds_free_space(-59, expected));
        // Equal is allowed.
        assert!(!rssi_exceeds_free_space(-58, -5800));
        assert!(rssi_exceeds_free_space(i32::MAX, i32::MAX));
        assert!(!rssi_exceeds_free_space(i32::MIN, i32::MIN));
    }
}
