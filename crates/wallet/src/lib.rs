//! Groundwork wallet: client-side key handling. Pure functions over bytes and text; no I/O, no
//! async. The `groundwork keys` commands read and write the files; this crate only says what is
//! in them.
//!
//! # Keys
//!
//! A [`SecretKey`] is 32 bytes tagged with its scheme: an ed25519 seed or a P-256 scalar. Accounts
//! sign with ed25519; devices with either (see `groundwork_primitives::keys`). Keeping the raw
//! bytes, rather than the signer objects, lets one value be stored, exported and turned into
//! whichever signer a command needs.
//!
//! # Formats
//!
//! - **Keystore** ([`keystore`]): one JSON document per key. The secret is encrypted with
//!   XChaCha20-Poly1305 under a key stretched from a passphrase by argon2id, so a stolen file
//!   costs an attacker one argon2id run (64 MiB, 3 passes by default) per guess. The scheme,
//!   public key, address and device id stay in clear so keys can be listed without a passphrase;
//!   they, the KDF parameters and the derivation path are authenticated as associated data, so
//!   none can be swapped without the decryption failing. A SHA-256 checksum over the same content
//!   tells a damaged file ("corrupted") apart from a wrong passphrase; it is not a security
//!   boundary, the AEAD tag is.
//! - **PKCS#8 PEM** ([`pem`]): the `-----BEGIN PRIVATE KEY-----` files that OpenSSL and most
//!   tools read and write, for ed25519 (RFC 8410) and P-256 (RFC 5915 inside PKCS#8). SEC1
//!   `-----BEGIN EC PRIVATE KEY-----` files are read too. The DER inside is parsed by a small
//!   strict reader ([`der`]): only the few structures these keys use, every length checked.
//! - **Mnemonic** ([`mnemonic`]): BIP39 English word lists, 24 words for new keys, turned into a
//!   64-byte seed by PBKDF2-HMAC-SHA512.
//! - **Derivation** ([`slip10`]): SLIP-0010 for ed25519 turns that seed into keys along a path
//!   of hardened indices; [`slip10::DEFAULT_ACCOUNT_PATH`] is where Groundwork accounts live.
//!
//! Every parser treats its input as hostile: errors are typed and name what was wrong, and no
//! input makes this crate panic.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod der;
pub mod keystore;
pub mod mnemonic;
pub mod pem;
mod secret;
pub mod slip10;

pub use keystore::{KdfParams, Keystore, KeystoreError, Unlocked};
pub use mnemonic::{Mnemonic, MnemonicError};
pub use pem::PemError;
pub use secret::{KeyError, PublicDescription, SecretKey};
pub use slip10::{DerivationError, DerivationPath};
/// Re-exported so callers can hold secrets this crate returns without naming another crate.
pub use zeroize::Zeroizing;
