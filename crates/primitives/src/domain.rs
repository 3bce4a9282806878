//! Signing domains. Every signature in Groundwork is made over `namespace ‖ message`, where the
//! namespace names the protocol, the chain id, the module and the message. A signature made for one
//! purpose or one chain therefore never verifies for another (commonware's `union_unique`
//! length-prefixes the namespace, so no namespace is a prefix of another's encoding).

use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, Write};
use std::fmt;
use std::str::FromStr;

/// Longest chain id, in bytes.
pub const MAX_CHAIN_ID_LENGTH: usize = 32;

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

    /// The namespace `module`'s message `message` is signed under on this chain:
    /// `groundwork/<chain>/<module>/<message>`.
    pub fn namespace(&self, module: &str, message: &str) -> Vec<u8> {
        format!("groundwork/{}/{module}/{message}", self.0).into_bytes()
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
    fn namespaces_differ_by_chain_module_and_message() {
        let a: ChainId = "groundwork-a".parse().unwrap();
        let b: ChainId = "groundwork-b".parse().unwrap();
        let mut all = Vec::new();
        for chain in [&a, &b] {
            for (module, message) in [
                ("core", "transfer"),
                ("uptime", "transfer"),
                ("core", "heartbeat"),
            ] {
                all.push(chain.namespace(module, message));
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
