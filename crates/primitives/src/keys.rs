//! Keys and signatures.
//!
//! Accounts sign with ed25519. Devices sign with ed25519 or ECDSA P-256 (secp256r1), the curve
//! that secure elements such as the ATECC608 and TPM 2.0 hold. A device's id is its public key.
//! P-256 signatures must have a low `s` (a TPM that returns a high `s` is normalised by the agent
//! before sending), so every signature has exactly one accepted encoding.

use crate::address::Address;
use bech32::{Bech32m, Hrp};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::{Signer, Verifier, ed25519, secp256r1::standard as p256};
use std::fmt;
use std::str::FromStr;

/// An account's public key (ed25519).
pub type AccountPublicKey = ed25519::PublicKey;
/// An account's signature (ed25519).
pub type AccountSignature = ed25519::Signature;
/// An account's private key (ed25519).
pub type AccountKey = ed25519::PrivateKey;

/// Human-readable prefix of a device id.
pub const DEVICE_ID_PREFIX: &str = "gwd";

/// The signature schemes a device may use. The numbers are on the wire: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScheme {
    Ed25519 = 0,
    P256 = 1,
}

impl KeyScheme {
    pub fn name(self) -> &'static str {
        match self {
            KeyScheme::Ed25519 => "ed25519",
            KeyScheme::P256 => "p256",
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            0 => Some(KeyScheme::Ed25519),
            1 => Some(KeyScheme::P256),
            _ => None,
        }
    }
}

impl FromStr for KeyScheme {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ed25519" => Ok(KeyScheme::Ed25519),
            "p256" | "secp256r1" | "P-256" => Ok(KeyScheme::P256),
            _ => Err(KeyError::UnknownScheme {
                text: text.to_string(),
            }),
        }
    }
}

/// Why key material did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key scheme {text:?}: expected ed25519 or p256")]
    UnknownScheme { text: String },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
}

/// The address of an account key.
pub fn account_address(public_key: &AccountPublicKey) -> Address {
    Address::derive(KeyScheme::Ed25519 as u8, public_key.as_ref())
}

/// Parses an ed25519 public key from 64 hex characters.
pub fn account_public_key_from_hex(text: &str) -> Result<AccountPublicKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        what: "ed25519 public key",
        reason,
    };
    let bytes = hex::decode(text).map_err(|e| invalid(e.to_string()))?;
    crate::decode_exact::<AccountPublicKey>(&bytes).map_err(|e| invalid(e.to_string()))
}

/// Parses an ed25519 private key (its 32-byte seed) from 64 hex characters.
pub fn account_key_from_hex(text: &str) -> Result<AccountKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        what: "ed25519 private key",
        reason,
    };
    let bytes = hex::decode(text.trim()).map_err(|e| invalid(e.to_string()))?;
    if bytes.len() != AccountKey::SIZE {
        return Err(invalid(format!(
            "{} bytes, expected {}",
            bytes.len(),
            AccountKey::SIZE
        )));
    }
    crate::decode_exact::<AccountKey>(&bytes).map_err(|e| invalid(e.to_string()))
}

/// The public key of an account key.
pub fn public_key_of(key: &AccountKey) -> AccountPublicKey {
    key.public_key()
}

/// A device's private key. Held by the device agent (or a secure element on its behalf).
#[derive(Clone)]
pub enum DeviceKey {
    Ed25519(ed25519::PrivateKey),
    P256(p256::PrivateKey),
}

impl DeviceKey {
    /// A deterministic key for tests and simulations. Never for real devices.
    pub fn from_seed(scheme: KeyScheme, seed: u64) -> Self {
        match scheme {
            KeyScheme::Ed25519 => DeviceKey::Ed25519(ed25519::PrivateKey::from_seed(seed)),
            KeyScheme::P256 => DeviceKey::P256(p256::PrivateKey::from_seed(seed)),
        }
    }

