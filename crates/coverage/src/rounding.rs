//! Integer rounding shared by the reward units and the density scales.

/// `num / den` rounded to the nearest integer, a tie going to the even neighbour ("banker's
/// rounding"). That is the rule of the decimal type whose 4-decimal results these fixed-point
/// values reproduce, so a value exactly halfway between two steps rounds the same way here.
///
/// `den == 0` yields 0; callers never pass it, and a pure function must not panic.
pub(crate) fn div_round_half_even(num: u128, den: u128) -> u128 {
    if den == 0 {
        return 0;
    }
    let quotient = num / den;
    let remainder = num % den;
    // Compare 2·remainder with den without overflowing: remainder < den, so
    // remainder ≥ den − remainder ⟺ 2·remainder ≥ den.
    let rest = den - remainder;
    if remainder > rest || (remainder == rest && quotient % 2 == 1) {
        quotient + 1
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_even_and_others_to_nearest() {
        // 6.5 → 6, 7.5 → 8, 2.4 → 2, 2.6 → 3, 0.5 → 0, 1.5 → 2.
        assert_eq!(div_round_half_even(13, 2), 6);
        assert_eq!(div_round_half_even(15, 2), 8);
        assert_eq!(div_round_half_even(12, 5), 2);
        assert_eq!(div_round_half_even(13, 5), 3);
        assert_eq!(div_round_half_even(1, 2), 0);
        assert_eq!(div_round_half_even(3, 2), 2);
        // 10 000 / 32 = 312.5 → 312.
        assert_eq!(div_round_half_even(10_000, 32), 312);
        assert_eq!(div_round_half_even(7, 0), 0);
        assert_eq!(div_round_half_even(u128::MAX, 1), u128::MAX);
        assert_eq!(div_round_half_even(u128::MAX, u128::MAX), 1);
    }
}
