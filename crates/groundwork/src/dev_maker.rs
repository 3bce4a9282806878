//! The dev chain's device maker: a maker account (`dev-maker.key`) registered in the dev
//! genesis, whose CA (`dev-maker-ca.pem`) certifies every kind. The fleet plays its factory and
//! registers its devices with certificates from it, so they are attested as real hardware
//! would be. The CA key is derived from the maker's account key, so a resumed dev chain issues
//! from the same CA without storing a second secret.

use anyhow::{Context, Result};
use groundwork_attest::SubjectKey;
use groundwork_attest::issue::Maker;
use groundwork_primitives::codec::Encode;
use groundwork_primitives::keys::KeyScheme;
use groundwork_primitives::{AccountKey, DeviceKey, ResourceKind};

/// The dev maker's name on chain.
pub const DEV_MAKER_NAME: &str = "Groundwork dev maker";

/// 2020-01-01 and 2100-01-01: fixed, so the CA certificate is the same on every run.
const NOT_BEFORE_S: u64 = 1_577_836_800;
const NOT_AFTER_S: u64 = 4_102_444_800;

/// The maker whose CA key derives from `account`.
pub fn maker(account: &AccountKey) -> Result<Maker> {
    let secret = account.encode();
    // A hash is a valid P-256 scalar but for a chance of about 2^-32; count on past one.
    for counter in 0u8..=255 {
        let seed = groundwork_primitives::hash_parts(&[
            b"groundwork-dev-maker-ca",
            secret.as_ref(),
            &[counter],
        ]);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(seed.as_ref());
        match Maker::new(bytes, DEV_MAKER_NAME, NOT_BEFORE_S, NOT_AFTER_S) {
            Ok(maker) => return Ok(maker),
            Err(groundwork_attest::issue::IssueError::BadSeed) => continue,
            Err(other) => return Err(other).context("making the dev maker's CA"),
        }
    }
    anyhow::bail!("no P-256 scalar derives from the dev maker key")
}

/// The device's certificate from `maker`; its serial is derived from the device's id.
pub fn certificate(maker: &Maker, device: &DeviceKey) -> Result<Vec<u8>> {
    let id = device.id();
    let subject = match id.scheme() {
        KeyScheme::P256 => SubjectKey::P256(id.key_bytes().to_vec()),
        KeyScheme::Ed25519 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(id.key_bytes());
            SubjectKey::Ed25519(key)
        }
    };
    let digest = groundwork_primitives::hash_parts(&[b"groundwork-dev-serial", id.key_bytes()]);
    let mut serial = [0u8; 8];
    serial.copy_from_slice(&digest.as_ref()[..8]);
    maker
        .issue(
            &subject,
            u64::from_be_bytes(serial) >> 1,
            NOT_BEFORE_S,
            NOT_AFTER_S,
        )
        .with_context(|| format!("issuing a certificate for device {id}"))
}

/// The genesis section registering `maker` (account `account`) for every kind, requiring
/// none: devices registered by hand need no certificate on the dev chain.
pub fn genesis_section(
    maker: &Maker,
    account: groundwork_primitives::Address,
) -> groundwork_state::attest::AttestParams {
    use groundwork_primitives::tx::attest::BoundedBytes;
    use groundwork_state::attest::{AttestParams, KindSet, Maker as ChainMaker};
    AttestParams {
        makers: vec![ChainMaker {
            name: BoundedBytes(DEV_MAKER_NAME.as_bytes().to_vec()),
            account,
            ca: BoundedBytes(maker.ca_der().to_vec()),
            kinds: KindSet::of(&ResourceKind::ALL),
        }],
        required: KindSet::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_maker_is_the_same_from_the_same_key_and_certifies_both_schemes() {
        let account = groundwork_primitives::decode_exact::<AccountKey>(&[7u8; 32]).unwrap();
        let (a, b) = (maker(&account).unwrap(), maker(&account).unwrap());
        assert_eq!(a.ca_der(), b.ca_der());
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let device = DeviceKey::from_seed(scheme, 3);
            let der = certificate(&a, &device).unwrap();
            let attested = groundwork_attest::check(a.ca_der(), &der, 1_800_000_000_000).unwrap();
            assert!(
                attested
                    .subject_key
                    .is_key(scheme == KeyScheme::P256, device.id().key_bytes())
            );
        }
    }
}