    pub fn id(&self) -> DeviceId {
        match self {
            DeviceKey::Ed25519(key) => DeviceId::Ed25519(key.public_key()),
            DeviceKey::P256(key) => DeviceId::P256(key.public_key()),
        }
    }

    pub fn sign(&self, namespace: &[u8], message: &[u8]) -> DeviceSignature {
        match self {
            DeviceKey::Ed25519(key) => DeviceSignature::Ed25519(key.sign(namespace, message)),
            DeviceKey::P256(key) => DeviceSignature::P256(key.sign(namespace, message)),
        }
    }
}

/// A device's id: its public key, tagged with its scheme.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceId {
    Ed25519(ed25519::PublicKey),
    P256(p256::PublicKey),
}

impl DeviceId {
    pub fn scheme(&self) -> KeyScheme {
        match self {
            DeviceId::Ed25519(_) => KeyScheme::Ed25519,
            DeviceId::P256(_) => KeyScheme::P256,
        }
    }

    pub fn key_bytes(&self) -> &[u8] {
        match self {
            DeviceId::Ed25519(key) => key.as_ref(),
            DeviceId::P256(key) => key.as_ref(),
        }
    }

    /// Checks a device signature. A signature of the other scheme never verifies.
    pub fn verify(&self, namespace: &[u8], message: &[u8], signature: &DeviceSignature) -> bool {
        match (self, signature) {
            (DeviceId::Ed25519(key), DeviceSignature::Ed25519(sig)) => {
                key.verify(namespace, message, sig)
            }
            (DeviceId::P256(key), DeviceSignature::P256(sig)) => {
                key.verify(namespace, message, sig)
            }
            _ => false,
        }
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut payload = Vec::with_capacity(1 + self.key_bytes().len());
        payload.push(self.scheme() as u8);
        payload.extend_from_slice(self.key_bytes());
        let hrp = Hrp::parse_unchecked(DEVICE_ID_PREFIX);
        bech32::encode_to_fmt::<Bech32m, _>(f, hrp, &payload).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({self})")
    }
}

impl FromStr for DeviceId {
    type Err = KeyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| KeyError::Invalid {
            what: "device id",
            reason,
        };
        let (hrp, data) = bech32::decode(text).map_err(|e| invalid(e.to_string()))?;
        if hrp.to_lowercase() != DEVICE_ID_PREFIX {
            return Err(invalid(format!(
                "prefix {hrp:?} is not {DEVICE_ID_PREFIX:?}"
            )));
        }
        let id = DeviceId::decode_bytes(&data).map_err(|e| invalid(e.to_string()))?;
        if id.to_string() != text.to_ascii_lowercase() {
            return Err(invalid("checksum is not bech32m".to_string()));
        }
        Ok(id)
    }
}

impl DeviceId {
    fn decode_bytes(data: &[u8]) -> Result<Self, CodecError> {
        crate::decode_exact(data)
    }
}

impl Write for DeviceId {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        (self.scheme() as u8).write(buf);
        match self {
            DeviceId::Ed25519(key) => key.write(buf),
            DeviceId::P256(key) => key.write(buf),
        }
    }
}

impl EncodeSize for DeviceId {
    fn encode_size(&self) -> usize {
        1 + match self {
            DeviceId::Ed25519(_) => ed25519::PublicKey::SIZE,
            DeviceId::P256(_) => p256::PublicKey::SIZE,
        }
    }
}

impl Read for DeviceId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        match KeyScheme::from_tag(tag) {
            Some(KeyScheme::Ed25519) => Ok(DeviceId::Ed25519(ed25519::PublicKey::read(buf)?)),
            Some(KeyScheme::P256) => {
                // Only the compressed form (02/03 ‖ x): other SEC1 forms of the same point
                // would give one key two device ids.
                let bytes = <[u8; p256::PublicKey::SIZE]>::read(buf)?;
                if !matches!(bytes[0], 0x02 | 0x03) {
                    return Err(CodecError::Invalid(
                        "DeviceId",
                        "P-256 key is not in compressed form",
                    ));
                }
                Ok(DeviceId::P256(crate::decode_exact::<p256::PublicKey>(
                    &bytes,
                )?))
            }
            None => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

/// A device's signature, tagged with its scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DeviceSignature {
    Ed25519(ed25519::Signature),
    P256(p256::Signature),
}

