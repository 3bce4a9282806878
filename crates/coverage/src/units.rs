//! Reward units for one beacon and its witnesses (HIP-15), in fixed point.
//!
//! With `w` valid witnesses, `N` = [`WITNESS_REDUNDANCY`] and `r` = 4/5:
//! - beacon unit: `w/N` for `w ≤ N`, else `min(2, 2 − r^(w−N))`;
//! - unit of each witness: `1` for `w ≤ N`, else `(N − (1 − r^(w−N)))/w`;
//! - both `0` for `w = 0`; both rounded to 4 decimals, ties to even.
//!
//! `r^k = 4^k/5^k` is rational, so the values are computed exactly in integers and rounded
//! once. `5^k` outgrows `u128` past `k ≈ 50`; beyond [`EXACT_DECAY_STEPS`] the result is
//! derived from a bound on `r^k` instead (see the functions), which is still exact.

use crate::rounding::div_round_half_even;

/// Fixed-point scale of units and density scales: a value `v` stands for `v / 10 000`.
pub const UNIT_SCALE: u32 = 10_000;

/// HIP-15's witness redundancy `N`: the number of witnesses that earns a full beacon unit.
pub const WITNESS_REDUNDANCY: u32 = 4;

/// HIP-15's cap on the beacon unit, in units of 1/10 000.
pub const BEACON_UNIT_CAP: u32 = 2 * UNIT_SCALE;

/// Largest decay exponent `k = w − N` computed with explicit powers. From `k = 45` on,
/// `r^k < 1/20 000`, which decides the rounding without the powers.
pub const EXACT_DECAY_STEPS: u32 = 44;

const SCALE: u128 = UNIT_SCALE as u128;

/// The beacon's reward unit for `witnesses` valid witnesses, in units of 1/10 000.
///
/// Increases with the number of witnesses and never exceeds [`BEACON_UNIT_CAP`]: `2 − r^k` is
/// below 2 for every `k`, so the cap never binds; it reaches 2.0000 after rounding from 49
/// witnesses on. No input overflows or panics.
pub fn beacon_unit(witnesses: u32) -> u32 {
    if witnesses == 0 {
        return 0;
    }
    if witnesses <= WITNESS_REDUNDANCY {
        // w/4 is a multiple of 0.25: exact.
        return witnesses * (UNIT_SCALE / WITNESS_REDUNDANCY);
    }
    let k = witnesses - WITNESS_REDUNDANCY;
    if k > EXACT_DECAY_STEPS {
        // 0 < r^k < 1/20 000, so 2 − r^k lies strictly between 1.99995 and 2: rounds to 2.
        return BEACON_UNIT_CAP;
    }
    let (four_k, five_k) = powers(k);
    // (2 − 4^k/5^k)·10 000 = (2·10 000·5^k − 10 000·4^k) / 5^k; with k ≤ 44 the numerator is
    // below 1.2·10^35, inside u128.
    let numerator = 2 * SCALE * five_k - SCALE * four_k;
    let unit = div_round_half_even(numerator, five_k).min(u128::from(BEACON_UNIT_CAP));
    u32::try_from(unit).unwrap_or(BEACON_UNIT_CAP)
}

/// The reward unit of each witness of a beacon with `witnesses` valid witnesses, in units of
/// 1/10 000.
///
/// 1.0000 up to [`WITNESS_REDUNDANCY`] witnesses, then falling: past `N` the witnesses share
/// `N − 1 + r^k` units between them, which tends to 3. HIP-15 caps the unit at 2, which can
/// never bind here. No input overflows or panics.
pub fn witness_unit(witnesses: u32) -> u32 {
    if witnesses == 0 {
        return 0;
    }
    if witnesses <= WITNESS_REDUNDANCY {
        return UNIT_SCALE;
    }
    let k = witnesses - WITNESS_REDUNDANCY;
    let w = u128::from(witnesses);
    if k > EXACT_DECAY_STEPS {
        // Value·10 000 = 30 000/w + δ with 0 < δ = 10 000·r^k/w < 1/(2w). A rounding boundary
        // m + ½ is either exactly at 30 000/w or at least 1/(2w) away from it, so δ only
        // matters at an exact tie, which it breaks upwards. Hence: round half up of
        // 30 000/w, i.e. ⌊(60 000 + w) / 2w⌋.
        let triple = u128::from(WITNESS_REDUNDANCY - 1) * SCALE;
        let unit = (2 * triple + w) / (2 * w);
        return u32::try_from(unit).unwrap_or(0);
    }
    let (four_k, five_k) = powers(k);
    // (N − 1 + 4^k/5^k)/w · 10 000 = 10 000·((N−1)·5^k + 4^k) / (5^k·w); with k ≤ 44 (so
    // w ≤ 48) both stay below 2·10^35.
    let numerator = SCALE * (u128::from(WITNESS_REDUNDANCY - 1) * five_k + four_k);
    let unit = div_round_half_even(numerator, five_k * w).min(u128::from(BEACON_UNIT_CAP));
    u32::try_from(unit).unwrap_or(0)
}

