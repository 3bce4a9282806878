//! Maker attestation: is this device certificate one the maker's CA issued, for this key, now?
//!
//! Secure elements (ATECC608, TPM 2.0) ship with an X.509 device certificate chained to their
//! maker's CA. [`check`] is the whole test, the same offline (`groundwork device
//! attest-check`) as in the state machine:
//!
//! 1. both certificates parse as DER X.509 (`x509-cert`), each at most [`MAX_CERTIFICATE_BYTES`];
//! 2. the device certificate's issuer is the CA's subject;
//! 3. the CA's key is a P-256 or an ed25519 key and the device certificate is signed with
//!    it over the DER of its to-be-signed part: ECDSA with SHA-256 by a P-256 CA, Ed25519
//!    (RFC 8032, checked strictly: no small-order keys, canonical encodings) by an ed25519 CA;
//! 4. both are valid at the given time (a block's timestamp on chain: no wall clock);
//! 5. the subject key is a P-256 or an ed25519 key, the kinds device keys are.
//!
//! RSA keys, other curves and other signature algorithms are refused by name. The function is
//! pure and deterministic: the same bytes and time give the same answer on every machine.
//! Revocation is the chain's part: it keeps the serials a maker revoked.

use p256::ecdsa::signature::Verifier;
use x509_cert::Certificate;
#[cfg(feature = "issue")]
pub mod issue;

use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::spki::ObjectIdentifier;

/// Largest certificate accepted, in bytes: a P-256 device certificate is about 500.
pub const MAX_CERTIFICATE_BYTES: usize = 2_048;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// The key of a maker's CA, which signs its device certificates.
#[derive(Clone, Debug)]
pub enum CaKey {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// Which certificate a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Ca,
    Device,
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Which::Ca => "CA certificate",
            Which::Device => "device certificate",
        })
    }
}

/// The key a device certificate certifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectKey {
    /// SEC1 encoding, as the certificate carries it.
    P256(Vec<u8>),
    Ed25519([u8; 32]),
}

impl SubjectKey {
    /// Whether this is the key `key_bytes` of a device of the given scheme (`p256` compares
    /// points, so compressed and uncompressed encodings of one key match).
    pub fn is_key(&self, p256: bool, key_bytes: &[u8]) -> bool {
        match self {
            SubjectKey::P256(bytes) if p256 => {
                match (
                    p256::PublicKey::from_sec1_bytes(bytes),
                    p256::PublicKey::from_sec1_bytes(key_bytes),
                ) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                }
            }
            SubjectKey::Ed25519(bytes) if !p256 => bytes.as_slice() == key_bytes,
            _ => false,
        }
    }

    /// The scheme's name and the key in hex, for people.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            SubjectKey::P256(bytes) => ("p256", hex(bytes)),
            SubjectKey::Ed25519(bytes) => ("ed25519", hex(bytes)),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device certificate that passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attested {
    pub subject_key: SubjectKey,
    /// The serial number's bytes (big-endian, as encoded).
    pub serial: Vec<u8>,
    /// When the device certificate stops being valid, in ms since the Unix epoch.
    pub not_after_ms: u64,
}

impl Attested {
    /// The serial in hex.
    pub fn serial_hex(&self) -> String {
        hex(&self.serial)
    }
}

