//! Why the attest module rejected a transaction. Codes 1300–1399: never renumbered or reused.

use groundwork_primitives::tx::attest::Serial;
use groundwork_primitives::{Address, DeviceId, ResourceKind};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    /// No genesis maker may certify devices of this kind.
    #[error("no maker of this chain certifies {kind} devices")]
    NoMakerForKind { kind: ResourceKind },
    /// No maker that may certify the kind issued this certificate; the reason is the check's
    /// against the last of them.
    #[error("the certificate does not attest the device: {reason}")]
    Refused {
        reason: groundwork_attest::AttestError,
    },
    /// The certificate certifies another key than the device's.
    #[error("the certificate is for another key than device {device}'s")]
    KeyMismatch { device: DeviceId },
    /// The maker revoked this certificate.
    #[error("the maker revoked this certificate (serial {})", hex::encode(&.serial.0))]
    Revoked { serial: Serial },
    /// The signer is no maker's account.
    #[error("{signer} is not a maker account of this chain")]
    NotAMaker { signer: Address },
    /// The device's kind must be attested, and it is not.
    #[error("{kind} devices must be attested by a maker on this chain; device {device} is not")]
    NotAttested {
        device: DeviceId,
        kind: ResourceKind,
    },
    /// The kind must be attested, so its devices register with `attest/register`, which
    /// carries the maker certificate, not with the core's `register-device`.
    #[error(
        "{kind} devices must be attested on this chain: register with the maker certificate (attest/register)"
    )]
    CertificateRequired { kind: ResourceKind },
}

impl AttestError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            AttestError::NoMakerForKind { .. } => 1300,
            AttestError::Refused { .. } => 1301,
            AttestError::KeyMismatch { .. } => 1302,
            AttestError::Revoked { .. } => 1303,
            AttestError::NotAMaker { .. } => 1304,
            AttestError::NotAttested { .. } => 1305,
            AttestError::CertificateRequired { .. } => 1306,
        }
    }
}
