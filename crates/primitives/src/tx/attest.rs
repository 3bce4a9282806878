//! The attest module's calls: a device's owner presents the maker certificate of its secure
//! element; a maker revokes a certificate by serial.

use super::Message;
use crate::cell::Cell;
use crate::keys::{DeviceId, DeviceSignature};
use crate::resource::ResourceKind;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// Largest device certificate a transaction carries (DER): it must fit a transaction with its
/// envelope. A P-256 device certificate is about 500 bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 800;

/// Longest serial number (RFC 5280 allows 20 octets; a leading zero may make it 21).
pub const MAX_SERIAL_BYTES: usize = 21;

/// Bytes of at most `MAX` length, encoded with a two-byte length.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoundedBytes<const MAX: usize>(pub Vec<u8>);

impl<const MAX: usize> Write for BoundedBytes<MAX> {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        // Built from a decoded transaction or a validated genesis: never more than MAX.
        let len = self.0.len().min(MAX);
        (len as u16).write(buf);
        buf.put_slice(&self.0[..len]);
    }
}

impl<const MAX: usize> EncodeSize for BoundedBytes<MAX> {
    fn encode_size(&self) -> usize {
        2 + self.0.len().min(MAX)
    }
}

impl<const MAX: usize> Read for BoundedBytes<MAX> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = usize::from(u16::read(buf)?);
        if len > MAX || buf.remaining() < len {
            return Err(CodecError::InvalidLength(len));
        }
        let mut bytes = vec![0u8; len];
        buf.copy_to_slice(&mut bytes);
        Ok(Self(bytes))
    }
}

/// A device certificate in DER.
pub type CertificateDer = BoundedBytes<MAX_CERTIFICATE_BYTES>;

/// A certificate serial number's bytes.
pub type Serial = BoundedBytes<MAX_SERIAL_BYTES>;

/// What an account asks of the attest module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttestCall {
    /// The device's owner presents the device's maker certificate: it must be issued by a
    /// genesis maker that may certify the device's kind, for the device's own key.
    Attest {
        device: DeviceId,
        certificate: CertificateDer,
    },
    /// A maker's account revokes the certificate with this serial: the device it attests
    /// stops earning.
    Revoke { serial: Serial },
    /// Registers a device and records its maker certificate in one step: the core's
    /// `register-device` (same fields, same ownership proof) followed by `attest`. A kind
    /// whose devices must be attested can only be registered this way.
    Register {
        device: DeviceId,
        kind: ResourceKind,
        location: Cell,
        ownership_proof: DeviceSignature,
        certificate: CertificateDer,
    },
}

impl Message for AttestCall {
    const MODULE: &'static str = "attest";

    fn name(&self) -> &'static str {
        match self {
            AttestCall::Attest { .. } => "attest",
            AttestCall::Revoke { .. } => "revoke",
            AttestCall::Register { .. } => "register",
        }
    }
}

impl AttestCall {
    /// Builds a `Register` call, signing the ownership proof with the device key as the
    /// core's `register-device` does.
    pub fn register(
        chain: &crate::domain::ChainId,
        owner: &crate::address::Address,
        device_key: &crate::keys::DeviceKey,
        kind: ResourceKind,
        location: Cell,
        certificate: CertificateDer,
    ) -> Self {
        let ownership_proof = super::CoreCall::ownership_proof(chain, owner, device_key);
        AttestCall::Register {
            device: device_key.id(),
            kind,
            location,
            ownership_proof,
            certificate,
        }
    }
}

impl Write for AttestCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            AttestCall::Attest {
                device,
                certificate,
            } => {
                0u8.write(buf);
                device.write(buf);
                certificate.write(buf);
            }
            AttestCall::Revoke { serial } => {
                1u8.write(buf);
                serial.write(buf);
            }
            AttestCall::Register {
                device,
                kind,
                location,
                ownership_proof,
                certificate,
            } => {
                2u8.write(buf);
                device.write(buf);
                kind.write(buf);
                location.write(buf);
                ownership_proof.write(buf);
                certificate.write(buf);
            }
        }
    }
}

impl EncodeSize for AttestCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            AttestCall::Attest {
                device,
                certificate,
            } => device.encode_size() + certificate.encode_size(),
            AttestCall::Revoke { serial } => serial.encode_size(),
            AttestCall::Register {
                device,
                kind,
                location,
                ownership_proof,
                certificate,
            } => {
                device.encode_size()
                    + kind.encode_size()
                    + location.encode_size()
                    + ownership_proof.encode_size()
                    + certificate.encode_size()
            }
        }
    }
}

impl Read for AttestCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(AttestCall::Attest {
                device: DeviceId::read(buf)?,
                certificate: CertificateDer::read(buf)?,
            }),
            1 => Ok(AttestCall::Revoke {
                serial: Serial::read(buf)?,
            }),
            2 => Ok(AttestCall::Register {
                device: DeviceId::read(buf)?,
                kind: ResourceKind::read(buf)?,
                location: Cell::read(buf)?,
                ownership_proof: DeviceSignature::read(buf)?,
                certificate: CertificateDer::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
