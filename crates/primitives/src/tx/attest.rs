//! The attest module's calls: a device's owner presents the maker certificate of its secure
//! element; a maker revokes a certificate by serial.

use super::Message;
use crate::keys::DeviceId;
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
}

impl Message for AttestCall {
    const MODULE: &'static str = "attest";

    fn name(&self) -> &'static str {
        match self {
            AttestCall::Attest { .. } => "attest",
            AttestCall::Revoke { .. } => "revoke",
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
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
