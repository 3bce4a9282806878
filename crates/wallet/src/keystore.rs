//! The encrypted keystore file: one key per JSON document.
//!
//! ```json
//! {
//!   "format": "groundwork-keystore",
//!   "version": 1,
//!   "scheme": "ed25519",
//!   "public_key": "<hex>",
//!   "address": "gw1…",
//!   "device_id": "gwd1…",
//!   "derivation_path": "m/44'/7477'/0'/0'/0'",
//!   "kdf": { "algorithm": "argon2id", "m_cost_kib": 65536, "t_cost": 3, "p_cost": 1,
//!            "salt": "<16 bytes hex>" },
//!   "cipher": { "algorithm": "xchacha20poly1305", "nonce": "<24 bytes hex>",
//!               "ciphertext": "<hex>" },
//!   "checksum": "<sha256 hex>"
//! }
//! ```
//!
//! `address` is present for ed25519 keys only; `derivation_path` only when the key was derived
//! from a mnemonic, which is then encrypted with it so it can be shown again.
//!
//! The passphrase is stretched by argon2id (memory-hard, so guessing is slow on any hardware)
//! with a fresh random salt; the 32-byte result keys XChaCha20-Poly1305, whose 24-byte random
//! nonce is safe to pick at random. The plaintext is the 32-byte secret followed by the
//! mnemonic's words, if any. The associated data is the header: format, version, scheme,
//! public key, KDF parameters with salt, and derivation path, so none of them can be altered
//! without the decryption failing.
//!
//! The checksum is SHA-256 over the header and the ciphertext. It needs no passphrase, so a
//! damaged file is reported as corrupted instead of as a wrong passphrase. It protects nothing
//! against a deliberate change (anyone can recompute it); the AEAD tag does that. Every field is
//! checked before argon2id runs, so a damaged file cannot make the reader allocate gigabytes.

use crate::mnemonic::Mnemonic;
use crate::secret::{KeyError, PublicDescription, SECRET_KEY_LENGTH, SecretKey};
use crate::slip10::DerivationPath;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use groundwork_primitives::KeyScheme;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The `format` field of every keystore file.
pub const FORMAT: &str = "groundwork-keystore";
/// The keystore version this crate writes and reads.
pub const VERSION: u64 = 1;
pub const SALT_LENGTH: usize = 16;
pub const NONCE_LENGTH: usize = 24;
/// Keystore files larger than this are refused unread.
pub const MAX_FILE_LENGTH: usize = 64 * 1024;

const KDF_ALGORITHM: &str = "argon2id";
const CIPHER_ALGORITHM: &str = "xchacha20poly1305";
const TAG_LENGTH: usize = 16;
/// Room for a 24-word mnemonic with any word list's longest words.
const MAX_MNEMONIC_BYTES: usize = 1024;

