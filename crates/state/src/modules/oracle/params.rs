//! The oracle module's section of the chain parameters, and its genesis rules.

use crate::genesis::{GenesisError, invalid};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::Address;

/// Most oracle accounts a chain may name: the median is recomputed from all of them.
pub const MAX_ORACLES: usize = 32;

/// Longest smoothing window, in blocks (a day of 1-second blocks).
pub const MAX_SMOOTHING_WINDOW_BLOCKS: u64 = 86_400;

/// Price oracle parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleParams {
    /// The accounts whose submissions count, sorted, without duplicates. None: no price.
    pub accounts: Vec<Address>,
    /// Fresh submissions needed for a price.
    pub quorum: u8,
    /// A submission counts for this many blocks after the block it landed in.
    pub max_age_blocks: u64,
    /// Blocks over which the median is averaged; burns use the lower of the two, mints the
    /// higher.
    pub smoothing_window_blocks: u64,
}

impl OracleParams {
    /// No oracles: the price is always unavailable.
    pub fn disabled() -> Self {
        Self {
            accounts: Vec::new(),
            quorum: 1,
            max_age_blocks: 1,
            smoothing_window_blocks: 1,
        }
    }

    /// Whether `account` may submit prices.
    pub fn is_oracle(&self, account: &Address) -> bool {
        self.accounts.binary_search(account).is_ok()
    }

    /// Refuses a value genesis may not set, naming its field. `accounts` arrive sorted.
    pub(crate) fn validate(&self) -> Result<(), GenesisError> {
        if self.accounts.len() > MAX_ORACLES {
            return Err(invalid(
                "oracle.accounts",
                format!("{} accounts, at most {MAX_ORACLES}", self.accounts.len()),
            ));
        }
        if self.accounts.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(invalid("oracle.accounts", "an account is listed twice"));
        }
        if self.quorum == 0 || usize::from(self.quorum) > self.accounts.len().max(1) {
            return Err(invalid(
                "oracle.quorum",
                format!(
                    "{} must be at least 1 and at most the {} oracle accounts",
                    self.quorum,
                    self.accounts.len()
                ),
            ));
        }
        if self.max_age_blocks == 0 {
            return Err(invalid("oracle.max_age_blocks", "must be at least 1"));
        }
        if self.smoothing_window_blocks == 0
            || self.smoothing_window_blocks > MAX_SMOOTHING_WINDOW_BLOCKS
        {
            return Err(invalid(
                "oracle.smoothing_window_blocks",
                format!("must be between 1 and {MAX_SMOOTHING_WINDOW_BLOCKS}"),
            ));
        }
        Ok(())
    }
}

impl Write for OracleParams {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        // Genesis validation bounds the list by MAX_ORACLES, so the count fits a byte.
        let count = self.accounts.len().min(MAX_ORACLES);
        (count as u8).write(buf);
        for account in self.accounts.iter().take(count) {
            account.write(buf);
        }
        self.quorum.write(buf);
        self.max_age_blocks.write(buf);
        self.smoothing_window_blocks.write(buf);
    }
}

impl EncodeSize for OracleParams {
    fn encode_size(&self) -> usize {
        1 + self
            .accounts
            .iter()
            .take(MAX_ORACLES)
            .map(EncodeSize::encode_size)
            .sum::<usize>()
            + self.quorum.encode_size()
            + self.max_age_blocks.encode_size()
            + self.smoothing_window_blocks.encode_size()
    }
}

impl Read for OracleParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let count = usize::from(u8::read(buf)?);
        if count > MAX_ORACLES {
            return Err(CodecError::InvalidLength(count));
        }
        let mut accounts = Vec::with_capacity(count);
        for _ in 0..count {
            accounts.push(Address::read(buf)?);
        }
        Ok(Self {
            accounts,
            quorum: u8::read(buf)?,
            max_age_blocks: u64::read(buf)?,
            smoothing_window_blocks: u64::read(buf)?,
        })
    }
}
