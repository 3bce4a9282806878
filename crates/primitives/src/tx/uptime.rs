//! The uptime module's report: a heartbeat.

use super::{DeviceTransaction, Message};
use crate::domain::ChainId;
use crate::hash::Digest;
use crate::keys::DeviceKey;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What a device reports to the uptime module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UptimeReport {
    /// Proof that the device was alive: it names a recent block, so it cannot have been made
    /// before that block existed.
    Heartbeat { recent_block: Digest },
}

impl UptimeReport {
    /// A heartbeat naming `recent_block`, signed by the device.
    pub fn sign_heartbeat(
        key: &DeviceKey,
        chain: &ChainId,
        recent_block: Digest,
    ) -> DeviceTransaction {
        DeviceTransaction::sign(key, chain, UptimeReport::Heartbeat { recent_block })
    }
}

impl Message for UptimeReport {
    const MODULE: &'static str = "uptime";

    fn name(&self) -> &'static str {
        match self {
            UptimeReport::Heartbeat { .. } => "heartbeat",
        }
    }
}

impl Write for UptimeReport {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            UptimeReport::Heartbeat { recent_block } => {
                0u8.write(buf);
                recent_block.write(buf);
            }
        }
    }
}

impl EncodeSize for UptimeReport {
    fn encode_size(&self) -> usize {
        1 + match self {
            UptimeReport::Heartbeat { recent_block } => recent_block.encode_size(),
        }
    }
}

impl Read for UptimeReport {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(UptimeReport::Heartbeat {
                recent_block: Digest::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
