//! Token amounts in integer base units, and their decimal text form.
//!
//! All arithmetic is checked: an operation that would overflow or go negative returns `None`,
//! and the caller turns that into a typed error. There are no floats anywhere near money.

use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use std::fmt;

/// Most decimals a token may have: 10^38 is the largest power of ten below u128::MAX.
pub const MAX_DECIMALS: u8 = 30;

/// An amount of tokens in base units.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub u128);

/// Why a decimal amount did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("invalid amount {text:?}: expected digits with at most one '.', e.g. 12.5")]
    Malformed { text: String },
    #[error("invalid amount {text:?}: more than {decimals} digits after the point")]
    TooPrecise { text: String, decimals: u8 },
    #[error("invalid amount {text:?}: too large")]
    TooLarge { text: String },
}

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// Formats with `decimals` digits after the point, trimming trailing zeros: `12.5`.
    pub fn to_decimal_string(self, decimals: u8) -> String {
        let scale = 10u128.pow(u32::from(decimals.min(MAX_DECIMALS)));
        let whole = self.0 / scale;
        let fraction = self.0 % scale;
        if fraction == 0 {
            return whole.to_string();
        }
        let digits = format!("{fraction:0width$}", width = usize::from(decimals));
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Parses `12.5` (at most `decimals` fractional digits) into base units.
    pub fn parse_decimal(text: &str, decimals: u8) -> Result<Amount, AmountError> {
        let malformed = || AmountError::Malformed {
            text: text.to_string(),
        };
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(malformed());
        }
        if fraction.len() > usize::from(decimals) {
            return Err(AmountError::TooPrecise {
                text: text.to_string(),
                decimals,
            });
        }
        let too_large = || AmountError::TooLarge {
            text: text.to_string(),
        };
        let scale = 10u128
            .checked_pow(u32::from(decimals))
            .ok_or_else(too_large)?;
        let whole_units: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let mut fraction_units: u128 = 0;
        for (i, b) in fraction.bytes().enumerate() {
            let digit = u128::from(b - b'0');
            let place = 10u128.pow(u32::from(decimals) - 1 - i as u32);
            fraction_units += digit * place;
        }
        whole_units
            .checked_mul(scale)
            .and_then(|w| w.checked_add(fraction_units))
            .map(Amount)
            .ok_or_else(too_large)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl Write for Amount {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl FixedSize for Amount {
    const SIZE: usize = 16;
}

impl Read for Amount {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Amount(u128::read(buf)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_round_trips() {
        assert_eq!(Amount::parse_decimal("12.5", 6), Ok(Amount(12_500_000)));
        assert_eq!(Amount::parse_decimal(".5", 6), Ok(Amount(500_000)));
        assert_eq!(Amount::parse_decimal("7", 0), Ok(Amount(7)));
        assert_eq!(Amount(12_500_000).to_decimal_string(6), "12.5");
        assert_eq!(Amount(1).to_decimal_string(6), "0.000001");
        assert_eq!(Amount(3_000_000).to_decimal_string(6), "3");
    }

    #[test]
    fn bad_decimal_text_is_refused_by_reason() {
        assert!(matches!(
            Amount::parse_decimal("1.2.3", 6),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse_decimal("-1", 6),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse_decimal("", 6),
            Err(AmountError::Malformed { .. })
        ));
        assert!(matches!(
            Amount::parse_decimal("1.0000001", 6),
            Err(AmountError::TooPrecise { .. })
        ));
        assert!(matches!(
            Amount::parse_decimal("999999999999999999999999999999999999999", 6),
            Err(AmountError::TooLarge { .. })
        ));
    }
}
