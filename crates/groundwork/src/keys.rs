//! Small helpers for key files shared by the commands.

use anyhow::{Context, Result};
use groundwork_primitives::keyfile::read_key_file;
use groundwork_primitives::{AccountKey, decode_exact};
use std::fs;
use std::path::Path;

/// A fresh ed25519 key from the operating system's randomness.
pub fn random_key() -> Result<AccountKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no randomness from the operating system: {e}"))?;
    decode_exact::<AccountKey>(&seed).context("building a key from random bytes")
}

/// Writes a file readable only by its owner.
pub fn write_secret(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting permissions of {}", path.display()))?;
    }
    Ok(())
}

/// Reads a key file.
pub fn load_key(path: &Path) -> Result<AccountKey> {
    let text =
        fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?;
    read_key_file(&text).with_context(|| format!("{} is not a valid key file", path.display()))
}