/// Why a certificate does not attest a device.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    #[error("the {which} is {bytes} bytes, more than {MAX_CERTIFICATE_BYTES}")]
    TooLarge { which: Which, bytes: usize },
    #[error("the {which} is not a DER X.509 certificate: {reason}")]
    Malformed { which: Which, reason: String },
    #[error("the {which} has an RSA key; only P-256 and ed25519 keys are accepted")]
    RsaKey { which: Which },
    #[error(
        "the {which} has a key of algorithm {oid} (curve {curve}); only P-256 and ed25519 are accepted"
    )]
    UnsupportedKey {
        which: Which,
        oid: String,
        curve: String,
    },
    #[error(
        "the device certificate is signed with algorithm {oid}; a {ca} CA signs with {expected}"
    )]
    UnsupportedSignature {
        oid: String,
        ca: &'static str,
        expected: &'static str,
    },
    #[error(
        "the device certificate was not issued by this CA (its issuer is not the CA's subject)"
    )]
    WrongIssuer,
    #[error("the device certificate's signature does not verify with the CA's key")]
    BadSignature,
    #[error("the {which} is not valid before {not_before_ms} ms (checked at {at_ms} ms)")]
    NotYetValid {
        which: Which,
        not_before_ms: u64,
        at_ms: u64,
    },
    #[error("the {which} expired at {not_after_ms} ms (checked at {at_ms} ms)")]
    Expired {
        which: Which,
        not_after_ms: u64,
        at_ms: u64,
    },
}

/// DER bytes of a certificate as PEM (for genesis files).
pub fn der_to_pem(which: Which, der: &[u8]) -> Result<String, AttestError> {
    use x509_cert::der::EncodePem;
    parse(which, der)?
        .to_pem(x509_cert::der::pem::LineEnding::LF)
        .map_err(|e| AttestError::Malformed {
            which,
            reason: e.to_string(),
        })
}

/// A certificate in PEM as DER bytes.
pub fn pem_to_der(which: Which, pem: &str) -> Result<Vec<u8>, AttestError> {
    let certificate =
        Certificate::from_pem(pem.as_bytes()).map_err(|e| AttestError::Malformed {
            which,
            reason: e.to_string(),
        })?;
    certificate.to_der().map_err(|e| AttestError::Malformed {
        which,
        reason: e.to_string(),
    })
}

fn parse(which: Which, der: &[u8]) -> Result<Certificate, AttestError> {
    if der.len() > MAX_CERTIFICATE_BYTES {
        return Err(AttestError::TooLarge {
            which,
            bytes: der.len(),
        });
    }
    Certificate::from_der(der).map_err(|e| AttestError::Malformed {
        which,
        reason: e.to_string(),
    })
}

fn millis(time: x509_cert::time::Time) -> u64 {
    u64::try_from(time.to_unix_duration().as_millis()).unwrap_or(u64::MAX)
}

fn check_validity(which: Which, certificate: &Certificate, at_ms: u64) -> Result<u64, AttestError> {
    let validity = certificate.tbs_certificate().validity();
    let (not_before_ms, not_after_ms) = (millis(validity.not_before), millis(validity.not_after));
    if at_ms < not_before_ms {
        return Err(AttestError::NotYetValid {
            which,
            not_before_ms,
            at_ms,
        });
    }
    if at_ms > not_after_ms {
        return Err(AttestError::Expired {
            which,
            not_after_ms,
            at_ms,
        });
    }
    Ok(not_after_ms)
}

/// The key a certificate carries, if it is one Groundwork takes.
fn key_of(which: Which, certificate: &Certificate) -> Result<SubjectKey, AttestError> {
    let spki = certificate.tbs_certificate().subject_public_key_info();
    let oid = spki.algorithm.oid;
    let bytes = spki.subject_public_key.raw_bytes();
    if oid == RSA_ENCRYPTION {
        return Err(AttestError::RsaKey { which });
    }
    if oid == ED25519 {
        let key: [u8; 32] = bytes.try_into().map_err(|_| AttestError::Malformed {
            which,
            reason: format!("an ed25519 key of {} bytes", bytes.len()),
        })?;
        return Ok(SubjectKey::Ed25519(key));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if oid == EC_PUBLIC_KEY && curve == Some(PRIME256V1) {
        p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| AttestError::Malformed {
            which,
            reason: "the P-256 key is not a point on the curve".to_string(),
        })?;
        return Ok(SubjectKey::P256(bytes.to_vec()));
    }
    Err(AttestError::UnsupportedKey {
        which,
        oid: oid.to_string(),
        curve: curve.map_or_else(|| "none".to_string(), |c| c.to_string()),
    })
}