/// Why a keystore could not be written, read or unlocked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    #[error("keystore file is corrupted: {reason}")]
    Corrupted { reason: String },
    #[error("wrong passphrase for this keystore")]
    WrongPassphrase,
    #[error("keystore version {found} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion { found: String },
    #[error("invalid argon2id parameters: {reason}")]
    InvalidKdfParams { reason: String },
    #[error("the mnemonic does not derive this key at {path}")]
    MnemonicMismatch { path: String },
    #[error("only ed25519 keys can be kept with a mnemonic (SLIP-0010 derives ed25519 keys)")]
    MnemonicNeedsEd25519,
    #[error("argon2id failed: {reason}")]
    Kdf { reason: String },
    #[error("encryption failed")]
    Encrypt,
    #[error("cannot write the keystore as JSON: {reason}")]
    Encode { reason: String },
    #[error("no randomness from the operating system: {reason}")]
    Randomness { reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl KeystoreError {
    fn corrupted(reason: impl Into<String>) -> Self {
        KeystoreError::Corrupted {
            reason: reason.into(),
        }
    }
}

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: a few hundred milliseconds on a laptop per unlock, and the same
    /// per guess for an attacker, who cannot trade the memory away.
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// Bounds applied to files being read, so a damaged or hostile file cannot ask for more
    /// than 1 GiB or minutes of work.
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    pub const MAX_T_COST: u32 = 64;
    pub const MAX_P_COST: u32 = 16;

    /// Custom parameters. Cheaper than [`KdfParams::DEFAULT`] only for tests.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, KeystoreError> {
        let invalid = |reason: String| KeystoreError::InvalidKdfParams { reason };
        if !(1..=Self::MAX_P_COST).contains(&p_cost) {
            return Err(invalid(format!(
                "p_cost {p_cost} is not between 1 and {}",
                Self::MAX_P_COST
            )));
        }
        if !(1..=Self::MAX_T_COST).contains(&t_cost) {
            return Err(invalid(format!(
                "t_cost {t_cost} is not between 1 and {}",
                Self::MAX_T_COST
            )));
        }
        // Argon2 needs at least 8 KiB per lane.
        let min_m_cost = 8 * p_cost;
        if !(min_m_cost..=Self::MAX_M_COST_KIB).contains(&m_cost_kib) {
            return Err(invalid(format!(
                "m_cost_kib {m_cost_kib} is not between {min_m_cost} and {}",
                Self::MAX_M_COST_KIB
            )));
        }
        Ok(KdfParams {
            m_cost_kib,
            t_cost,
            p_cost,
        })
    }

    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    fn derive_key(
        &self,
        passphrase: &[u8],
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        let params = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| KeystoreError::InvalidKdfParams {
                reason: e.to_string(),
            })?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, salt, key.as_mut())
            .map_err(|e| KeystoreError::Kdf {
                reason: e.to_string(),
            })?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A parsed keystore: public fields readable without a passphrase, the secret still sealed.
#[derive(Clone, Debug)]
pub struct Keystore {
    public: PublicDescription,
    derivation_path: Option<DerivationPath>,
    kdf: KdfParams,
    salt: [u8; SALT_LENGTH],
    nonce: [u8; NONCE_LENGTH],
    ciphertext: Vec<u8>,
}

/// What a keystore holds once unlocked.
#[derive(Debug)]
pub struct Unlocked {
    pub secret: SecretKey,
    /// The mnemonic and path the key was derived from, if it was.
    pub mnemonic: Option<(Mnemonic, DerivationPath)>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeystoreFile {
    format: String,
    version: u64,
    scheme: String,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    device_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    derivation_path: Option<String>,
    kdf: KdfFile,
    cipher: CipherFile,
    checksum: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfFile {
    algorithm: String,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherFile {
    algorithm: String,
    nonce: String,
    ciphertext: String,
}

impl Keystore {
    /// Seals a key under a passphrase. With `mnemonic`, the words and path are sealed too; they
    /// must derive `secret` (with no BIP39 passphrase).
    pub fn encrypt(
        secret: &SecretKey,
        mnemonic: Option<(&Mnemonic, &DerivationPath)>,
        passphrase: &str,
        kdf: KdfParams,
    ) -> Result<Self, KeystoreError> {
        let public = secret.public_description()?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(SECRET_KEY_LENGTH + 256));
        plaintext.extend_from_slice(secret.as_bytes());
        let derivation_path = match mnemonic {
            Some((mnemonic, path)) => {
                check_mnemonic(secret, mnemonic, path)?;
                plaintext.extend_from_slice(mnemonic.phrase().as_bytes());
                Some(path.clone())
            }
            None => None,
        };
        let mut salt = [0u8; SALT_LENGTH];
        let mut nonce = [0u8; NONCE_LENGTH];
        for buffer in [&mut salt[..], &mut nonce[..]] {
            getrandom::fill(buffer).map_err(|e| KeystoreError::Randomness {
                reason: e.to_string(),
            })?;
        }
        let header = header(&public, derivation_path.as_ref(), &kdf, &salt);
        let key = kdf.derive_key(passphrase.as_bytes(), &salt)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(key.as_ref()).map_err(|_| KeystoreError::Encrypt)?;
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: header.as_bytes(),
                },
            )
            .map_err(|_| KeystoreError::Encrypt)?;
        Ok(Keystore {
            public,
            derivation_path,
            kdf,
            salt,
            nonce,
            ciphertext,
        })
    }

