//! The shard tree: leaves of [`LEAF_BYTES`], hashed with BLAKE3 under one-byte domain tags,
//! paired up to a power of two with empty nodes, and a root that also commits to the length.
//!
//! ```text
//! leaf  = BLAKE3(0x00 ‖ leaf bytes)
//! node  = EMPTY                        if both children are EMPTY
//!       = BLAKE3(0x01 ‖ left ‖ right)  otherwise
//! root  = BLAKE3(0x02 ‖ length as u64 big-endian ‖ top node)
//! EMPTY = 32 zero bytes
//! ```
//!
//! A node of two empty children being empty makes a block past the end, or any padding
//! subtree, the same constant at every level, so the tree's shape follows from the length
//! alone. The root commits to the length, so padding cannot be passed off as data.

use crate::{
    BLOCK_BYTES, BLOCK_HEIGHT, BLOCK_LEAVES, LEAF_BYTES, MAX_SHARD_BYTES, MAX_TREE_HEIGHT,
};

/// A shard's commitment: the root of its tree, length included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Root(pub [u8; 32]);

impl Root {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

const EMPTY: [u8; 32] = [0; 32];
const LEAF_TAG: u8 = 0x00;
const NODE_TAG: u8 = 0x01;
const ROOT_TAG: u8 = 0x02;

fn leaf_hash(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[LEAF_TAG]);
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    if *left == EMPTY && *right == EMPTY {
        return EMPTY;
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[NODE_TAG]);
    hasher.update(left);
    hasher.update(right);
    *hasher.finalize().as_bytes()
}

fn seal(size: u64, top: &[u8; 32]) -> Root {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[ROOT_TAG]);
    hasher.update(&size.to_be_bytes());
    hasher.update(top);
    Root(*hasher.finalize().as_bytes())
}

/// Why a proof or a shard was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("a shard must hold between 1 byte and {max} bytes, not {size}")]
    BadSize { size: u64, max: u64 },
    #[error("leaf {index} is past the shard's last leaf ({leaves} leaves)")]
    LeafOutOfRange { index: u64, leaves: u64 },
    #[error("leaf {index} must be {expected} bytes, not {got}")]
    LeafLength {
        index: u64,
        expected: usize,
        got: usize,
    },
    #[error("the path must have {expected} hashes for this shard, not {got}")]
    PathLength { expected: usize, got: usize },
    #[error("the leaf and its path do not lead to the committed root")]
    RootMismatch,
    #[error("expected {expected} block roots for this shard, got {got}")]
    BlockCount { expected: u64, got: u64 },
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size == 0 || size > MAX_SHARD_BYTES {
        return Err(ProofError::BadSize {
            size,
            max: MAX_SHARD_BYTES,
        });
    }
    Ok(())
}

/// Leaves in a shard of `size` bytes (the last may be short).
pub fn leaf_count(size: u64) -> u64 {
    size.div_ceil(LEAF_BYTES as u64)
}

/// Bytes in leaf `index` of a shard of `size` bytes, `None` past the end.
pub fn leaf_len(size: u64, index: u64) -> Option<usize> {
    let start = index.checked_mul(LEAF_BYTES as u64)?;
    if start >= size {
        return None;
    }
    let len = (size - start).min(LEAF_BYTES as u64);
    usize::try_from(len).ok()
}

fn block_count(size: u64) -> u64 {
    size.div_ceil(BLOCK_BYTES as u64)
}

/// Levels of the tree above the blocks: log2 of the block count rounded up.
fn top_height(blocks: u64) -> usize {
    if blocks <= 1 {
        0
    } else {
        (64 - (blocks - 1).leading_zeros()) as usize
    }
}

/// Hashes in a leaf's path for a shard of `size` bytes.
pub fn tree_height(size: u64) -> usize {
    BLOCK_HEIGHT + top_height(block_count(size))
}

