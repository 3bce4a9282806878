//! Resource kinds: what a device provides. Each kind has its own reward pool.

use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use std::fmt;
use std::str::FromStr;

/// A kind of physical resource. The numbers are on the wire and in state keys: never renumber;
/// add new kinds at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Wireless = 0,
    Storage = 1,
    Compute = 2,
    Sensor = 3,
    Energy = 4,
    EvCharger = 5,
    Vehicle = 6,
}

impl ResourceKind {
    pub const COUNT: usize = 7;
    pub const ALL: [ResourceKind; Self::COUNT] = [
        ResourceKind::Wireless,
        ResourceKind::Storage,
        ResourceKind::Compute,
        ResourceKind::Sensor,
        ResourceKind::Energy,
        ResourceKind::EvCharger,
        ResourceKind::Vehicle,
    ];

    /// The name used in genesis files, the CLI and RPC.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Wireless => "wireless",
            ResourceKind::Storage => "storage",
            ResourceKind::Compute => "compute",
            ResourceKind::Sensor => "sensor",
            ResourceKind::Energy => "energy",
            ResourceKind::EvCharger => "ev_charger",
            ResourceKind::Vehicle => "vehicle",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.get(usize::from(tag)).copied()
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown resource kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown resource kind {0:?}: expected one of wireless, storage, compute, sensor, energy, ev_charger, vehicle"
)]
pub struct UnknownResourceKind(pub String);

impl FromStr for ResourceKind {
    type Err = UnknownResourceKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| UnknownResourceKind(text.to_string()))
    }
}

impl Write for ResourceKind {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        (*self as u8).write(buf);
    }
}

impl FixedSize for ResourceKind {
    const SIZE: usize = 1;
}

impl Read for ResourceKind {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        Self::from_tag(tag).ok_or(CodecError::InvalidEnum(tag))
    }
}
