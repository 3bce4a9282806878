//! Protocol limits. Every one bounds something an outsider controls.

/// Most transactions in one block.
pub const MAX_TRANSACTIONS_PER_BLOCK: usize = 16_384;
/// Largest encoded transaction, in bytes.
pub const MAX_TRANSACTION_BYTES: usize = 1_024;
/// Most blocks between the height that includes an account transaction and its `valid_until`:
/// signed bytes that were never included stay valid for at most this long.
pub const MAX_TRANSACTION_LIFETIME_BLOCKS: u64 = 3_600;
/// Most beacons one location challenge may cite as evidence.
pub const MAX_CHALLENGE_EVIDENCE: usize = 8;
/// Largest encoded block, in bytes (header plus transactions).
pub const MAX_BLOCK_BYTES: usize = MAX_TRANSACTIONS_PER_BLOCK * 256;

// A block of only small transactions must fit: heartbeats are ~140 bytes.
const _: () = assert!(MAX_BLOCK_BYTES >= MAX_TRANSACTIONS_PER_BLOCK * 160);
const _: () = assert!(MAX_TRANSACTION_BYTES < MAX_BLOCK_BYTES);