/// The root of one block's subtree, from its bytes (at most [`BLOCK_BYTES`]; a short last
/// block is padded with empty leaves).
pub fn block_root(bytes: &[u8]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = bytes.chunks(LEAF_BYTES).map(leaf_hash).collect();
    level.resize(BLOCK_LEAVES, EMPTY);
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

/// The levels of a tree built over `nodes`, padded to `1 << height` with empty nodes: the
/// first level is `nodes`, the last holds the top alone.
fn levels(nodes: &[[u8; 32]], height: usize) -> Vec<Vec<[u8; 32]>> {
    let mut level = nodes.to_vec();
    level.resize(1 << height, EMPTY);
    let mut all = vec![level];
    for _ in 0..height {
        let next = all[all.len() - 1]
            .chunks(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
        all.push(next);
    }
    all
}

/// A shard's block roots, in order: what a provider keeps beside the bytes and a reader
/// fetches first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRoots {
    pub size: u64,
    pub roots: Vec<[u8; 32]>,
}

impl BlockRoots {
    /// Builds them from the shard's bytes.
    pub fn of(bytes: &[u8]) -> Result<Self, ProofError> {
        check_size(bytes.len() as u64)?;
        Ok(Self {
            size: bytes.len() as u64,
            roots: bytes.chunks(BLOCK_BYTES).map(block_root).collect(),
        })
    }

    /// The shard's root.
    pub fn root(&self) -> Result<Root, ProofError> {
        root_from_block_roots(self.size, &self.roots)
    }

    /// The roots as they travel and are kept on disk: 32 bytes each, in order.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.roots.concat()
    }

    /// Roots of a shard of `size` bytes read back from [`BlockRoots::to_bytes`]' form. A
    /// trailing piece shorter than a root is dropped; [`verify_block_roots`] then finds the
    /// count wrong.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Self {
        let roots = bytes
            .chunks_exact(32)
            .map(|c| {
                let mut root = [0u8; 32];
                root.copy_from_slice(c);
                root
            })
            .collect();
        Self { size, roots }
    }
}

/// The root of a shard whose blocks have these roots.
pub fn root_from_block_roots(size: u64, roots: &[[u8; 32]]) -> Result<Root, ProofError> {
    check_size(size)?;
    let blocks = block_count(size);
    if roots.len() as u64 != blocks {
        return Err(ProofError::BlockCount {
            expected: blocks,
            got: roots.len() as u64,
        });
    }
    let all = levels(roots, top_height(blocks));
    Ok(seal(size, &all[all.len() - 1][0]))
}

/// The root of a shard held in memory.
pub fn shard_root(bytes: &[u8]) -> Result<Root, ProofError> {
    BlockRoots::of(bytes)?.root()
}

/// Checks a reader's block roots against the committed root before it trusts any of them.
pub fn verify_block_roots(root: &Root, blocks: &BlockRoots) -> Result<(), ProofError> {
    if blocks.root()? != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// One challenged leaf: its bytes and the sibling hashes from the leaf up to the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafProof {
    pub index: u64,
    pub leaf: Vec<u8>,
    pub path: Vec<[u8; 32]>,
}

