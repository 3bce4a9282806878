//! The coverage module's reports: a wireless device's beacon, and its report of another's.

use super::{DeviceTransaction, Message, Report};
use crate::domain::ChainId;
use crate::hash::Digest;
use crate::keys::DeviceId;
use crate::keys::DeviceKey;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What a beacon's radio sent: power, frequency and antenna gain, as the beaconer states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconRadio {
    /// Transmit power in dBm.
    pub tx_power_dbm: i16,
    pub frequency_hz: u64,
    /// Antenna gain in tenths of dBi.
    pub antenna_gain_ddbi: i16,
}

crate::impl_struct_codec!(BeaconRadio {
    tx_power_dbm,
    frequency_hz,
    antenna_gain_ddbi
});

/// What a witness's radio measured of a beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessReading {
    /// Received signal strength in dBm.
    pub rssi_dbm: i16,
    /// Signal-to-noise ratio in hundredths of dB.
    pub snr_cdb: i16,
    pub frequency_hz: u64,
    /// The witness's antenna gain in tenths of dBi.
    pub antenna_gain_ddbi: i16,
}

crate::impl_struct_codec!(WitnessReading {
    rssi_dbm,
    snr_cdb,
    frequency_hz,
    antenna_gain_ddbi
});

/// What a wireless device reports to the coverage module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoverageReport {
    /// A beacon. It names a recent block (chain entropy), so the payload the radio sends —
    /// [`beacon_id`], derived from that block and the device's key — cannot be known before
    /// the block exists.
    Beacon {
        entropy_block: Digest,
        radio: BeaconRadio,
    },
    /// A report that the device received the beacon whose payload is `beacon`.
    Witness {
        beacon: Digest,
        reading: WitnessReading,
    },
}

impl CoverageReport {
    /// A beacon on `entropy_block`, signed by the beaconing device.
    pub fn sign_beacon(
        key: &DeviceKey,
        chain: &ChainId,
        entropy_block: Digest,
        radio: BeaconRadio,
    ) -> DeviceTransaction {
        let report = CoverageReport::Beacon {
            entropy_block,
            radio,
        };
        DeviceTransaction::sign(key, chain, report)
    }

    /// A report of the beacon whose payload is `beacon`, signed by the witness.
    pub fn sign_witness(
        key: &DeviceKey,
        chain: &ChainId,
        beacon: Digest,
        reading: WitnessReading,
    ) -> DeviceTransaction {
        DeviceTransaction::sign(key, chain, CoverageReport::Witness { beacon, reading })
    }
}

impl DeviceTransaction {
    /// The payload the radio sent, if this is a beacon ([`beacon_id`]).
    pub fn beacon_id(&self) -> Option<Digest> {
        match &self.report {
            Report::Coverage(CoverageReport::Beacon { entropy_block, .. }) => {
                Some(beacon_id(&self.device, entropy_block))
            }
            _ => None,
        }
    }
}

impl Message for CoverageReport {
    const MODULE: &'static str = "coverage";

    fn name(&self) -> &'static str {
        match self {
            CoverageReport::Beacon { .. } => "beacon",
            CoverageReport::Witness { .. } => "witness",
        }
    }
}

/// The payload a device's radio sends for a beacon on `entropy_block`, which witnesses report
/// back: `sha256("groundwork-beacon" ‖ entropy block ‖ device id)`.
pub fn beacon_id(device: &DeviceId, entropy_block: &Digest) -> Digest {
    let mut id = Vec::with_capacity(device.encode_size());
    device.write(&mut id);
    crate::hash::hash_parts(&[b"groundwork-beacon", entropy_block.as_ref(), &id])
}

impl Write for CoverageReport {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            CoverageReport::Beacon {
                entropy_block,
                radio,
            } => {
                0u8.write(buf);
                entropy_block.write(buf);
                radio.write(buf);
            }
            CoverageReport::Witness { beacon, reading } => {
                1u8.write(buf);
                beacon.write(buf);
                reading.write(buf);
            }
        }
    }
}

impl EncodeSize for CoverageReport {
    fn encode_size(&self) -> usize {
        1 + match self {
            CoverageReport::Beacon {
                entropy_block,
                radio,
            } => entropy_block.encode_size() + radio.encode_size(),
            CoverageReport::Witness { beacon, reading } => {
                beacon.encode_size() + reading.encode_size()
            }
        }
    }
}

impl Read for CoverageReport {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(CoverageReport::Beacon {
                entropy_block: Digest::read(buf)?,
                radio: BeaconRadio::read(buf)?,
            }),
            1 => Ok(CoverageReport::Witness {
                beacon: Digest::read(buf)?,
                reading: WitnessReading::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
