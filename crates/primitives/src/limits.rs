//! Protocol limits. Every one bounds something an outsider controls.

/// Most transactions in one block.
pub const MAX_TRANSACTIONS_PER_BLOCK: usize = 16_384;
/// Largest encoded transaction, in bytes, but for a storage proof.
pub const MAX_TRANSACTION_BYTES: usize = 1_024;
/// Largest encoded storage proof (`storage/prove`): it carries each challenged leaf's bytes
/// and path, up to [`MAX_CHALLENGES_PER_PERIOD`] of them.
pub const MAX_PROOF_TRANSACTION_BYTES: usize = 16_384;
/// Most shards in one deal set: one provider each.
pub const MAX_SHARDS_PER_SET: usize = 8;
/// Most leaves a proving period may challenge per deal.
pub const MAX_CHALLENGES_PER_PERIOD: usize = 12;
/// Largest leaf a storage proof carries (`groundwork-storage`'s leaf size).
pub const MAX_LEAF_BYTES: usize = 256;
/// Longest agent URL a storage provider may publish.
pub const MAX_ENDPOINT_BYTES: usize = 200;
/// Most tasks in one compute job: one input each.
pub const MAX_TASKS_PER_JOB: usize = 16;
/// Longest path a storage proof carries: the tree height of the largest shard.
pub const MAX_PROOF_PATH: usize = 32;
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
const _: () = assert!(MAX_PROOF_TRANSACTION_BYTES < MAX_BLOCK_BYTES);
// A full proof fits: every leaf at its longest with its longest path, plus the envelope.
const _: () = assert!(
    MAX_CHALLENGES_PER_PERIOD * (8 + 2 + MAX_LEAF_BYTES + 1 + 32 * MAX_PROOF_PATH) + 256
        <= MAX_PROOF_TRANSACTION_BYTES
);
