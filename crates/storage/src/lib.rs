//! Storage maths: how a stored shard is committed to, how the chain challenges its provider,
//! and how a proof of possession is checked.
//!
//! - A shard's bytes are cut into **leaves** of [`LEAF_BYTES`]; [`BLOCK_LEAVES`] leaves make a
//!   **block** (64 KiB). A binary BLAKE3 tree over the leaves, padded to a power of two with
//!   empty nodes, gives the shard's [`Root`], which also commits to the byte length.
//! - A provider keeps the bytes and the **block roots** (32 bytes per 64 KiB, 0.05 %). From
//!   them it answers any challenge: it rebuilds the challenged leaf's block and gives the leaf's
//!   bytes with its path ([`LeafProof`]). Keeping the tree without the bytes answers nothing.
//! - A reader fetches the block roots, checks them against the root once
//!   ([`verify_block_roots`]), then checks each 64 KiB block as it streams in
//!   ([`block_root`]): verified streaming with one hash per block of overhead.
//! - Each proving period the chain draws [`challenged_leaves`] from a block hash that did not
//!   exist when the provider could have prepared.
//! - With the `erasure` feature, [`erasure`] splits a file into k data and m parity shards
//!   (Reed–Solomon) so any k of them rebuild it.
//!
//! Why a tree of our own over BLAKE3 rather than bao's encoding, and why these sizes:
//! docs/storage.md.
//!
//! # Bounds
//!
//! Everything here that reads outside input is bounded: a proof's path is exactly the tree's
//! height (at most [`MAX_TREE_HEIGHT`]), a leaf at most [`LEAF_BYTES`], a shard at most
//! [`MAX_SHARD_BYTES`]. Verifying one leaf costs at most `MAX_TREE_HEIGHT + 2` hashes.

mod challenge;
#[cfg(feature = "erasure")]
pub mod erasure;
mod tree;

pub use challenge::{CHALLENGE_CONTEXT, RETRIEVAL_CONTEXT, challenged_leaves, retrieval_checks};
pub use tree::{
    BlockRoots, LeafProof, ProofError, Root, block_root, leaf_count, leaf_len, prove_leaf,
    root_from_block_roots, shard_root, tree_height, verify_block_roots,
};

/// Bytes in one leaf: what a challenge asks for. Small, so a proof of five leaves fits one
/// transaction; the last leaf of a shard may be shorter.
pub const LEAF_BYTES: usize = 256;
/// Leaves in one block: the unit a provider rebuilds to answer a challenge and a reader
/// verifies while streaming (64 KiB).
pub const BLOCK_LEAVES: usize = 256;
/// Bytes in one block.
pub const BLOCK_BYTES: usize = LEAF_BYTES * BLOCK_LEAVES;
/// Levels inside a block's subtree: log2 of [`BLOCK_LEAVES`].
pub const BLOCK_HEIGHT: usize = 8;
/// Largest shard one deal may store: 1 TiB.
pub const MAX_SHARD_BYTES: u64 = 1 << 40;
/// Tallest tree: a 1 TiB shard has 2^24 blocks above the 8 levels inside each.
pub const MAX_TREE_HEIGHT: usize = BLOCK_HEIGHT + 24;

const _: () = assert!(1usize << BLOCK_HEIGHT == BLOCK_LEAVES);
const _: () = assert!((BLOCK_BYTES as u64) << (MAX_TREE_HEIGHT - BLOCK_HEIGHT) == MAX_SHARD_BYTES);