/// Proves leaf `index` from its block's bytes and the shard's block roots: what a provider
/// does for each challenge.
pub fn prove_leaf(
    blocks: &BlockRoots,
    index: u64,
    block_bytes: &[u8],
) -> Result<LeafProof, ProofError> {
    let leaves = leaf_count(blocks.size);
    let expected =
        leaf_len(blocks.size, index).ok_or(ProofError::LeafOutOfRange { index, leaves })?;
    let in_block = (index % BLOCK_LEAVES as u64) as usize;
    let start = in_block * LEAF_BYTES;
    let leaf = block_bytes
        .get(start..start + expected)
        .ok_or(ProofError::LeafLength {
            index,
            expected,
            got: block_bytes.len().saturating_sub(start),
        })?
        .to_vec();
    let mut leaf_hashes: Vec<[u8; 32]> = block_bytes.chunks(LEAF_BYTES).map(leaf_hash).collect();
    leaf_hashes.truncate(BLOCK_LEAVES);
    let inner = levels(&leaf_hashes, BLOCK_HEIGHT);
    let outer = levels(&blocks.roots, top_height(blocks.roots.len() as u64));
    let mut path = Vec::with_capacity(tree_height(blocks.size));
    let mut position = in_block;
    for level in inner.iter().take(BLOCK_HEIGHT) {
        path.push(level[position ^ 1]);
        position /= 2;
    }
    let mut position = (index / BLOCK_LEAVES as u64) as usize;
    for level in outer.iter().take(outer.len() - 1) {
        path.push(level[position ^ 1]);
        position /= 2;
    }
    Ok(LeafProof { index, leaf, path })
}