/// `(4^k, 5^k)` for `k ≤ EXACT_DECAY_STEPS`: 5^44 ≈ 5.7·10^30 fits in u128 with room for the
/// factors above.
fn powers(k: u32) -> (u128, u128) {
    let k = k.min(EXACT_DECAY_STEPS);
    (4u128.pow(k), 5u128.pow(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computation, w = 1..=15 (k = w − 4, r^k = 0.8^k):
    ///
    /// | w  | r^k        | beacon 2 − r^k | witness (3 + r^k)/w        |
    /// |----|------------|----------------|----------------------------|
    /// | 1  |            | 1/4 = 0.2500   | 1                          |
    /// | 2  |            | 2/4 = 0.5000   | 1                          |
    /// | 3  |            | 3/4 = 0.7500   | 1                          |
    /// | 4  |            | 4/4 = 1.0000   | 1                          |
    /// | 5  | 0.8        | 1.2            | 3.8/5 = 0.76               |
    /// | 6  | 0.64       | 1.36           | 3.64/6 = 0.60666… → 0.6067 |
    /// | 7  | 0.512      | 1.488          | 3.512/7 = 0.50171… → 0.5017|
    /// | 8  | 0.4096     | 1.5904         | 3.4096/8 = 0.4262          |
    /// | 9  | 0.32768    | 1.67232→1.6723 | 3.32768/9 = 0.36974… → 0.3697 |
    /// | 10 | 0.262144   | 1.737856→1.7379| 3.262144/10 = 0.3262144 → 0.3262 |
    /// | 11 | 0.2097152  | 1.7902848→1.7903 | 3.2097152/11 = 0.29179… → 0.2918 |
    /// | 12 | 0.16777216 | 1.83222784→1.8322 | 3.16777216/12 = 0.26398… → 0.2640 |
    /// | 13 | 0.134217728| 1.865782272→1.8658 | 3.134217728/13 = 0.24109… → 0.2411 |
    /// | 14 | 0.1073741824 | 1.8926258176→1.8926 | 3.1073741824/14 = 0.22195… → 0.2220 |
    /// | 15 | 0.08589934592 | 1.91410065408→1.9141 | 3.08589934592/15 = 0.20572… → 0.2057 |
    #[test]
    fn hip15_table_for_one_to_fifteen_witnesses() {
        let beacon = [
            2500, 5000, 7500, 10000, 12000, 13600, 14880, 15904, 16723, 17379, 17903, 18322, 18658,
            18926, 19141,
        ];
        let witness = [
            10000, 10000, 10000, 10000, 7600, 6067, 5017, 4262, 3697, 3262, 2918, 2640, 2411, 2220,
            2057,
        ];
        for w in 1..=15u32 {
            let i = (w - 1) as usize;
            assert_eq!(beacon_unit(w), beacon[i], "beacon unit for {w} witnesses");
            assert_eq!(
                witness_unit(w),
                witness[i],
                "witness unit for {w} witnesses"
            );
        }
    }

    #[test]
    fn no_witness_earns_nothing() {
        assert_eq!(beacon_unit(0), 0);
        assert_eq!(witness_unit(0), 0);
    }

    /// Around and beyond the exact range, checked by hand with exact fractions:
    /// - w = 48 (k = 44): r^44 = 4^44/5^44 ≈ 0.0000544 → beacon 1.9999456 → 1.9999;
    ///   witness 3.0000544/48 = 0.0625001… → 0.0625.
    /// - w = 49 (k = 45): r^45 ≈ 0.0000435 → beacon 1.9999565 → 2.0000;
    ///   witness 3.0000435/49 = 0.0612253… → 0.0612.
    /// - w = 12 000: 3/12 000 = 0.00025 exactly a tie at 4 decimals (2.5 units), and r^k > 0
    ///   puts the true value just above it → 0.0003 (3 units).
    /// - w = 20 000: 3/20 000 = 0.00015, a tie too (1.5 units) → just above → 2 units.
    /// - w = 60 001: 30 000/60 001 = 0.49999… units → 0.
    /// - w = u32::MAX: 0.
    #[test]
    fn large_witness_counts_round_exactly() {
        assert_eq!(beacon_unit(48), 19999);
        assert_eq!(witness_unit(48), 625);
        assert_eq!(beacon_unit(49), 20000);
        assert_eq!(witness_unit(49), 612);
        assert_eq!(witness_unit(12_000), 3);
        assert_eq!(witness_unit(20_000), 2);
        assert_eq!(witness_unit(60_001), 0);
        assert_eq!(beacon_unit(u32::MAX), BEACON_UNIT_CAP);
        assert_eq!(witness_unit(u32::MAX), 0);
    }
}
