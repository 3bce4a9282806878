//! The challenges module's calls: challenge a device's location, answer a challenge.

use super::Message;
use crate::address::Address;
use crate::hash::Digest;
use crate::keys::DeviceId;
use crate::limits::MAX_CHALLENGE_EVIDENCE;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What an account asks of the challenges module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChallengeCall {
    /// Challenge a wireless device's asserted location, locking the genesis challenge bond.
    /// `evidence` cites 1 to [`MAX_CHALLENGE_EVIDENCE`] retained beacons the device took part
    /// in, as beaconer or witness, whose signals do not fit the asserted place.
    Open {
        device: DeviceId,
        evidence: Vec<Digest>,
    },
    /// Answer a challenge of one's device with a beacon it sent after the challenge: the
    /// challenge fails if enough independent witnesses heard it as the asserted place predicts.
    Answer { challenge: Digest, beacon: Digest },
}

impl Message for ChallengeCall {
    const MODULE: &'static str = "challenges";

    fn name(&self) -> &'static str {
        match self {
            ChallengeCall::Open { .. } => "open",
            ChallengeCall::Answer { .. } => "answer",
        }
    }
}

/// The id of the challenge an account posts with `nonce`:
/// `sha256("groundwork-challenge" ‖ challenger address ‖ nonce)`. Known to the challenger
/// before the transaction lands, and never the same twice.
pub fn challenge_id(challenger: &Address, nonce: u64) -> Digest {
    crate::hash::hash_parts(&[b"groundwork-challenge", &challenger.0, &nonce.to_be_bytes()])
}

impl Write for ChallengeCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            ChallengeCall::Open { device, evidence } => {
                0u8.write(buf);
                device.write(buf);
                // The decoder refuses more than MAX_CHALLENGE_EVIDENCE, so a count fits a byte.
                (evidence.len().min(usize::from(u8::MAX)) as u8).write(buf);
                for beacon in evidence.iter().take(usize::from(u8::MAX)) {
                    beacon.write(buf);
                }
            }
            ChallengeCall::Answer { challenge, beacon } => {
                1u8.write(buf);
                challenge.write(buf);
                beacon.write(buf);
            }
        }
    }
}

impl EncodeSize for ChallengeCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            ChallengeCall::Open { device, evidence } => {
                device.encode_size()
                    + 1
                    + evidence
                        .iter()
                        .take(usize::from(u8::MAX))
                        .map(EncodeSize::encode_size)
                        .sum::<usize>()
            }
            ChallengeCall::Answer { challenge, beacon } => {
                challenge.encode_size() + beacon.encode_size()
            }
        }
    }
}

impl Read for ChallengeCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => {
                let device = DeviceId::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if count == 0 || count > MAX_CHALLENGE_EVIDENCE {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut evidence = Vec::with_capacity(count);
                for _ in 0..count {
                    evidence.push(Digest::read(buf)?);
                }
                Ok(ChallengeCall::Open { device, evidence })
            }
            1 => Ok(ChallengeCall::Answer {
                challenge: Digest::read(buf)?,
                beacon: Digest::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
