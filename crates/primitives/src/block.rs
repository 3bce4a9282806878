//! Blocks: a header that commits to its parent, its transactions and the state after its parent.

use crate::hash::{Digest, hash, merkle_root};
use crate::keys::AccountPublicKey;
use crate::limits::{MAX_BLOCK_BYTES, MAX_TRANSACTIONS_PER_BLOCK};
use crate::tx::Transaction;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, RangeCfg, Read, Write};

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// Digest of the parent header (the genesis digest for height 1).
    pub parent: Digest,
    /// Height of this block; genesis is height 0 and has no block.
    pub height: u64,
    /// Proposer's clock, milliseconds since the Unix epoch. Checked by validators, never read
    /// by the state machine for anything but bookkeeping.
    pub timestamp_ms: u64,
    /// The validator that proposed this block.
    pub proposer: AccountPublicKey,
    /// Authenticated state root after executing the parent.
    pub state_root: Digest,
    /// Merkle root of the transaction hashes, in block order.
    pub transactions_root: Digest,
}

crate::impl_struct_codec!(BlockHeader {
    parent,
    height,
    timestamp_ms,
    proposer,
    state_root,
    transactions_root
});

impl BlockHeader {
    /// The block id: SHA-256 of the encoded header.
    pub fn digest(&self) -> Digest {
        hash(&self.encode())
    }
}

/// A header plus its transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<Transaction>,
}

impl Block {
    pub fn digest(&self) -> Digest {
        self.header.digest()
    }

    /// The Merkle root of `transactions`' hashes, as the header must carry.
    pub fn compute_transactions_root(transactions: &[Transaction]) -> Digest {
        let hashes: Vec<Digest> = transactions.iter().map(Transaction::hash).collect();
        merkle_root(&hashes)
    }

    /// Decodes a block from untrusted bytes: bounded size and count, no trailing bytes.
    pub fn decode_untrusted(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        crate::decode_exact(bytes)
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.header.write(buf);
        self.transactions.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header.encode_size() + self.transactions.encode_size()
    }
}

impl Read for Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let header = BlockHeader::read_cfg(buf, &())?;
        let range: RangeCfg<usize> = (0..=MAX_TRANSACTIONS_PER_BLOCK).into();
        let transactions = Vec::<Transaction>::read_cfg(buf, &(range, ()))?;
        Ok(Self {
            header,
            transactions,
        })
    }
}
