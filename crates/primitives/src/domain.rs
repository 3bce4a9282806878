//! Signing domains. Every signature in Groundwork is made over `namespace ‖ message`, where the
//! namespace names the protocol, the chain id and the message type. A signature made for one
//! purpose or one chain therefore never verifies for another (commonware's `union_unique`
//! length-prefixes the namespace, so no namespace is a prefix of another's encoding).

use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, Write};
use std::fmt;
use std::str::FromStr;

/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_LENGTH: usize = 32;

/// The message types that are signed. The tag strings are part of the protocol: never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    Transfer,
    BurnForCredits,
    RegisterDevice,
    AssertLocation,
    TransferDevice,
    DecommissionDevice,
    /// Signed by a device key over its future owner's address: proof the owner holds the device.
    DeviceOwnership,
    Heartbeat,
    /// A wireless device's beacon report.
    Beacon,
    /// A wireless device's report of a beacon it received.
    Witness,
    /// A bonded challenge against a device's asserted location.
    ChallengeLocation,
    /// A device owner's answer to a location challenge.
    AnswerChallenge,
}

impl Domain {
    pub const ALL: [Domain; 12] = [
        Domain::Transfer,
        Domain::BurnForCredits,
        Domain::RegisterDevice,
        Domain::AssertLocation,
        Domain::TransferDevice,
        Domain::DecommissionDevice,
        Domain::DeviceOwnership,
        Domain::Heartbeat,
        Domain::Beacon,
        Domain::Witness,
        Domain::ChallengeLocation,
        Domain::AnswerChallenge,
    ];

    pub fn tag(self) -> &'static str {
        match self {
            Domain::Transfer => "transfer",
            Domain::BurnForCredits => "burn-for-credits",
            Domain::RegisterDevice => "register-device",
            Domain::AssertLocation => "assert-location",
            Domain::TransferDevice => "transfer-device",
            Domain::DecommissionDevice => "decommission-device",
            Domain::DeviceOwnership => "device-ownership",
            Domain::Heartbeat => "heartbeat",
            Domain::Beacon => "beacon",
            Domain::Witness => "witness",
            Domain::ChallengeLocation => "challenge-location",
            Domain::AnswerChallenge => "answer-challenge",
        }
    }
}

/// Why a text is not a chain id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainIdError {
    #[error(
        "invalid chain id {text:?}: use 1 to {MAX_CHAIN_ID_LENGTH} characters from a-z, 0-9 and '-'"
    )]
    Invalid { text: String },
}

/// The name of one chain, e.g. `groundwork-dev`. Part of every signing namespace.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(String);

impl ChainId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The namespace a message of type `domain` is signed under on this chain.
    pub fn namespace(&self, domain: Domain) -> Vec<u8> {
        format!("groundwork/{}/{}", self.0, domain.tag()).into_bytes()
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ok = !text.is_empty()
            && text.len() <= MAX_CHAIN_ID_LENGTH
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(ChainIdError::Invalid {
                text: text.to_string(),
            });
        }
        Ok(Self(text.to_string()))
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl Write for ChainId {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.as_bytes().to_vec().write(buf);
    }
}

impl EncodeSize for ChainId {
    fn encode_size(&self) -> usize {
        self.0.as_bytes().to_vec().encode_size()
    }
}

impl Read for ChainId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let range: RangeCfg<usize> = (1..=MAX_CHAIN_ID_LENGTH).into();
        let bytes = Vec::<u8>::read_cfg(buf, &(range, ()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| CodecError::Invalid("ChainId", "not UTF-8"))?;
        text.parse()
            .map_err(|_| CodecError::Invalid("ChainId", "bad characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_differ_by_chain_and_type() {
        let a: ChainId = "groundwork-a".parse().unwrap();
        let b: ChainId = "groundwork-b".parse().unwrap();
        let mut all = Vec::new();
        for chain in [&a, &b] {
            for domain in Domain::ALL {
                all.push(chain.namespace(domain));
            }
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
        assert!("Bad Id".parse::<ChainId>().is_err());
        assert!("".parse::<ChainId>().is_err());
        assert!("a".repeat(33).parse::<ChainId>().is_err());
    }
}
