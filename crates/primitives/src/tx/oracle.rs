//! The oracle module's calls: an oracle account reports the token's USD price.

use super::Message;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What an oracle account asks of the oracle module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OracleCall {
    /// The signer's latest observation of the token's price, in millionths of a US dollar per
    /// whole token. It replaces the signer's previous one.
    SubmitPrice { micro_usd_per_token: u64 },
}

impl Message for OracleCall {
    const MODULE: &'static str = "oracle";

    fn name(&self) -> &'static str {
        match self {
            OracleCall::SubmitPrice { .. } => "submit-price",
        }
    }
}

impl Write for OracleCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            OracleCall::SubmitPrice {
                micro_usd_per_token,
            } => {
                0u8.write(buf);
                micro_usd_per_token.write(buf);
            }
        }
    }
}

impl EncodeSize for OracleCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            OracleCall::SubmitPrice {
                micro_usd_per_token,
            } => micro_usd_per_token.encode_size(),
        }
    }
}

impl Read for OracleCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(OracleCall::SubmitPrice {
                micro_usd_per_token: u64::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
