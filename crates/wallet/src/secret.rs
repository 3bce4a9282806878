//! A secret key of either scheme, kept as its 32 raw bytes.

use crate::mnemonic::Mnemonic;
use crate::slip10::{self, DerivationError, DerivationPath};
use commonware_cryptography::{ed25519, secp256r1::standard as p256};
use groundwork_primitives::codec::Encode;
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{AccountKey, Address, DeviceId, DeviceKey, KeyScheme, decode_exact};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a secret key of either scheme.
pub const SECRET_KEY_LENGTH: usize = 32;

/// Why key material could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("accounts sign with ed25519; this key is {scheme}")]
    NotAnAccountKey { scheme: &'static str },
    #[error("a {scheme} secret key is {SECRET_KEY_LENGTH} bytes, got {found}")]
    Length { scheme: &'static str, found: usize },
    #[error("invalid {scheme} secret key: {reason}")]
    InvalidSecret {
        scheme: &'static str,
        reason: String,
    },
    #[error("invalid {scheme} public key: {reason}")]
    InvalidPublic {
        scheme: &'static str,
        reason: String,
    },
    #[error("no randomness from the operating system: {reason}")]
    Randomness { reason: String },
}

/// A secret key: an ed25519 seed or a P-256 scalar. Always valid for its scheme (checked when
/// built), and wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub enum SecretKey {
    /// The 32-byte seed of RFC 8032 (not the expanded key).
    Ed25519([u8; SECRET_KEY_LENGTH]),
    /// The big-endian scalar, in 1..n.
    P256([u8; SECRET_KEY_LENGTH]),
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey::{}(<redacted>)", self.scheme().name())
    }
}

impl SecretKey {
    /// A key from its raw bytes; checks that they form a valid key of `scheme`.
    pub fn from_bytes(scheme: KeyScheme, bytes: &[u8]) -> Result<Self, KeyError> {
        let raw: [u8; SECRET_KEY_LENGTH] = bytes.try_into().map_err(|_| KeyError::Length {
            scheme: scheme.name(),
            found: bytes.len(),
        })?;
        let key = match scheme {
            KeyScheme::Ed25519 => SecretKey::Ed25519(raw),
            KeyScheme::P256 => SecretKey::P256(raw),
        };
        // Not every 32-byte string is a P-256 scalar (zero, or not below the group order).
        key.device_key()?;
        Ok(key)
    }

    /// A fresh key from the operating system's randomness.
    pub fn generate(scheme: KeyScheme) -> Result<Self, KeyError> {
        // A random 32-byte string is a valid P-256 scalar except with probability below 2^-32,
        // so a few draws always suffice in practice; the bound only keeps the loop finite.
        for _ in 0..8 {
            let mut raw = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
            getrandom::fill(raw.as_mut()).map_err(|e| KeyError::Randomness {
                reason: e.to_string(),
            })?;
            if let Ok(key) = Self::from_bytes(scheme, raw.as_ref()) {
                return Ok(key);
            }
        }
        Err(KeyError::Randomness {
            reason: "eight draws in a row were not valid keys".to_string(),
        })
    }

    /// The seed of an existing account key.
    pub fn from_account_key(key: &AccountKey) -> Result<Self, KeyError> {
        let encoded = Zeroizing::new(key.encode().to_vec());
        Self::from_bytes(KeyScheme::Ed25519, &encoded)
    }

    /// The ed25519 key at `path` below a BIP39 mnemonic (SLIP-0010).
    pub fn from_mnemonic(
        mnemonic: &Mnemonic,
        bip39_passphrase: &str,
        path: &DerivationPath,
    ) -> Result<Self, DerivationError> {
        let seed = mnemonic.to_seed(bip39_passphrase);
        let extended = slip10::derive_ed25519(seed.as_ref(), path)?;
        Ok(SecretKey::Ed25519(*extended.secret()))
    }

    pub fn scheme(&self) -> KeyScheme {
        match self {
            SecretKey::Ed25519(_) => KeyScheme::Ed25519,
            SecretKey::P256(_) => KeyScheme::P256,
        }
    }

