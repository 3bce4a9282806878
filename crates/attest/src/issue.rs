//! Issuing certificates, as a maker's factory does: a self-signed P-256 CA and device
//! certificates (IEEE 802.1AR DevID profile) for P-256 or ed25519 device keys.
//!
//! The chain never issues anything; this is for the dev chain's maker and for tests. A real
//! maker's CA key lives in an HSM and its devices' keys in their secure elements.

use crate::{EC_PUBLIC_KEY, ED25519, PRIME256V1, SubjectKey};
use p256::ecdsa::{DerSignature, SigningKey};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, profile};
use x509_cert::der::asn1::BitString;
use x509_cert::der::{Any, DateTime, Encode};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// Why a certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the maker name {name:?} cannot be a certificate name: {reason}")]
    BadName { name: String, reason: String },
    #[error("the CA key seed is not a P-256 scalar")]
    BadSeed,
    #[error("the device key is not a point on P-256")]
    BadDeviceKey,
    #[error("a validity time of {seconds} s since 1970 cannot be encoded")]
    BadTime { seconds: u64 },
    #[error("building the certificate: {0}")]
    Build(String),
}

/// A maker able to issue device certificates.
pub struct Maker {
    key: SigningKey,
    name: Name,
    ca_der: Vec<u8>,
}

fn time(seconds: u64) -> Result<Time, IssueError> {
    DateTime::from_unix_duration(Duration::from_secs(seconds))
        .map(Time::from)
        .map_err(|_| IssueError::BadTime { seconds })
}

fn validity(not_before_s: u64, not_after_s: u64) -> Result<Validity, IssueError> {
    Ok(Validity::new(time(not_before_s)?, time(not_after_s)?))
}

fn build_error(e: impl std::fmt::Display) -> IssueError {
    IssueError::Build(e.to_string())
}

fn name(text: &str, shown: &str) -> Result<Name, IssueError> {
    Name::from_str(text).map_err(|e| IssueError::BadName {
        name: shown.to_string(),
        reason: e.to_string(),
    })
}

impl Maker {
    /// A maker whose CA key is the P-256 scalar `seed` and whose self-signed CA certificate
    /// (`CN=<name> device CA,O=<name>,C=ZZ`: the baseline requirements ask for a country, and ZZ is the code for none) is valid between the two times, in seconds since 1970.
    pub fn new(
        seed: [u8; 32],
        maker_name: &str,
        not_before_s: u64,
        not_after_s: u64,
    ) -> Result<Self, IssueError> {
        let key = SigningKey::from_slice(&seed).map_err(|_| IssueError::BadSeed)?;
        if maker_name.is_empty() || maker_name.contains([',', '=', '+', '"', '\\']) {
            return Err(IssueError::BadName {
                name: maker_name.to_string(),
                reason: "use letters, digits, spaces and dashes".to_string(),
            });
        }
        let subject = name(
            &format!("CN={maker_name} device CA,O={maker_name},C=ZZ"),
            maker_name,
        )?;
        let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(build_error)?;
        let root = profile::cabf::Root::new(false, subject.clone()).map_err(build_error)?;
        let certificate = CertificateBuilder::new(
            root,
            SerialNumber::from(1u32),
            validity(not_before_s, not_after_s)?,
            spki,
        )
        .map_err(build_error)?
        .build::<_, DerSignature>(&key)
        .map_err(build_error)?;
        let ca_der = certificate.to_der().map_err(build_error)?;
        Ok(Self {
            key,
            name: subject,
            ca_der,
        })
    }

    /// The CA certificate in DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// A device certificate for `device_key` with serial `serial` (a positive number), valid
    /// between the two times, in seconds since 1970.
    pub fn issue(
        &self,
        device_key: &SubjectKey,
        serial: u64,
        not_before_s: u64,
        not_after_s: u64,
    ) -> Result<Vec<u8>, IssueError> {
        let spki = match device_key {
            SubjectKey::P256(sec1) => {
                let key =
                    p256::PublicKey::from_sec1_bytes(sec1).map_err(|_| IssueError::BadDeviceKey)?;
                SubjectPublicKeyInfoOwned {
                    algorithm: AlgorithmIdentifierOwned {
                        oid: EC_PUBLIC_KEY,
                        parameters: Some(Any::from(&PRIME256V1)),
                    },
                    subject_public_key: BitString::from_bytes(&key.to_sec1_bytes())
                        .map_err(build_error)?,
                }
            }
            SubjectKey::Ed25519(bytes) => SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: ED25519,
                    parameters: None,
                },
                subject_public_key: BitString::from_bytes(bytes).map_err(build_error)?,
            },
        };
        let subject = name(&format!("CN=device {serial:016x}"), "device")?;
        let devid =
            profile::devid::DevId::new(self.name.clone(), subject, None).map_err(build_error)?;
        // Serial numbers are positive: a leading 1 bit would make the DER integer negative.
        let serial = SerialNumber::new(&serial.max(1).to_be_bytes()).map_err(build_error)?;
        let certificate =
            CertificateBuilder::new(devid, serial, validity(not_before_s, not_after_s)?, spki)
                .map_err(build_error)?
                .build::<_, DerSignature>(&self.key)
                .map_err(build_error)?;
        certificate.to_der().map_err(build_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: u64 = 365 * 24 * 3600;
    const NOW: u64 = 1_800_000_000;

    fn maker() -> Maker {
        Maker::new([7u8; 32], "Dev maker", NOW - YEAR, NOW + 10 * YEAR).unwrap()
    }

    #[test]
    fn issued_certificates_pass_the_chain_check_for_their_key_only() {
        let maker = maker();
        let ed = SubjectKey::Ed25519([9u8; 32]);
        let point = p256::SecretKey::from_slice(&[3u8; 32])
            .unwrap()
            .public_key();
        let p256_key = SubjectKey::P256(point.to_sec1_bytes().to_vec());
        for (serial, key) in [(5u64, &ed), (u64::MAX, &p256_key)] {
            let der = maker.issue(key, serial, NOW - 10, NOW + YEAR).unwrap();
            let attested = crate::check(maker.ca_der(), &der, NOW * 1000).unwrap();
            assert_eq!(&attested.subject_key, key);
            // DER integers are minimal and positive: 5 is one byte, u64::MAX nine.
            let value = attested
                .serial
                .iter()
                .fold(0u128, |v, b| (v << 8) | u128::from(*b));
            assert_eq!(value, u128::from(serial));
            // Expired a year and a second on.
            assert!(matches!(
                crate::check(maker.ca_der(), &der, (NOW + YEAR + 1) * 1000),
                Err(crate::AttestError::Expired { .. })
            ));
        }
        let other = Maker::new([8u8; 32], "Other maker", NOW - YEAR, NOW + YEAR).unwrap();
        let der = other.issue(&ed, 1, NOW - 10, NOW + YEAR).unwrap();
        assert_eq!(
            crate::check(maker.ca_der(), &der, NOW * 1000).map(|_| ()),
            Err(crate::AttestError::WrongIssuer)
        );
    }

    #[test]
    fn bad_names_seeds_and_keys_are_refused_by_name() {
        assert!(matches!(
            Maker::new([7u8; 32], "a,b", 0, 1),
            Err(IssueError::BadName { .. })
        ));
        assert!(matches!(
            Maker::new([0u8; 32], "Dev", 0, 1),
            Err(IssueError::BadSeed)
        ));
        assert!(matches!(
            maker().issue(&SubjectKey::P256(vec![4; 65]), 1, 0, 1),
            Err(IssueError::BadDeviceKey)
        ));
    }
}
