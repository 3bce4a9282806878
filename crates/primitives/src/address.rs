//! Account addresses: 20 bytes derived from an account public key, shown as bech32m with the
//! `gw` prefix so that a mistyped address fails its checksum instead of sending funds astray.

use crate::hash::hash_parts;
use bech32::{Bech32m, Hrp};
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use std::fmt;
use std::str::FromStr;

/// Human-readable prefix of every account address.
pub const ADDRESS_PREFIX: &str = "gw";
/// Bytes in an address.
pub const ADDRESS_LENGTH: usize = 20;
/// Domain tag hashed in front of a public key when deriving its address.
const ADDRESS_DERIVATION_TAG: &[u8] = b"groundwork/address/v1";

/// Why a text did not parse as an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not bech32m at all, or the checksum does not match (a typo).
    #[error("invalid address {text:?}: {reason} (an address looks like gw1...)")]
    Malformed { text: String, reason: String },
    /// Valid bech32m, but for another prefix.
    #[error("invalid address {text:?}: prefix {found:?} is not {ADDRESS_PREFIX:?}")]
    WrongPrefix { text: String, found: String },
    /// Valid bech32m, wrong payload size.
    #[error("invalid address {text:?}: payload is {found} bytes, expected {ADDRESS_LENGTH}")]
    WrongLength { text: String, found: usize },
}

/// An account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; ADDRESS_LENGTH]);

impl Address {
    /// Derives the address of an account public key (or any key bytes with a scheme tag).
    pub fn derive(scheme_tag: u8, public_key: &[u8]) -> Self {
        let digest = hash_parts(&[ADDRESS_DERIVATION_TAG, &[scheme_tag], public_key]);
        let mut bytes = [0u8; ADDRESS_LENGTH];
        bytes.copy_from_slice(&digest.as_ref()[..ADDRESS_LENGTH]);
        Self(bytes)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_PREFIX);
        bech32::encode_to_fmt::<Bech32m, _>(f, hrp, &self.0).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (hrp, data) = bech32::decode(text).map_err(|e| AddressError::Malformed {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        // bech32::decode accepts both bech32 and bech32m; only bech32m is ours.
        let canonical = Address::from_payload(&data).map(|a| a.to_string());
        if hrp.to_lowercase() != ADDRESS_PREFIX {
            return Err(AddressError::WrongPrefix {
                text: text.to_string(),
                found: hrp.to_string(),
            });
        }
        let address = Address::from_payload(&data).ok_or(AddressError::WrongLength {
            text: text.to_string(),
            found: data.len(),
        })?;
        if canonical.as_deref() != Some(&text.to_ascii_lowercase()) {
            return Err(AddressError::Malformed {
                text: text.to_string(),
                reason: "checksum is not bech32m".to_string(),
            });
        }
        Ok(address)
    }
}

impl Address {
    fn from_payload(data: &[u8]) -> Option<Self> {
        let bytes: [u8; ADDRESS_LENGTH] = data.try_into().ok()?;
        Some(Self(bytes))
    }
}

impl Write for Address {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl FixedSize for Address {
    const SIZE: usize = ADDRESS_LENGTH;
}

impl Read for Address {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(<[u8; ADDRESS_LENGTH]>::read(buf)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_text() {
        let address = Address::derive(0, b"some public key");
        let text = address.to_string();
        assert!(text.starts_with("gw1"));
        assert_eq!(text.parse::<Address>(), Ok(address));
        assert_eq!(text.to_uppercase().parse::<Address>(), Ok(address));
    }

    #[test]
    fn mistyped_address_is_rejected_by_checksum() {
        let text = Address::derive(0, b"k").to_string();
        // Change one data character (after "gw1") to another valid bech32 character.
        let mut chars: Vec<char> = text.chars().collect();
        let i = 10;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(AddressError::Malformed { .. })
        ));
        // Swapping two adjacent distinct characters is caught too.
        let mut chars: Vec<char> = text.chars().collect();
        let j = (4..chars.len() - 1)
            .find(|&j| chars[j] != chars[j + 1])
            .unwrap();
        chars.swap(j, j + 1);
        let swapped: String = chars.into_iter().collect();
        assert!(swapped.parse::<Address>().is_err());
    }

    #[test]
    fn other_prefix_and_lengths_are_rejected() {
        let hrp = Hrp::parse("xx").unwrap();
        let other = bech32::encode::<Bech32m>(hrp, &[0u8; 20]).unwrap();
        assert!(matches!(
            other.parse::<Address>(),
            Err(AddressError::WrongPrefix { .. })
        ));
        let hrp = Hrp::parse("gw").unwrap();
        let short = bech32::encode::<Bech32m>(hrp, &[0u8; 19]).unwrap();
        assert!(matches!(
            short.parse::<Address>(),
            Err(AddressError::WrongLength { found: 19, .. })
        ));
        let legacy = bech32::encode::<bech32::Bech32>(hrp, &[0u8; 20]).unwrap();
        assert!(matches!(
            legacy.parse::<Address>(),
            Err(AddressError::Malformed { .. })
        ));
        assert!("".parse::<Address>().is_err());
    }
}