    /// The raw secret bytes. Handle with care: anyone who sees them controls the key.
    pub fn as_bytes(&self) -> &[u8; SECRET_KEY_LENGTH] {
        match self {
            SecretKey::Ed25519(raw) | SecretKey::P256(raw) => raw,
        }
    }

    /// The key as an account signer. Accounts sign with ed25519 only.
    pub fn account_key(&self) -> Result<AccountKey, KeyError> {
        match self {
            SecretKey::Ed25519(seed) => {
                decode_exact::<ed25519::PrivateKey>(seed).map_err(|e| KeyError::InvalidSecret {
                    scheme: KeyScheme::Ed25519.name(),
                    reason: e.to_string(),
                })
            }
            SecretKey::P256(_) => Err(KeyError::NotAnAccountKey {
                scheme: KeyScheme::P256.name(),
            }),
        }
    }

    /// The key as a device signer (either scheme).
    pub fn device_key(&self) -> Result<DeviceKey, KeyError> {
        let invalid = |e: groundwork_primitives::codec::Error| KeyError::InvalidSecret {
            scheme: self.scheme().name(),
            reason: groundwork_primitives::describe_decode_error(&e),
        };
        match self {
            SecretKey::Ed25519(seed) => Ok(DeviceKey::Ed25519(
                decode_exact::<ed25519::PrivateKey>(seed).map_err(invalid)?,
            )),
            SecretKey::P256(scalar) => Ok(DeviceKey::P256(
                decode_exact::<p256::PrivateKey>(scalar).map_err(invalid)?,
            )),
        }
    }

    /// The device id of this key: its public key tagged with its scheme.
    pub fn device_id(&self) -> Result<DeviceId, KeyError> {
        Ok(self.device_key()?.id())
    }

    /// What may be shown about this key: scheme, public key, address and device id.
    pub fn public_description(&self) -> Result<PublicDescription, KeyError> {
        PublicDescription::from_device_id(self.device_id()?)
    }
}

/// The public side of a key, as listed without a passphrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicDescription {
    pub scheme: KeyScheme,
    /// 32 bytes for ed25519; 33 (compressed SEC1 point) for P-256.
    pub public_key: Vec<u8>,
    /// The account address (`gw1…`); ed25519 keys only, since only they can hold accounts.
    pub address: Option<Address>,
    /// The device id (`gwd1…`).
    pub device_id: DeviceId,
}

impl PublicDescription {
    /// Describes a public key given as raw bytes; checks that it is a valid key of `scheme`.
    pub fn from_public_key(scheme: KeyScheme, public_key: &[u8]) -> Result<Self, KeyError> {
        // The P-256 decoder also takes the "compact" form (0x05 ‖ x), a second spelling of the
        // same key; only the compressed form (0x02/0x03 ‖ x) is a device id.
        if scheme == KeyScheme::P256 && !matches!(public_key.first(), Some(0x02 | 0x03)) {
            return Err(KeyError::InvalidPublic {
                scheme: scheme.name(),
                reason: "not a compressed SEC1 point (02 or 03 followed by x)".to_string(),
            });
        }
        let mut tagged = Vec::with_capacity(1 + public_key.len());
        tagged.push(scheme as u8);
        tagged.extend_from_slice(public_key);
        let device_id = decode_exact::<DeviceId>(&tagged).map_err(|e| KeyError::InvalidPublic {
            scheme: scheme.name(),
            reason: e.to_string(),
        })?;
        Self::from_device_id(device_id)
    }

    fn from_device_id(device_id: DeviceId) -> Result<Self, KeyError> {
        let address = match &device_id {
            DeviceId::Ed25519(public) => Some(account_address(public)),
            DeviceId::P256(_) => None,
        };
        Ok(PublicDescription {
            scheme: device_id.scheme(),
            public_key: device_id.key_bytes().to_vec(),
            address,
            device_id,
        })
    }
}

