//! The chain parameters in state: each module keeps its own section in a table of its own, so
//! state proofs cover them and governance can change them later. [`State`](crate::State) keeps
//! the assembled [`Params`](crate::genesis::Params) beside the tables, rebuilt from them when a state is loaded.

use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{Amount, ChainId, ResourceKind};

/// Longest token symbol, in bytes (genesis allows 1 to 12 of A-Z and 0-9).
const MAX_SYMBOL_BYTES: usize = 12;

/// A token symbol as stored: its length, then its ASCII bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSymbol(pub String);

impl std::fmt::Display for TokenSymbol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Write for TokenSymbol {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        let bytes = self.0.as_bytes();
        let len = bytes.len().min(MAX_SYMBOL_BYTES);
        (len as u8).write(buf);
        buf.put_slice(&bytes[..len]);
    }
}

impl EncodeSize for TokenSymbol {
    fn encode_size(&self) -> usize {
        1 + self.0.len().min(MAX_SYMBOL_BYTES)
    }
}

impl Read for TokenSymbol {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = usize::from(u8::read(buf)?);
        if len == 0 || len > MAX_SYMBOL_BYTES {
            return Err(CodecError::InvalidLength(len));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = vec![0u8; len];
        buf.copy_to_slice(&mut bytes);
        if !bytes
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(CodecError::Invalid("TokenSymbol", "not A-Z and 0-9"));
        }
        String::from_utf8(bytes)
            .map(TokenSymbol)
            .map_err(|_| CodecError::Invalid("TokenSymbol", "not ASCII"))
    }
}

/// The core's section of the parameters: the chain, the token, epochs, emission, fees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreParams {
    pub chain_id: ChainId,
    pub token_symbol: TokenSymbol,
    pub token_decimals: u8,
    pub epoch_length_blocks: u64,
    pub heartbeat_window_blocks: u64,
    pub heartbeat_max_age_blocks: u64,
    pub unbonding_epochs: u64,
    pub initial_emission_per_epoch: Amount,
    pub halving_interval_epochs: u64,
    pub reward_weights_bps: [u16; ResourceKind::COUNT],
    pub transaction_fee: Amount,
    pub device_bond: Amount,
}
impl_struct_codec!(CoreParams {
    chain_id,
    token_symbol,
    token_decimals,
    epoch_length_blocks,
    heartbeat_window_blocks,
    heartbeat_max_age_blocks,
    unbonding_epochs,
    initial_emission_per_epoch,
    halving_interval_epochs,
    reward_weights_bps,
    transaction_fee,
    device_bond
});