    /// Opens the seal. A wrong passphrase, or a file altered by someone who recomputed its
    /// checksum, gives [`KeystoreError::WrongPassphrase`].
    pub fn decrypt(&self, passphrase: &str) -> Result<Unlocked, KeystoreError> {
        let header = header(
            &self.public,
            self.derivation_path.as_ref(),
            &self.kdf,
            &self.salt,
        );
        let key = self.kdf.derive_key(passphrase.as_bytes(), &self.salt)?;
        let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref())
            .map_err(|_| KeystoreError::WrongPassphrase)?;
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(self.nonce),
                    Payload {
                        msg: &self.ciphertext,
                        aad: header.as_bytes(),
                    },
                )
                .map_err(|_| KeystoreError::WrongPassphrase)?,
        );
        // Authentic from here on: a failure below means the writer was broken, not the file.
        let (raw, words) = plaintext
            .split_at_checked(SECRET_KEY_LENGTH)
            .ok_or_else(|| KeystoreError::corrupted("sealed secret is too short"))?;
        let secret = SecretKey::from_bytes(self.public.scheme, raw)
            .map_err(|e| KeystoreError::corrupted(format!("sealed secret: {e}")))?;
        if secret.public_description()? != self.public {
            return Err(KeystoreError::corrupted(
                "sealed secret does not match the stored public key",
            ));
        }
        let mnemonic = match &self.derivation_path {
            Some(path) => {
                let phrase = Zeroizing::new(
                    std::str::from_utf8(words)
                        .map_err(|_| KeystoreError::corrupted("sealed mnemonic is not UTF-8"))?
                        .to_string(),
                );
                let mnemonic = Mnemonic::parse(&phrase)
                    .map_err(|e| KeystoreError::corrupted(format!("sealed mnemonic: {e}")))?;
                check_mnemonic(&secret, &mnemonic, path)
                    .map_err(|e| KeystoreError::corrupted(e.to_string()))?;
                Some((mnemonic, path.clone()))
            }
            None if words.is_empty() => None,
            None => {
                return Err(KeystoreError::corrupted(
                    "sealed mnemonic without a derivation path",
                ));
            }
        };
        Ok(Unlocked { secret, mnemonic })
    }

    /// The file's text: pretty JSON, newline-terminated.
    pub fn to_json(&self) -> Result<String, KeystoreError> {
        let file = KeystoreFile {
            format: FORMAT.to_string(),
            version: VERSION,
            scheme: self.public.scheme.name().to_string(),
            public_key: hex::encode(&self.public.public_key),
            address: self.public.address.map(|address| address.to_string()),
            device_id: self.public.device_id.to_string(),
            derivation_path: self.derivation_path.as_ref().map(ToString::to_string),
            kdf: KdfFile {
                algorithm: KDF_ALGORITHM.to_string(),
                m_cost_kib: self.kdf.m_cost_kib,
                t_cost: self.kdf.t_cost,
                p_cost: self.kdf.p_cost,
                salt: hex::encode(self.salt),
            },
            cipher: CipherFile {
                algorithm: CIPHER_ALGORITHM.to_string(),
                nonce: hex::encode(self.nonce),
                ciphertext: hex::encode(&self.ciphertext),
            },
            checksum: hex::encode(self.checksum()),
        };
        let mut text = serde_json::to_string_pretty(&file).map_err(|e| KeystoreError::Encode {
            reason: e.to_string(),
        })?;
        text.push('\n');
        Ok(text)
    }

    /// Parses and checks a keystore file without its passphrase.
    pub fn from_json(text: &str) -> Result<Self, KeystoreError> {
        if text.len() > MAX_FILE_LENGTH {
            return Err(KeystoreError::corrupted(format!(
                "larger than {MAX_FILE_LENGTH} bytes"
            )));
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| KeystoreError::corrupted(format!("not valid JSON: {e}")))?;
        if value.get("format").and_then(|format| format.as_str()) != Some(FORMAT) {
            return Err(KeystoreError::corrupted(format!(
                "not a {FORMAT} file (its \"format\" field is missing or different)"
            )));
        }
        match value.get("version") {
            Some(version) if version.as_u64() == Some(VERSION) => {}
            Some(version) => {
                return Err(KeystoreError::UnsupportedVersion {
                    found: version.to_string(),
                });
            }
            None => return Err(KeystoreError::corrupted("no \"version\" field")),
        }
        let file: KeystoreFile = serde_json::from_value(value)
            .map_err(|e| KeystoreError::corrupted(format!("unexpected content: {e}")))?;

        let scheme = match file.scheme.as_str() {
            "ed25519" => KeyScheme::Ed25519,
            "p256" => KeyScheme::P256,
            other => {
                return Err(KeystoreError::corrupted(format!(
                    "unknown scheme {other:?}"
                )));
            }
        };
        let public_key = decode_hex("public_key", &file.public_key, None)?;
        let public = PublicDescription::from_public_key(scheme, &public_key)
            .map_err(|e| KeystoreError::corrupted(e.to_string()))?;
        let address = public.address.map(|address| address.to_string());
        if file.address != address {
            return Err(KeystoreError::corrupted(
                "address does not belong to the public key",
            ));
        }
        if file.device_id != public.device_id.to_string() {
            return Err(KeystoreError::corrupted(
                "device id does not belong to the public key",
            ));
        }
        let derivation_path = match &file.derivation_path {
            Some(text) => {
                let path: DerivationPath = text
                    .parse()
                    .map_err(|e| KeystoreError::corrupted(format!("{e}")))?;
                if path.to_string() != *text || scheme != KeyScheme::Ed25519 {
                    return Err(KeystoreError::corrupted(format!(
                        "derivation path {text:?} is not canonical or not for ed25519"
                    )));
                }
                Some(path)
            }
            None => None,
        };
        if file.kdf.algorithm != KDF_ALGORITHM {
            return Err(KeystoreError::corrupted(format!(
                "unknown KDF {:?}",
                file.kdf.algorithm
            )));
        }
        let kdf = KdfParams::new(file.kdf.m_cost_kib, file.kdf.t_cost, file.kdf.p_cost)
            .map_err(|e| KeystoreError::corrupted(e.to_string()))?;
        let salt = fixed::<SALT_LENGTH>("salt", &file.kdf.salt)?;
        if file.cipher.algorithm != CIPHER_ALGORITHM {
            return Err(KeystoreError::corrupted(format!(
                "unknown cipher {:?}",
                file.cipher.algorithm
            )));
        }
        let nonce = fixed::<NONCE_LENGTH>("nonce", &file.cipher.nonce)?;
        let ciphertext = decode_hex("ciphertext", &file.cipher.ciphertext, None)?;
        let sealed_length = ciphertext.len().saturating_sub(TAG_LENGTH);
        let expected_length = if derivation_path.is_some() {
            SECRET_KEY_LENGTH + 1..=SECRET_KEY_LENGTH + MAX_MNEMONIC_BYTES
        } else {
            SECRET_KEY_LENGTH..=SECRET_KEY_LENGTH
        };
        if ciphertext.len() < TAG_LENGTH || !expected_length.contains(&sealed_length) {
            return Err(KeystoreError::corrupted(format!(
                "ciphertext is {} bytes, which cannot hold a sealed key",
                ciphertext.len()
            )));
        }
        let checksum = fixed::<32>("checksum", &file.checksum)?;
        let keystore = Keystore {
            public,
            derivation_path,
            kdf,
            salt,
            nonce,
            ciphertext,
        };
        if keystore.checksum() != checksum {
            return Err(KeystoreError::corrupted(
                "checksum does not match the content",
            ));
        }
        Ok(keystore)
    }

    pub fn scheme(&self) -> KeyScheme {
        self.public.scheme
    }

    /// Scheme, public key, address and device id, all readable without the passphrase.
    pub fn public(&self) -> &PublicDescription {
        &self.public
    }

    /// The path the key was derived at, when its mnemonic is sealed with it.
    pub fn derivation_path(&self) -> Option<&DerivationPath> {
        self.derivation_path.as_ref()
    }

    /// True when the key's mnemonic can be shown again.
    pub fn has_mnemonic(&self) -> bool {
        self.derivation_path.is_some()
    }

    pub fn kdf_params(&self) -> KdfParams {
        self.kdf
    }

    fn checksum(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(
            header(
                &self.public,
                self.derivation_path.as_ref(),
                &self.kdf,
                &self.salt,
            )
            .as_bytes(),
        );
        hasher.update(format!("nonce: {}\n", hex::encode(self.nonce)).as_bytes());
        hasher.update(format!("ciphertext: {}\n", hex::encode(&self.ciphertext)).as_bytes());
        hasher.finalize().into()
    }
}