impl LeafProof {
    /// Checks the proof against a shard's root and length: the leaf's length must be the one
    /// its index has, the path exactly the tree's height, and the hashes must lead to the
    /// root. At most [`MAX_TREE_HEIGHT`] + 2 hashes.
    pub fn verify(&self, root: &Root, size: u64) -> Result<(), ProofError> {
        check_size(size)?;
        let leaves = leaf_count(size);
        let expected = leaf_len(size, self.index).ok_or(ProofError::LeafOutOfRange {
            index: self.index,
            leaves,
        })?;
        if self.leaf.len() != expected {
            return Err(ProofError::LeafLength {
                index: self.index,
                expected,
                got: self.leaf.len(),
            });
        }
        let height = tree_height(size);
        debug_assert!(height <= MAX_TREE_HEIGHT);
        if self.path.len() != height {
            return Err(ProofError::PathLength {
                expected: height,
                got: self.path.len(),
            });
        }
        let mut node = leaf_hash(&self.leaf);
        let mut position = self.index;
        for sibling in &self.path {
            node = if position.is_multiple_of(2) {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
            position /= 2;
        }
        if seal(size, &node) != *root {
            return Err(ProofError::RootMismatch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        // Not periodic, so no two leaves are equal.
        let mut out = Vec::with_capacity(n + 32);
        let mut counter = 0u64;
        while out.len() < n {
            out.extend_from_slice(
                blake3::hash(&[&[seed][..], &counter.to_be_bytes()].concat()).as_bytes(),
            );
            counter += 1;
        }
        out.truncate(n);
        out
    }

    fn block_of(data: &[u8], index: u64) -> &[u8] {
        let b = (index as usize / BLOCK_LEAVES) * BLOCK_BYTES;
        &data[b..(b + BLOCK_BYTES).min(data.len())]
    }

    /// A one-leaf shard by hand: the leaf, seven levels of a leaf paired with empties, the
    /// root over the length. Written from the formulas in the module doc, not the code.
    #[test]
    fn a_one_leaf_shard_by_hand() {
        let data = b"hello";
        let mut node = *blake3::hash(&[&[0u8][..], data].concat()).as_bytes();
        for _ in 0..BLOCK_HEIGHT {
            node = *blake3::hash(&[&[1u8][..], &node, &[0u8; 32]].concat()).as_bytes();
        }
        let mut sealed = vec![2u8];
        sealed.extend_from_slice(&5u64.to_be_bytes());
        sealed.extend_from_slice(&node);
        let expected = Root(*blake3::hash(&sealed).as_bytes());
        assert_eq!(shard_root(data).unwrap(), expected);
        assert_eq!(tree_height(5), 8);
    }

    #[test]
    fn every_leaf_of_a_multi_block_shard_proves_and_a_changed_byte_does_not() {
        // Three blocks and a short last leaf: the top tree has two levels, one padding block.
        let data = bytes(2 * BLOCK_BYTES + 1000, 7);
        let blocks = BlockRoots::of(&data).unwrap();
        let root = blocks.root().unwrap();
        assert_eq!(tree_height(data.len() as u64), BLOCK_HEIGHT + 2);
        let leaves = leaf_count(data.len() as u64);
        assert_eq!(leaves, 2 * 256 + 4);
        for index in [0, 1, 255, 256, 511, 512, leaves - 1] {
            let proof = prove_leaf(&blocks, index, block_of(&data, index)).unwrap();
            proof.verify(&root, data.len() as u64).unwrap();
            let mut bad = proof.clone();
            bad.leaf[0] ^= 1;
            assert_eq!(
                bad.verify(&root, data.len() as u64),
                Err(ProofError::RootMismatch)
            );
        }
        let last = prove_leaf(&blocks, leaves - 1, block_of(&data, leaves - 1)).unwrap();
        assert_eq!(last.leaf.len(), 1000 - 3 * 256);
        assert_eq!(
            prove_leaf(&blocks, leaves, block_of(&data, leaves - 1)),
            Err(ProofError::LeafOutOfRange {
                index: leaves,
                leaves
            })
        );
    }

    #[test]
    fn a_proof_for_another_shard_or_length_or_index_is_refused() {
        let a = bytes(BLOCK_BYTES * 2, 1);
        let b = bytes(BLOCK_BYTES * 2, 2);
        let (ra, rb) = (BlockRoots::of(&a).unwrap(), BlockRoots::of(&b).unwrap());
        let proof_b = prove_leaf(&rb, 3, block_of(&b, 3)).unwrap();
        let root_a = ra.root().unwrap();
        assert_eq!(
            proof_b.verify(&root_a, a.len() as u64),
            Err(ProofError::RootMismatch)
        );
        let proof_a = prove_leaf(&ra, 3, block_of(&a, 3)).unwrap();
        // The same leaf claimed at another index.
        let mut moved = proof_a.clone();
        moved.index = 5;
        assert_eq!(
            moved.verify(&root_a, a.len() as u64),
            Err(ProofError::RootMismatch)
        );
        // A shorter length has a shorter tree: the path no longer fits.
        assert!(matches!(
            proof_a.verify(&root_a, BLOCK_BYTES as u64),
            Err(ProofError::PathLength { .. })
        ));
        // The same tree under another length is another root.
        let mut trimmed = a.clone();
        trimmed.truncate(a.len() - 1);
        assert_ne!(shard_root(&trimmed).unwrap(), root_a);
    }

    #[test]
    fn block_roots_are_checked_against_the_root() {
        let data = bytes(BLOCK_BYTES * 3, 9);
        let mut blocks = BlockRoots::of(&data).unwrap();
        let root = blocks.root().unwrap();
        verify_block_roots(&root, &blocks).unwrap();
        // Their bytes read back as the same roots; a cut-off list is one root short.
        let sent = blocks.to_bytes();
        assert_eq!(sent.len(), 3 * 32);
        assert_eq!(BlockRoots::from_bytes(blocks.size, &sent), blocks);
        assert_eq!(
            BlockRoots::from_bytes(blocks.size, &sent[..sent.len() - 1])
                .roots
                .len(),
            2
        );
        blocks.roots[1][0] ^= 1;
        assert_eq!(
            verify_block_roots(&root, &blocks),
            Err(ProofError::RootMismatch)
        );
        blocks.roots.pop();
        assert_eq!(
            verify_block_roots(&root, &blocks),
            Err(ProofError::BlockCount {
                expected: 3,
                got: 2
            })
        );
    }

    #[test]
    fn sizes_outside_the_bounds_are_refused() {
        assert!(matches!(shard_root(&[]), Err(ProofError::BadSize { .. })));
        assert!(matches!(
            root_from_block_roots(MAX_SHARD_BYTES + 1, &[]),
            Err(ProofError::BadSize { .. })
        ));
        assert_eq!(tree_height(MAX_SHARD_BYTES), MAX_TREE_HEIGHT);
    }
}