impl fmt::Debug for DeviceSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSignature::Ed25519(sig) => write!(f, "Ed25519({})", hex::encode(sig.as_ref())),
            DeviceSignature::P256(sig) => write!(f, "P256({})", hex::encode(sig.as_ref())),
        }
    }
}

impl Write for DeviceSignature {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            DeviceSignature::Ed25519(sig) => {
                (KeyScheme::Ed25519 as u8).write(buf);
                sig.write(buf);
            }
            DeviceSignature::P256(sig) => {
                (KeyScheme::P256 as u8).write(buf);
                sig.write(buf);
            }
        }
    }
}

impl EncodeSize for DeviceSignature {
    fn encode_size(&self) -> usize {
        1 + match self {
            DeviceSignature::Ed25519(_) => ed25519::Signature::SIZE,
            DeviceSignature::P256(_) => p256::Signature::SIZE,
        }
    }
}

impl Read for DeviceSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        match KeyScheme::from_tag(tag) {
            Some(KeyScheme::Ed25519) => {
                Ok(DeviceSignature::Ed25519(ed25519::Signature::read(buf)?))
            }
            Some(KeyScheme::P256) => Ok(DeviceSignature::P256(p256::Signature::read(buf)?)),
            None => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn device_ids_round_trip_for_both_schemes() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let key = DeviceKey::from_seed(scheme, 7);
            let id = key.id();
            assert_eq!(id.scheme(), scheme);
            assert_eq!(id.to_string().parse::<DeviceId>(), Ok(id.clone()));
            assert_eq!(DeviceId::decode(id.encode()).unwrap(), id);
            let sig = key.sign(b"ns", b"msg");
            assert!(id.verify(b"ns", b"msg", &sig));
            assert!(!id.verify(b"other-ns", b"msg", &sig));
            assert!(!id.verify(b"ns", b"other", &sig));
            assert_eq!(DeviceSignature::decode(sig.encode()).unwrap(), sig);
        }
    }

    #[test]
    fn signature_of_other_scheme_never_verifies() {
        let ed = DeviceKey::from_seed(KeyScheme::Ed25519, 1);
        let p = DeviceKey::from_seed(KeyScheme::P256, 1);
        assert!(!ed.id().verify(b"ns", b"m", &p.sign(b"ns", b"m")));
        assert!(!p.id().verify(b"ns", b"m", &ed.sign(b"ns", b"m")));
    }

    #[test]
    fn a_p256_key_has_exactly_one_device_id() {
        let id = DeviceKey::from_seed(KeyScheme::P256, 3).id();
        let mut bytes = id.encode().to_vec();
        assert!(matches!(bytes[1], 0x02 | 0x03));
        assert_eq!(crate::decode_exact::<DeviceId>(&bytes).unwrap(), id);
        // The same x with another SEC1 prefix (compact 05, or a flipped parity) is either
        // refused or a different key; never a second name for this one.
        for prefix in [0x00, 0x04, 0x05, 0x06, 0x07] {
            bytes[1] = prefix;
            assert!(
                crate::decode_exact::<DeviceId>(&bytes).is_err(),
                "prefix {prefix:#x}"
            );
        }
    }

    #[test]
    fn bad_device_bytes_are_rejected() {
        assert!(crate::decode_exact::<DeviceId>(&[9u8, 1, 2]).is_err());
        assert!(crate::decode_exact::<DeviceId>(&[0u8; 3]).is_err());
        assert!("gwd1qqqq".parse::<DeviceId>().is_err());
    }
}
