//! The memo module's call: an account posts a short public note.

use super::Message;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// Longest memo, in bytes.
pub const MAX_MEMO_BYTES: usize = 64;

/// What an account asks of the memo module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoCall {
    /// Replace the account's memo.
    Post { text: Vec<u8> },
}

impl Message for MemoCall {
    const MODULE: &'static str = "memo";

    fn name(&self) -> &'static str {
        match self {
            MemoCall::Post { .. } => "post",
        }
    }
}

impl Write for MemoCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            MemoCall::Post { text } => {
                0u8.write(buf);
                // The decoder refuses more than MAX_MEMO_BYTES, so a length fits a byte.
                let len = text.len().min(MAX_MEMO_BYTES);
                (len as u8).write(buf);
                buf.put_slice(&text[..len]);
            }
        }
    }
}

impl EncodeSize for MemoCall {
    fn encode_size(&self) -> usize {
        match self {
            MemoCall::Post { text } => 2 + text.len().min(MAX_MEMO_BYTES),
        }
    }
}

impl Read for MemoCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => {
                let len = usize::from(u8::read(buf)?);
                if len > MAX_MEMO_BYTES {
                    return Err(CodecError::InvalidLength(len));
                }
                if buf.remaining() < len {
                    return Err(CodecError::EndOfBuffer);
                }
                let mut text = vec![0u8; len];
                buf.copy_to_slice(&mut text);
                Ok(MemoCall::Post { text })
            }
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
