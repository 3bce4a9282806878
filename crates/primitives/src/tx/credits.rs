//! The credits module's calls: burn tokens for data credits at the oracle's price.

use super::Message;
use crate::address::Address;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What an account asks of the credits module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreditsCall {
    /// Mint `credits` data credits to `recipient` (any account, e.g. a customer funding its
    /// devices), burning the signer's tokens worth `credits` at the genesis credit price in
    /// USD, valued at the oracle's burn price. Credits never move again.
    Buy { recipient: Address, credits: u64 },
}

impl Message for CreditsCall {
    const MODULE: &'static str = "credits";

    fn name(&self) -> &'static str {
        match self {
            CreditsCall::Buy { .. } => "buy",
        }
    }
}

impl Write for CreditsCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            CreditsCall::Buy { recipient, credits } => {
                0u8.write(buf);
                recipient.write(buf);
                credits.write(buf);
            }
        }
    }
}

impl EncodeSize for CreditsCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            CreditsCall::Buy { recipient, credits } => {
                recipient.encode_size() + credits.encode_size()
            }
        }
    }
}

impl Read for CreditsCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(CreditsCall::Buy {
                recipient: Address::read(buf)?,
                credits: u64::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
