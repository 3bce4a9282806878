//! The block as consensus sees it: a [`Block`] paired with its digest, implementing the
//! commonware traits marshal needs (height, parent, digest, bounded codec).

use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::types::Height;
use commonware_consensus::{Block as ConsensusBlock, BoundedBlock, Heightable};
use commonware_cryptography::Digestible;
use groundwork_primitives::Block;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::limits::MAX_BLOCK_BYTES;
use groundwork_state::Genesis;
use std::sync::Arc;

/// A block and its digest (the header hash), computed once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBlock {
    block: Arc<Block>,
    digest: Digest,
}

impl ChainBlock {
    pub fn new(block: Block) -> Self {
        let digest = block.digest();
        Self {
            block: Arc::new(block),
            digest,
        }
    }

    /// Block 0 of a chain: the genesis header with no transactions.
    pub fn genesis(genesis: &Genesis) -> Self {
        Self::new(Block {
            header: genesis.block_header(),
            transactions: Vec::new(),
        })
    }

    pub fn block(&self) -> &Block {
        &self.block
    }

    /// The block digest (also available through `Digestible`).
    pub fn digest_value(&self) -> Digest {
        self.digest
    }

    pub fn height_u64(&self) -> u64 {
        self.block.header.height
    }
}

impl Heightable for ChainBlock {
    fn height(&self) -> Height {
        Height::new(self.block.header.height)
    }
}

impl Digestible for ChainBlock {
    type Digest = Digest;
    fn digest(&self) -> Digest {
        self.digest
    }
}

impl ConsensusBlock for ChainBlock {
    fn parent(&self) -> Digest {
        self.block.header.parent
    }
}

impl Write for ChainBlock {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.block.write(buf);
    }
}

impl EncodeSize for ChainBlock {
    fn encode_size(&self) -> usize {
        self.block.encode_size()
    }
}

impl Read for ChainBlock {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, cfg: &()) -> Result<Self, CodecError> {
        Ok(Self::new(Block::read_cfg(buf, cfg)?))
    }
}

impl BoundedBlock for ChainBlock {
    fn max_encode_size(_: &()) -> usize {
        // Every transaction is far smaller than MAX_BLOCK_BYTES / MAX_TRANSACTIONS_PER_BLOCK;
        // the margin covers the header and the length prefix.
        MAX_BLOCK_BYTES + 1_024
    }
}