impl fmt::Display for PublicDescription {
    /// `address gw1… device gwd1…` for ed25519; `device gwd1…` for P-256.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(address) = &self.address {
            write!(f, "address {address} ")?;
        }
        write!(f, "device {}", self.device_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Signer;

    #[test]
    fn both_schemes_give_device_keys_and_only_ed25519_gives_accounts() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let key = SecretKey::generate(scheme).unwrap();
            assert_eq!(key.scheme(), scheme);
            let id = key.device_id().unwrap();
            assert_eq!(id.scheme(), scheme);
            let description = key.public_description().unwrap();
            assert_eq!(description.device_id, id);
            assert_eq!(
                PublicDescription::from_public_key(scheme, &description.public_key).unwrap(),
                description
            );
            let signature = key.device_key().unwrap().sign(b"ns", b"message");
            assert!(id.verify(b"ns", b"message", &signature));
        }
        let ed = SecretKey::generate(KeyScheme::Ed25519).unwrap();
        let account = ed.account_key().unwrap();
        let description = ed.public_description().unwrap();
        assert_eq!(
            description.address,
            Some(account_address(&account.public_key()))
        );
        assert!(description.to_string().starts_with("address gw1"));
        assert_eq!(SecretKey::from_account_key(&account).unwrap(), ed);

        let p = SecretKey::generate(KeyScheme::P256).unwrap();
        let error = p.account_key().unwrap_err();
        assert_eq!(error, KeyError::NotAnAccountKey { scheme: "p256" });
        assert!(error.to_string().contains("accounts sign with ed25519"));
        assert_eq!(p.public_description().unwrap().address, None);
    }

    #[test]
    fn mnemonic_keys_follow_bip39_then_slip10() {
        const SEED: &str = "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1\
                            9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4";
        let mnemonic = Mnemonic::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about",
        )
        .unwrap();
        // BIP39's seed for these words with no passphrase.
        assert_eq!(hex::encode(mnemonic.to_seed("").as_ref()), SEED);
        let path = DerivationPath::default_account();
        let key = SecretKey::from_mnemonic(&mnemonic, "", &path).unwrap();
        // The same as SLIP-0010 (checked against its published vectors) applied to that seed.
        let node = slip10::derive_ed25519(&hex::decode(SEED).unwrap(), &path).unwrap();
        assert_eq!(key.as_bytes(), node.secret());
        // Pinned: `groundwork keys import --mnemonic` must keep printing this for these words.
        assert_eq!(
            key.public_description()
                .unwrap()
                .address
                .unwrap()
                .to_string(),
            "gw1u3sepjp8yykt29fc8vndyaq0nf7pjyw7l0acng"
        );
        // Another path, another key.
        let other =
            SecretKey::from_mnemonic(&mnemonic, "", &"m/44'/7477'/1'/0'/0'".parse().unwrap())
                .unwrap();
        assert_ne!(other, key);
    }

    #[test]
    fn invalid_secret_bytes_are_refused() {
        assert!(matches!(
            SecretKey::from_bytes(KeyScheme::Ed25519, &[1u8; 31]),
            Err(KeyError::Length { found: 31, .. })
        ));
        // Zero and the group order are not P-256 scalars.
        assert!(matches!(
            SecretKey::from_bytes(KeyScheme::P256, &[0u8; 32]),
            Err(KeyError::InvalidSecret { .. })
        ));
        let order = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
            .unwrap();
        assert!(SecretKey::from_bytes(KeyScheme::P256, &order).is_err());
        assert!(SecretKey::from_bytes(KeyScheme::P256, &[0xff; 32]).is_err());
        assert!(SecretKey::from_bytes(KeyScheme::Ed25519, &[0u8; 32]).is_ok());
        assert!(PublicDescription::from_public_key(KeyScheme::P256, &[5u8; 33]).is_err());
        assert!(PublicDescription::from_public_key(KeyScheme::P256, &[7u8; 33]).is_err());
        // A valid key spelled in the compact form (05 ‖ x) is refused: one key, one id.
        let p = SecretKey::generate(KeyScheme::P256).unwrap();
        let mut compact = p.public_description().unwrap().public_key;
        compact[0] = 0x05;
        assert!(PublicDescription::from_public_key(KeyScheme::P256, &compact).is_err());
        assert!(PublicDescription::from_public_key(KeyScheme::Ed25519, &[2u8; 31]).is_err());
        let debug = format!("{:?}", SecretKey::Ed25519([7; 32]));
        assert!(!debug.contains('7'), "{debug}");
    }
}