/// The key of a CA certificate, or why it cannot be one.
pub fn ca_key(ca_der: &[u8]) -> Result<CaKey, AttestError> {
    let ca = parse(Which::Ca, ca_der)?;
    ca_key_of(&ca)
}

fn ca_key_of(ca: &Certificate) -> Result<CaKey, AttestError> {
    let malformed = |reason: &str| AttestError::Malformed {
        which: Which::Ca,
        reason: reason.to_string(),
    };
    match key_of(Which::Ca, ca)? {
        SubjectKey::P256(bytes) => p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes)
            .map(CaKey::P256)
            .map_err(|_| malformed("the P-256 key is not a point on the curve")),
        SubjectKey::Ed25519(bytes) => ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(CaKey::Ed25519)
            .map_err(|_| malformed("the ed25519 key is not a point on the curve")),
    }
}

/// Whether `ca_key` signed `tbs` with `signature` under `algorithm`.
fn verify_signature(
    ca_key: &CaKey,
    algorithm: ObjectIdentifier,
    tbs: &[u8],
    signature: &[u8],
) -> Result<(), AttestError> {
    match ca_key {
        CaKey::P256(key) if algorithm == ECDSA_WITH_SHA256 => {
            let signature = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| AttestError::BadSignature)?;
            key.verify(tbs, &signature)
                .map_err(|_| AttestError::BadSignature)
        }
        CaKey::Ed25519(key) if algorithm == ED25519 => {
            let signature = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| AttestError::BadSignature)?;
            key.verify_strict(tbs, &signature)
                .map_err(|_| AttestError::BadSignature)
        }
        CaKey::P256(_) => Err(AttestError::UnsupportedSignature {
            oid: algorithm.to_string(),
            ca: "P-256",
            expected: "ECDSA with SHA-256",
        }),
        CaKey::Ed25519(_) => Err(AttestError::UnsupportedSignature {
            oid: algorithm.to_string(),
            ca: "ed25519",
            expected: "Ed25519",
        }),
    }
}

/// Checks that `device_der` was issued by the CA of `ca_der` and that both are valid at
/// `at_ms`; returns the certified key and serial.
pub fn check(ca_der: &[u8], device_der: &[u8], at_ms: u64) -> Result<Attested, AttestError> {
    let ca = parse(Which::Ca, ca_der)?;
    let device = parse(Which::Device, device_der)?;
    let ca_key = ca_key_of(&ca)?;
    let subject_key = key_of(Which::Device, &device)?;
    if device.tbs_certificate().issuer() != ca.tbs_certificate().subject() {
        return Err(AttestError::WrongIssuer);
    }
    let algorithm = device.signature_algorithm().oid;
    let tbs = device
        .tbs_certificate()
        .to_der()
        .map_err(|e| AttestError::Malformed {
            which: Which::Device,
            reason: e.to_string(),
        })?;
    verify_signature(&ca_key, algorithm, &tbs, device.signature().raw_bytes())?;
    check_validity(Which::Ca, &ca, at_ms)?;
    let not_after_ms = check_validity(Which::Device, &device, at_ms)?;
    Ok(Attested {
        subject_key,
        serial: device.tbs_certificate().serial_number().as_bytes().to_vec(),
        not_after_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_oversized_input_are_refused_by_name() {
        assert!(matches!(
            check(b"not a certificate", b"", 0),
            Err(AttestError::Malformed {
                which: Which::Ca,
                ..
            })
        ));
        let big = vec![0u8; MAX_CERTIFICATE_BYTES + 1];
        assert_eq!(
            check(&big, &[], 0),
            Err(AttestError::TooLarge {
                which: Which::Ca,
                bytes: MAX_CERTIFICATE_BYTES + 1
            })
        );
        assert!(
            pem_to_der(
                Which::Device,
                "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
    }
}
