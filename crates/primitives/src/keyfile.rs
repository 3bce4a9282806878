//! The plain key file: one ed25519 key in a small TOML document. Written by
//! `groundwork genesis new` for validators and the funded account of a local network.
//!
//! It is not encrypted: anyone who can read the file controls the key. It is meant for local
//! and test networks; an encrypted keystore for real funds is a separate format.

use crate::Address;
use crate::keys::{AccountKey, account_address, account_key_from_hex};
use commonware_codec::Encode;
use commonware_cryptography::Signer;

/// Why a key file did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file line {line}: {reason}")]
    Syntax { line: usize, reason: String },
    #[error("key file is missing `{field}`")]
    Missing { field: &'static str },
    #[error("key file scheme {found:?} is not supported (only ed25519)")]
    Scheme { found: String },
    #[error("key file secret_key is invalid: {reason}")]
    Secret { reason: String },
    #[error("key file public_key does not match its secret_key")]
    Mismatch,
}

/// What a key is for; informational.
pub const ROLE_VALIDATOR: &str = "validator";
pub const ROLE_ACCOUNT: &str = "account";

/// Renders a key file.
pub fn write_key_file(key: &AccountKey, role: &str) -> String {
    let public = key.public_key();
    format!(
        "# Groundwork key file ({role}). Unencrypted: anyone who reads this file controls the key.\n\
         scheme = \"ed25519\"\nrole = \"{role}\"\nsecret_key = \"{}\"\npublic_key = \"{}\"\naddress = \"{}\"\n",
        hex::encode(key.encode()),
        hex::encode(public.as_ref()),
        account_address(&public),
    )
}

/// Reads a key file; checks that the stored public key matches the secret.
pub fn read_key_file(text: &str) -> Result<AccountKey, KeyFileError> {
    let mut scheme = None;
    let mut secret = None;
    let mut public = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let syntax = |reason: &str| KeyFileError::Syntax {
            line: index + 1,
            reason: reason.to_string(),
        };
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| syntax("expected name = \"value\""))?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| syntax("value must be in double quotes"))?;
        match name.trim() {
            "scheme" => scheme = Some(value.to_string()),
            "secret_key" => secret = Some(value.to_string()),
            "public_key" => public = Some(value.to_string()),
            "role" | "address" => {}
            other => return Err(syntax(&format!("unknown field {other:?}"))),
        }
    }
    let scheme = scheme.ok_or(KeyFileError::Missing { field: "scheme" })?;
    if scheme != "ed25519" {
        return Err(KeyFileError::Scheme { found: scheme });
    }
    let secret = secret.ok_or(KeyFileError::Missing {
        field: "secret_key",
    })?;
    let key = account_key_from_hex(&secret).map_err(|e| KeyFileError::Secret {
        reason: e.to_string(),
    })?;
    if public.is_some_and(|public| public != hex::encode(key.public_key().as_ref())) {
        return Err(KeyFileError::Mismatch);
    }
    Ok(key)
}

/// The address a key file's key controls.
pub fn key_address(key: &AccountKey) -> Address {
    account_address(&key.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_catch_tampering() {
        let key = AccountKey::from_seed(3);
        let text = write_key_file(&key, ROLE_ACCOUNT);
        let loaded = read_key_file(&text).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        let other = hex::encode(AccountKey::from_seed(4).public_key().as_ref());
        let tampered = text.replace(&hex::encode(key.public_key().as_ref()), &other);
        assert_eq!(read_key_file(&tampered).err(), Some(KeyFileError::Mismatch));
        assert!(matches!(
            read_key_file("scheme = \"p256\"\n"),
            Err(KeyFileError::Scheme { .. })
        ));
        assert!(matches!(
            read_key_file("scheme = ed25519\n"),
            Err(KeyFileError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            read_key_file(""),
            Err(KeyFileError::Missing { field: "scheme" })
        ));
    }
}