/// The authenticated header, one field a line, in a fixed order and spelling.
fn header(
    public: &PublicDescription,
    derivation_path: Option<&DerivationPath>,
    kdf: &KdfParams,
    salt: &[u8; SALT_LENGTH],
) -> String {
    format!(
        "format: {FORMAT}\nversion: {VERSION}\nscheme: {}\npublic_key: {}\n\
         kdf: {KDF_ALGORITHM} m_cost_kib={} t_cost={} p_cost={} salt={}\n\
         cipher: {CIPHER_ALGORITHM}\nderivation_path: {}\n",
        public.scheme.name(),
        hex::encode(&public.public_key),
        kdf.m_cost_kib,
        kdf.t_cost,
        kdf.p_cost,
        hex::encode(salt),
        derivation_path.map_or_else(|| "none".to_string(), ToString::to_string),
    )
}

fn check_mnemonic(
    secret: &SecretKey,
    mnemonic: &Mnemonic,
    path: &DerivationPath,
) -> Result<(), KeystoreError> {
    if secret.scheme() != KeyScheme::Ed25519 {
        return Err(KeystoreError::MnemonicNeedsEd25519);
    }
    let mismatch = || KeystoreError::MnemonicMismatch {
        path: path.to_string(),
    };
    let derived = SecretKey::from_mnemonic(mnemonic, "", path).map_err(|_| mismatch())?;
    if derived == *secret {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// Lowercase hex only, so every byte string has exactly one spelling in a file.
fn decode_hex(
    field: &'static str,
    text: &str,
    length: Option<usize>,
) -> Result<Vec<u8>, KeystoreError> {
    if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(KeystoreError::corrupted(format!(
            "{field} is not lowercase hex"
        )));
    }
    let bytes = hex::decode(text)
        .map_err(|e| KeystoreError::corrupted(format!("{field} is not hex: {e}")))?;
    if let Some(length) = length
        && bytes.len() != length
    {
        return Err(KeystoreError::corrupted(format!(
            "{field} is {} bytes, expected {length}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn fixed<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], KeystoreError> {
    let bytes = decode_hex(field, text, Some(N))?;
    bytes
        .try_into()
        .map_err(|_| KeystoreError::corrupted(format!("{field} is not {N} bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so the tests run fast; real keystores use [`KdfParams::DEFAULT`].
    fn cheap() -> KdfParams {
        KdfParams::new(64, 1, 1).unwrap()
    }

    #[test]
    fn round_trips_both_schemes() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let secret = SecretKey::generate(scheme).unwrap();
            let keystore = Keystore::encrypt(&secret, None, "correct horse", cheap()).unwrap();
            let text = keystore.to_json().unwrap();
            let read = Keystore::from_json(&text).unwrap();
            assert_eq!(read.public(), &secret.public_description().unwrap());
            assert_eq!(read.scheme(), scheme);
            assert!(!read.has_mnemonic());
            assert_eq!(read.kdf_params(), cheap());
            let unlocked = read.decrypt("correct horse").unwrap();
            assert_eq!(unlocked.secret, secret);
            assert!(unlocked.mnemonic.is_none());
            // The file shows the public side in clear and never the secret.
            assert!(text.contains(&hex::encode(&read.public().public_key)));
            assert!(!text.contains(&hex::encode(secret.as_bytes())));
            assert_eq!(text.contains("\"address\""), scheme == KeyScheme::Ed25519);
        }
    }

    #[test]
    fn default_parameters_round_trip() {
        let secret = SecretKey::generate(KeyScheme::Ed25519).unwrap();
        let keystore = Keystore::encrypt(&secret, None, "pass", KdfParams::default()).unwrap();
        let read = Keystore::from_json(&keystore.to_json().unwrap()).unwrap();
        assert_eq!(read.kdf_params(), KdfParams::DEFAULT);
        assert_eq!(read.decrypt("pass").unwrap().secret, secret);
    }

    #[test]
    fn mnemonic_is_sealed_and_checked() {
        let mnemonic = Mnemonic::generate().unwrap();
        let path = DerivationPath::default_account();
        let secret = SecretKey::from_mnemonic(&mnemonic, "", &path).unwrap();
        let keystore =
            Keystore::encrypt(&secret, Some((&mnemonic, &path)), "pass", cheap()).unwrap();
        let text = keystore.to_json().unwrap();
        assert!(!text.contains(mnemonic.phrase().as_str()));
        let read = Keystore::from_json(&text).unwrap();
        assert_eq!(read.derivation_path(), Some(&path));
        let unlocked = read.decrypt("pass").unwrap();
        assert_eq!(unlocked.secret, secret);
        assert_eq!(unlocked.mnemonic, Some((mnemonic.clone(), path.clone())));

        let other_path: DerivationPath = "m/44'/7477'/1'/0'/0'".parse().unwrap();
        assert_eq!(
            Keystore::encrypt(&secret, Some((&mnemonic, &other_path)), "pass", cheap())
                .unwrap_err(),
            KeystoreError::MnemonicMismatch {
                path: other_path.to_string()
            }
        );
        let p256 = SecretKey::generate(KeyScheme::P256).unwrap();
        assert_eq!(
            Keystore::encrypt(&p256, Some((&mnemonic, &path)), "pass", cheap()).unwrap_err(),
            KeystoreError::MnemonicNeedsEd25519
        );
    }

    #[test]
    fn wrong_passphrase_is_refused() {
        let secret = SecretKey::generate(KeyScheme::Ed25519).unwrap();
        let keystore = Keystore::encrypt(&secret, None, "right", cheap()).unwrap();
        let read = Keystore::from_json(&keystore.to_json().unwrap()).unwrap();
        for wrong in ["wrong", "", "right ", "Right"] {
            let error = read.decrypt(wrong).unwrap_err();
            assert_eq!(error, KeystoreError::WrongPassphrase);
            assert!(error.to_string().contains("wrong passphrase"));
        }
    }

    #[test]
    fn every_flipped_byte_is_caught_without_panic() {
        let mnemonic = Mnemonic::generate().unwrap();
        let path = DerivationPath::default_account();
        let ed = SecretKey::from_mnemonic(&mnemonic, "", &path).unwrap();
        let p256 = SecretKey::generate(KeyScheme::P256).unwrap();
        for (secret, words) in [(&ed, Some((&mnemonic, &path))), (&p256, None)] {
            let text = Keystore::encrypt(secret, words, "pass", cheap())
                .unwrap()
                .to_json()
                .unwrap();
            for index in 0..text.len() {
                for flip in [0x01u8, 0x20] {
                    let mut bytes = text.clone().into_bytes();
                    bytes[index] ^= flip;
                    let Ok(altered) = String::from_utf8(bytes) else {
                        continue;
                    };
                    let outcome = Keystore::from_json(&altered).and_then(|k| k.decrypt("pass"));
                    match outcome {
                        Err(KeystoreError::Corrupted { .. })
                        | Err(KeystoreError::WrongPassphrase)
                        | Err(KeystoreError::UnsupportedVersion { .. }) => {}
                        other => panic!("flip {flip:#x} at {index} gave {other:?}"),
                    }
                }
            }
        }
    }

    /// Changes one field of a keystore file and recomputes nothing.
    fn with_field(text: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
        edit(&mut value);
        serde_json::to_string_pretty(&value).unwrap()
    }

    fn flip_hex(value: &mut serde_json::Value) {
        let text = value.as_str().unwrap();
        let mut bytes = hex::decode(text).unwrap();
        bytes[0] ^= 1;
        *value = serde_json::Value::String(hex::encode(bytes));
    }

    #[test]
    fn altered_fields_are_corrupted_or_refused() {
        let secret = SecretKey::generate(KeyScheme::Ed25519).unwrap();
        let text = Keystore::encrypt(&secret, None, "pass", cheap())
            .unwrap()
            .to_json()
            .unwrap();
        let corrupted = |altered: String| match Keystore::from_json(&altered) {
            Err(KeystoreError::Corrupted { reason }) => reason,
            other => panic!("expected corrupted, got {other:?}"),
        };
        let reason = corrupted(with_field(&text, |v| {
            flip_hex(&mut v["cipher"]["ciphertext"])
        }));
        assert!(reason.contains("checksum"), "{reason}");
        corrupted(with_field(&text, |v| flip_hex(&mut v["kdf"]["salt"])));
        corrupted(with_field(&text, |v| flip_hex(&mut v["cipher"]["nonce"])));
        corrupted(with_field(&text, |v| flip_hex(&mut v["public_key"])));
        corrupted(with_field(&text, |v| flip_hex(&mut v["checksum"])));
        corrupted(with_field(&text, |v| {
            v["kdf"]["m_cost_kib"] = (1u64 << 40).into()
        }));
        corrupted(with_field(&text, |v| v["kdf"]["m_cost_kib"] = 128.into()));
        corrupted(with_field(&text, |v| v["scheme"] = "p256".into()));
        corrupted(with_field(&text, |v| v["extra"] = 1.into()));
        corrupted(with_field(&text, |v| v["format"] = "other".into()));
        corrupted(with_field(&text, |v| {
            v["derivation_path"] = "m/44'/7477'/0'/0'/0'".into()
        }));
        corrupted(text.replace("\"checksum\"", "\"Checksum\""));
        corrupted(text[..text.len() / 2].to_string());
        corrupted(String::new());
        corrupted("[]".to_string());
        corrupted(" ".repeat(MAX_FILE_LENGTH + 1));
        assert!(matches!(
            Keystore::from_json(&with_field(&text, |v| v["version"] = 2.into())),
            Err(KeystoreError::UnsupportedVersion { .. })
        ));

        // An altered salt with a recomputed checksum gets past the checksum but not the AEAD.
        let keystore = Keystore::from_json(&text).unwrap();
        let mut altered = keystore.clone();
        altered.salt[0] ^= 1;
        let reread = Keystore::from_json(&altered.to_json().unwrap()).unwrap();
        assert_eq!(
            reread.decrypt("pass").unwrap_err(),
            KeystoreError::WrongPassphrase
        );
        // So does a swapped public key: it is associated data.
        let mut swapped = keystore.clone();
        swapped.public = SecretKey::generate(KeyScheme::Ed25519)
            .unwrap()
            .public_description()
            .unwrap();
        let reread = Keystore::from_json(&swapped.to_json().unwrap()).unwrap();
        assert_eq!(
            reread.decrypt("pass").unwrap_err(),
            KeystoreError::WrongPassphrase
        );
    }

    #[test]
    fn kdf_parameters_are_bounded() {
        assert!(KdfParams::new(8, 1, 1).is_ok());
        assert!(KdfParams::new(7, 1, 1).is_err());
        assert!(KdfParams::new(64, 0, 1).is_err());
        assert!(KdfParams::new(64, 1, 0).is_err());
        assert!(KdfParams::new(64, 1, 17).is_err());
        assert!(KdfParams::new(KdfParams::MAX_M_COST_KIB + 1, 1, 1).is_err());
        assert!(KdfParams::new(64, KdfParams::MAX_T_COST + 1, 1).is_err());
        assert_eq!(KdfParams::default(), KdfParams::new(65536, 3, 1).unwrap());
    }
}
