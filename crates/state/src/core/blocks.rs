//! Block history: the recent blocks a report may name as chain entropy, and the head.

use super::Core;
use crate::error::CoreError;
use crate::error::TxError;
use groundwork_primitives::hash::Digest;

impl Core {
    pub(crate) fn height(&self) -> u64 {
        self.chain_info().height
    }

    /// The hash of a recent block by height, if still in the history.
    pub(crate) fn recent_block(&self, height: u64) -> Option<Digest> {
        self.block_by_height.get(&height).copied()
    }

    /// The height of `block` if it is a block of this chain at most `max_age` older than
    /// `height`: chain entropy a device could not have known in advance.
    pub(crate) fn check_recent_block(
        &self,
        block: &Digest,
        height: u64,
        max_age: u64,
    ) -> Result<u64, TxError> {
        let referenced_height = self
            .height_by_block
            .get(block)
            .copied()
            .ok_or(TxError::Core(CoreError::UnknownBlockHash { block: *block }))?;
        let age = height.saturating_sub(referenced_height);
        if age > max_age {
            return Err(TxError::Core(CoreError::StaleBlockHash {
                referenced_height,
                age,
                max_age,
            }));
        }
        Ok(referenced_height)
    }

    /// Makes `digest` the head at `height` and keeps `retention` blocks of history.
    pub(crate) fn record_block(
        &mut self,
        height: u64,
        digest: Digest,
        timestamp_ms: u64,
        retention: u64,
    ) {
        self.block_by_height.put(height, digest);
        self.height_by_block.put(digest, height);
        let expired = height.checked_sub(retention);
        if let Some((expired, old)) =
            expired.and_then(|h| self.block_by_height.get(&h).map(|d| (h, *d)))
        {
            self.block_by_height.delete(expired);
            self.height_by_block.delete(old);
        }
        let _ = self.update_info(|info| {
            info.height = height;
            info.last_block = digest;
            info.last_timestamp_ms = timestamp_ms;
            Ok::<(), std::convert::Infallible>(())
        });
    }
}
