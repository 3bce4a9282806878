//! The state machine: `execute(block)` applies one block's transactions in order, closes the
//! epoch when the block is its last, and returns a receipt per transaction plus the sorted
//! write-set of every state key the block changed.
//!
//! Determinism: ordered maps only, integer arithmetic only, no clock, no randomness but the
//! batch-verification coefficients, which are seeded from the block digest and cannot change
//! an outcome (a batch that fails is re-checked one signature at a time).

use crate::challenge::{Challenge, DeviceChallenge, HeightChallenge};
use crate::coverage::{
    BeaconRecord, BeaconWitness, CoverageActivity, CoverageReward, CoverageSummary, EpochBeacon,
    HeightBeacon, SettledBeacon, WitnessRecord,
};
use crate::error::{BlockError, ExplainError, TxError};
use crate::genesis::{Genesis, Params};
use crate::records::{Account, ChainInfo, Device, DeviceStatus, EpochSummary, RewardRecord};
use crate::rewards::{RewardExplanation, coverage_pool, device_share, epoch_emission, split_pools};
use crate::table::Table;
use commonware_codec::{Buf, Encode, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::decode_exact;
use groundwork_primitives::hash::{Digest, hash, merkle_root};
use groundwork_primitives::keys::AccountPublicKey;
use groundwork_primitives::limits::{MAX_TRANSACTION_LIFETIME_BLOCKS, MAX_TRANSACTIONS_PER_BLOCK};
use groundwork_primitives::transaction::device_ownership_message;
use groundwork_primitives::{
    AccountAction, AccountTransaction, Address, Amount, Block, BlockHeader, DeviceId, Domain,
    HeartbeatTransaction, ResourceKind, Transaction, Validity,
};
use std::collections::BTreeMap;

/// Table prefixes of state keys. On disk and in proofs: never renumber.
pub mod prefix {
    pub const CHAIN_INFO: u8 = 0x01;
    pub const ACCOUNT: u8 = 0x02;
    pub const DEVICE: u8 = 0x03;
    pub const EPOCH_WORK: u8 = 0x04;
    pub const REWARD: u8 = 0x05;
    pub const EPOCH_SUMMARY: u8 = 0x06;
    pub const UNBONDING: u8 = 0x07;
    pub const BLOCK_BY_HEIGHT: u8 = 0x08;
    pub const HEIGHT_BY_BLOCK: u8 = 0x09;
    pub const BEACON: u8 = 0x0A;
    pub const WITNESS: u8 = 0x0B;
    pub const COVERAGE: u8 = 0x0C;
    pub const PENDING_BEACON: u8 = 0x0D;
    pub const REWARDED_BEACON: u8 = 0x0E;
    pub const COVERAGE_REWARD: u8 = 0x0F;
    pub const COVERAGE_EPOCH: u8 = 0x10;
    pub const CHALLENGE: u8 = 0x11;
    pub const OPEN_CHALLENGE: u8 = 0x12;
    pub const DEVICE_CHALLENGE: u8 = 0x13;
    pub const CHALLENGE_HISTORY: u8 = 0x14;
}

/// Runs `$body` once per table, with `$t` bound to the table (`&mut` unless `ref` is given)
/// and `$p` to its key prefix. The one list of tables: adding a table here covers layering,
/// write-sets and dumps.
macro_rules! for_each_table {
    ($s:expr, $t:ident, $p:ident, $body:block) => {
        for_each_table!(@mut $s, $t, $p, $body)
    };
    (ref $s:expr, $t:ident, $p:ident, $body:block) => {
        for_each_table!(@ref $s, $t, $p, $body)
    };
    (@$mode:ident $s:expr, $t:ident, $p:ident, $body:block) => {
        for_each_table!(@list $mode $s, $t, $p, $body;
            info CHAIN_INFO, accounts ACCOUNT, devices DEVICE, epoch_work EPOCH_WORK,
            rewards REWARD, epochs EPOCH_SUMMARY, unbonding UNBONDING,
            block_by_height BLOCK_BY_HEIGHT, height_by_block HEIGHT_BY_BLOCK,
            beacons BEACON, witnesses WITNESS, coverage COVERAGE,
            pending_beacons PENDING_BEACON, rewarded_beacons REWARDED_BEACON,
            coverage_rewards COVERAGE_REWARD, coverage_epochs COVERAGE_EPOCH,
            challenges CHALLENGE, open_challenges OPEN_CHALLENGE,
            device_challenges DEVICE_CHALLENGE, challenge_history CHALLENGE_HISTORY)
    };
    (@list mut $s:expr, $t:ident, $p:ident, $body:block; $($field:ident $prefix:ident),*) => {
        $( { let $t = &mut $s.$field; let $p = prefix::$prefix; let _ = $p; $body } )*
    };
    (@list ref $s:expr, $t:ident, $p:ident, $body:block; $($field:ident $prefix:ident),*) => {
        $( { let $t = &$s.$field; let $p = prefix::$prefix; let _ = $p; $body } )*
    };
}

/// The state key of an account.
pub fn account_key(address: &Address) -> Vec<u8> {
    prefixed(prefix::ACCOUNT, address)
}

/// The state key of a device.
pub fn device_key(device: &DeviceId) -> Vec<u8> {
    prefixed(prefix::DEVICE, device)
}

fn prefixed(table: u8, key: &impl Write) -> Vec<u8> {
    let mut buf = vec![table];
    key.write(&mut buf);
    buf
}

/// The key of a table with exactly one record: encodes to nothing after the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Singleton;

impl Write for Singleton {
    fn write(&self, _: &mut impl bytes::BufMut) {}
}

impl Read for Singleton {
    type Cfg = ();
    fn read_cfg(_: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Singleton)
    }
}

/// One changed state key: the new value, or `None` if the key was deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// What happened to one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub transaction: Digest,
    pub result: Result<(), TxError>,
}

/// What one block did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    pub height: u64,
    pub block: Digest,
    /// One per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// Every changed key, sorted by key bytes, each once.
    pub write_set: Vec<StateWrite>,
    /// The epoch this block closed, if it was an epoch's last block.
    pub epoch_ended: Option<u64>,
}

/// A broken conservation law, found by [`State::check_invariants`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct InvariantViolation(pub String);

/// One transaction's fate in a block: `Ok` with its receipt result if a block may carry it,
/// `Err` with the reason if no block may.
pub type TrialOutcome = Result<Result<(), TxError>, TxError>;

/// Whether a block at `height` may carry `tx` as far as its validity window goes.
pub fn check_validity_window(tx: &AccountTransaction, height: u64) -> Result<(), TxError> {
    match tx.validity_at(height) {
        Validity::Valid => Ok(()),
        Validity::Expired => Err(TxError::Expired {
            valid_until: tx.valid_until,
            height,
        }),
        Validity::TooFarAhead => Err(TxError::ValidTooLong {
            valid_until: tx.valid_until,
            height,
            max_blocks: MAX_TRANSACTION_LIFETIME_BLOCKS,
        }),
    }
}

/// Which signatures are already known to be valid when a transaction runs.
#[derive(Clone, Copy, Debug)]
enum SignatureCheck {
    /// The block's ed25519 signatures were batch-verified (`true`) or the batch failed.
    Ed25519Batch(bool),
    /// The caller verified every signature (the mempool at admission, `verify` before a vote).
    AllVerified,
}

impl SignatureCheck {
    fn covers(self, transaction: &Transaction) -> bool {
        match self {
            SignatureCheck::AllVerified => true,
            SignatureCheck::Ed25519Batch(batch_ok) => {
                batch_ok && crate::signatures::in_ed25519_batch(transaction)
            }
        }
    }
}

/// The whole chain state.
#[derive(Clone, Debug)]
pub struct State {
    pub(crate) params: Params,
    pub(crate) genesis_digest: Digest,
    pub(crate) validators: Vec<AccountPublicKey>,
    pub(crate) info: Table<Singleton, ChainInfo>,
    pub(crate) accounts: Table<Address, Account>,
    pub(crate) devices: Table<DeviceId, Device>,
    pub(crate) epoch_work: Table<(u64, DeviceId), u64>,
    pub(crate) rewards: Table<(u64, DeviceId), RewardRecord>,
    pub(crate) epochs: Table<u64, EpochSummary>,
    pub(crate) unbonding: Table<(u64, DeviceId), Amount>,
    pub(crate) block_by_height: Table<u64, Digest>,
    pub(crate) height_by_block: Table<Digest, u64>,
    pub(crate) beacons: Table<Digest, BeaconRecord>,
    pub(crate) witnesses: Table<BeaconWitness, WitnessRecord>,
    pub(crate) coverage: Table<DeviceId, CoverageActivity>,
    pub(crate) pending_beacons: Table<HeightBeacon, u8>,
    pub(crate) rewarded_beacons: Table<EpochBeacon, SettledBeacon>,
    pub(crate) coverage_rewards: Table<(u64, DeviceId), CoverageReward>,
    pub(crate) coverage_epochs: Table<u64, CoverageSummary>,
    pub(crate) challenges: Table<Digest, Challenge>,
    pub(crate) open_challenges: Table<HeightChallenge, u8>,
    /// The open or upheld challenge that binds each device.
    pub(crate) device_challenges: Table<DeviceId, Digest>,
    /// Every challenge of each device, with the height it was posted.
    pub(crate) challenge_history: Table<DeviceChallenge, u64>,
}

/// Why stored entries could not be loaded back into a state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("stored state entry {key} is malformed: {reason}")]
    Malformed { key: String, reason: String },
    #[error("stored state has no chain-info record")]
    MissingChainInfo,
}

fn decode_key_value<K, V>(key: &[u8], value: &[u8]) -> Result<(K, V), LoadError>
where
    K: Read<Cfg = ()>,
    V: Read<Cfg = ()>,
{
    let malformed = |reason: String| LoadError::Malformed {
        key: hex::encode(key),
        reason,
    };
    let table_key = decode_exact::<K>(&key[1..]).map_err(|e| malformed(format!("key: {e}")))?;
    let record = decode_exact::<V>(value).map_err(|e| malformed(format!("value: {e}")))?;
    Ok((table_key, record))
}

/// A table key made of an epoch and a device id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct EpochDevice(u64, DeviceId);

impl Read for EpochDevice {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(EpochDevice(u64::read(buf)?, DeviceId::read(buf)?))
    }
}

impl State {
    /// Rebuilds a state from the entries [`State::entries`] produced (in any order), e.g. as
    /// read back from the node's authenticated store after a restart.
    pub fn from_entries(
        genesis: &Genesis,
        entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<Self, LoadError> {
        let mut state = Self::empty(genesis);
        let mut has_info = false;
        for (key, value) in entries {
            let Some(&table) = key.first() else {
                return Err(LoadError::Malformed {
                    key: String::new(),
                    reason: "empty key".to_string(),
                });
            };
            match table {
                prefix::CHAIN_INFO => {
                    let (Singleton, info) = decode_key_value::<Singleton, ChainInfo>(&key, &value)?;
                    state.info.insert_committed(Singleton, info);
                    has_info = true;
                }
                prefix::ACCOUNT => {
                    let (k, v) = decode_key_value::<Address, Account>(&key, &value)?;
                    state.accounts.insert_committed(k, v);
                }
                prefix::DEVICE => {
                    let (k, v) = decode_key_value::<DeviceId, Device>(&key, &value)?;
                    state.devices.insert_committed(k, v);
                }
                prefix::EPOCH_WORK => {
                    let (EpochDevice(e, d), v) =
                        decode_key_value::<EpochDevice, u64>(&key, &value)?;
                    state.epoch_work.insert_committed((e, d), v);
                }
                prefix::REWARD => {
                    let (EpochDevice(e, d), v) =
                        decode_key_value::<EpochDevice, RewardRecord>(&key, &value)?;
                    state.rewards.insert_committed((e, d), v);
                }
                prefix::EPOCH_SUMMARY => {
                    let (k, v) = decode_key_value::<u64, EpochSummary>(&key, &value)?;
                    state.epochs.insert_committed(k, v);
                }
                prefix::UNBONDING => {
                    let (EpochDevice(e, d), v) =
                        decode_key_value::<EpochDevice, Amount>(&key, &value)?;
                    state.unbonding.insert_committed((e, d), v);
                }
                prefix::BLOCK_BY_HEIGHT => {
                    let (k, v) = decode_key_value::<u64, Digest>(&key, &value)?;
                    state.block_by_height.insert_committed(k, v);
                }
                prefix::HEIGHT_BY_BLOCK => {
                    let (k, v) = decode_key_value::<Digest, u64>(&key, &value)?;
                    state.height_by_block.insert_committed(k, v);
                }
                prefix::BEACON => {
                    let (k, v) = decode_key_value::<Digest, BeaconRecord>(&key, &value)?;
                    state.beacons.insert_committed(k, v);
                }
                prefix::WITNESS => {
                    let (k, v) = decode_key_value::<BeaconWitness, WitnessRecord>(&key, &value)?;
                    state.witnesses.insert_committed(k, v);
                }
                prefix::COVERAGE => {
                    let (k, v) = decode_key_value::<DeviceId, CoverageActivity>(&key, &value)?;
                    state.coverage.insert_committed(k, v);
                }
                prefix::PENDING_BEACON => {
                    let (k, v) = decode_key_value::<HeightBeacon, u8>(&key, &value)?;
                    state.pending_beacons.insert_committed(k, v);
                }
                prefix::REWARDED_BEACON => {
                    let (k, v) = decode_key_value::<EpochBeacon, SettledBeacon>(&key, &value)?;
                    state.rewarded_beacons.insert_committed(k, v);
                }
                prefix::COVERAGE_REWARD => {
                    let (EpochDevice(e, d), v) =
                        decode_key_value::<EpochDevice, CoverageReward>(&key, &value)?;
                    state.coverage_rewards.insert_committed((e, d), v);
                }
                prefix::COVERAGE_EPOCH => {
                    let (k, v) = decode_key_value::<u64, CoverageSummary>(&key, &value)?;
                    state.coverage_epochs.insert_committed(k, v);
                }
                prefix::CHALLENGE => {
                    let (k, v) = decode_key_value::<Digest, Challenge>(&key, &value)?;
                    state.challenges.insert_committed(k, v);
                }
                prefix::OPEN_CHALLENGE => {
                    let (k, v) = decode_key_value::<HeightChallenge, u8>(&key, &value)?;
                    state.open_challenges.insert_committed(k, v);
                }
                prefix::DEVICE_CHALLENGE => {
                    let (k, v) = decode_key_value::<DeviceId, Digest>(&key, &value)?;
                    state.device_challenges.insert_committed(k, v);
                }
                prefix::CHALLENGE_HISTORY => {
                    let (k, v) = decode_key_value::<DeviceChallenge, u64>(&key, &value)?;
                    state.challenge_history.insert_committed(k, v);
                }
                other => {
                    return Err(LoadError::Malformed {
                        key: hex::encode(&key),
                        reason: format!("unknown table {other:#04x}"),
                    });
                }
            }
        }
        if !has_info {
            return Err(LoadError::MissingChainInfo);
        }
        Ok(state)
    }

    fn empty(genesis: &Genesis) -> Self {
        Self {
            params: genesis.params.clone(),
            genesis_digest: genesis.block_header().digest(),
            validators: genesis.validators.clone(),
            info: Table::default(),
            accounts: Table::default(),
            devices: Table::default(),
            epoch_work: Table::default(),
            rewards: Table::default(),
            epochs: Table::default(),
            unbonding: Table::default(),
            block_by_height: Table::default(),
            height_by_block: Table::default(),
            beacons: Table::default(),
            witnesses: Table::default(),
            coverage: Table::default(),
            pending_beacons: Table::default(),
            rewarded_beacons: Table::default(),
            coverage_rewards: Table::default(),
            coverage_epochs: Table::default(),
            challenges: Table::default(),
            open_challenges: Table::default(),
            device_challenges: Table::default(),
            challenge_history: Table::default(),
        }
    }

    /// The state at height 0.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut state = Self::empty(genesis);
        let genesis_digest = state.genesis_digest;
        let info = ChainInfo {
            height: 0,
            last_block: genesis_digest,
            last_timestamp_ms: genesis.genesis_time_ms,
            treasury: Amount::ZERO,
            genesis_supply: genesis.total_supply(),
            minted: Amount::ZERO,
            burned: Amount::ZERO,
            bonded: Amount::ZERO,
            escrowed: Amount::ZERO,
        };
        state.info.insert_committed(Singleton, info);
        for (address, amount) in &genesis.balances {
            state.accounts.insert_committed(
                *address,
                Account {
                    balance: *amount,
                    ..Account::default()
                },
            );
        }
        state.block_by_height.insert_committed(0, genesis_digest);
        state.height_by_block.insert_committed(genesis_digest, 0);
        state
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn validators(&self) -> &[AccountPublicKey] {
        &self.validators
    }

    /// Digest of block 0 (see [`Genesis::block_header`]), the parent of block 1.
    pub fn genesis_digest(&self) -> Digest {
        self.genesis_digest
    }

    pub fn chain_info(&self) -> ChainInfo {
        // The record is written at genesis and never deleted; the fallback is unreachable.
        self.info.get(&Singleton).cloned().unwrap_or(ChainInfo {
            height: 0,
            last_block: self.genesis_digest,
            last_timestamp_ms: 0,
            treasury: Amount::ZERO,
            genesis_supply: Amount::ZERO,
            minted: Amount::ZERO,
            burned: Amount::ZERO,
            bonded: Amount::ZERO,
            escrowed: Amount::ZERO,
        })
    }

    pub fn height(&self) -> u64 {
        self.chain_info().height
    }

    /// An account; a never-seen address is an empty account.
    pub fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).cloned().unwrap_or_default()
    }

    pub fn device(&self, device: &DeviceId) -> Option<Device> {
        self.devices.get(device).cloned()
    }

    /// All devices, in id order.
    pub fn devices(&self) -> impl Iterator<Item = (&DeviceId, &Device)> {
        self.devices.committed().iter()
    }

    pub fn epoch_summary(&self, epoch: u64) -> Option<EpochSummary> {
        self.epochs.get(&epoch).cloned()
    }

    pub fn reward(&self, epoch: u64, device: &DeviceId) -> Option<RewardRecord> {
        self.rewards.get(&(epoch, device.clone())).cloned()
    }

    /// A beacon by its id (the payload its radio sent).
    pub fn beacon(&self, id: &Digest) -> Option<BeaconRecord> {
        self.beacons.get(id).cloned()
    }

    /// The `index`-th valid witness report of a beacon.
    pub fn witness_record(&self, beacon: &Digest, index: u8) -> Option<WitnessRecord> {
        self.witnesses.get(&BeaconWitness(*beacon, index)).cloned()
    }

    /// A wireless device's beacon and witness history (empty for other devices).
    pub fn coverage_activity(&self, device: &DeviceId) -> CoverageActivity {
        self.coverage.get(device).cloned().unwrap_or_default()
    }

    pub(crate) fn put_beacon(&mut self, id: Digest, record: BeaconRecord) {
        self.beacons.put(id, record);
    }

    pub(crate) fn put_witness_record(&mut self, beacon: Digest, index: u8, record: WitnessRecord) {
        self.witnesses.put(BeaconWitness(beacon, index), record);
    }

    pub(crate) fn put_coverage_activity(&mut self, device: DeviceId, activity: CoverageActivity) {
        self.coverage.put(device, activity);
    }

    /// Work units a device has so far in the open epoch.
    pub fn pending_work(&self, device: &DeviceId) -> u64 {
        let epoch = self.epoch_of(self.height().saturating_add(1));
        self.epoch_work
            .get(&(epoch, device.clone()))
            .copied()
            .unwrap_or(0)
    }

    /// The epoch a height belongs to. Epoch `e` holds heights `e·L+1 ..= (e+1)·L`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.params.epoch_length_blocks
    }

    /// Number of epochs that have ended.
    pub fn epochs_ended(&self) -> u64 {
        self.height() / self.params.epoch_length_blocks
    }

    /// The hash of a recent block by height, if still in the heartbeat history.
    pub fn recent_block(&self, height: u64) -> Option<Digest> {
        self.block_by_height.get(&height).copied()
    }

    /// The header fields of the next block, for proposers and tests. `state_root` is the
    /// authenticated root the node computed after the current height.
    pub fn next_header(
        &self,
        proposer: AccountPublicKey,
        timestamp_ms: u64,
        state_root: Digest,
        transactions: &[Transaction],
    ) -> BlockHeader {
        let info = self.chain_info();
        BlockHeader {
            parent: info.last_block,
            height: info.height.saturating_add(1),
            timestamp_ms,
            proposer,
            state_root,
            transactions_root: Block::compute_transactions_root(transactions),
        }
    }

    /// Explains a device's reward for an ended epoch: every input and step.
    pub fn explain(
        &self,
        device: &DeviceId,
        epoch: u64,
    ) -> Result<RewardExplanation, ExplainError> {
        let ended = self.epochs_ended();
        if epoch >= ended {
            return Err(ExplainError::EpochNotEnded {
                epoch,
                current: self.epoch_of(self.height().saturating_add(1)),
            });
        }
        let record = self
            .reward(epoch, device)
            .ok_or_else(|| ExplainError::NoReward {
                device: device.clone(),
                epoch,
            })?;
        let (emission, halvings) = epoch_emission(&self.params, epoch);
        let mut explanation = RewardExplanation {
            epoch,
            device: device.to_string(),
            owner: record.owner.to_string(),
            kind: record.kind,
            initial_emission: self.params.initial_emission_per_epoch,
            halving_interval_epochs: self.params.halving_interval_epochs,
            halvings,
            emission,
            coverage_share_bps: self.params.coverage.share_bps,
            kinds_emission: emission
                .checked_sub(
                    coverage_pool(emission, self.params.coverage.share_bps).unwrap_or(Amount::ZERO),
                )
                .unwrap_or(emission),
            weight_bps: self.params.reward_weights_bps[record.kind.index()],
            pool: record.pool,
            work_units: record.work_units,
            kind_total_units: record.kind_total_units,
            amount: record.amount,
            steps: Vec::new(),
        };
        explanation.describe();
        Ok(explanation)
    }

    // ---- execution -----------------------------------------------------------------------

    /// Executes one block. On `Err` the state is exactly as before.
    pub fn execute(&mut self, block: &Block) -> Result<BlockOutcome, BlockError> {
        let (receipts, epoch_ended) = self.run_block(block)?;
        let write_set = self.finish_block();
        Ok(BlockOutcome {
            height: block.header.height,
            block: block.digest(),
            receipts,
            write_set,
            epoch_ended,
        })
    }

    /// Whether `block` would execute, with everything [`Self::execute`] checks and does, the
    /// epoch's end included; the state is left as it was either way. Validators ask this of a
    /// proposal before they vote for it, since a finalized block that fails to execute would
    /// stop every one of them.
    pub fn check_block(&mut self, block: &Block) -> Result<(), BlockError> {
        let result = self.run_block(block).map(|_| ());
        self.rollback_block();
        result
    }

    /// Runs a block into the block layer: receipts and the epoch it ended. On `Err` the
    /// layers are rolled back.
    fn run_block(&mut self, block: &Block) -> Result<(Vec<Receipt>, Option<u64>), BlockError> {
        // Between blocks the layers are empty; make sure of it, so that nothing a panicked
        // trial left behind can be committed with this block.
        self.rollback_block();
        // Each transaction is hashed once: for the root check and for its receipt.
        let hashes: Vec<Digest> = block.transactions.iter().map(Transaction::hash).collect();
        self.check_header(block, &hashes)?;
        let height = block.header.height;
        let block_digest = block.digest();
        let batch_ok = crate::signatures::batch_verify_ed25519(
            &self.params.chain_id,
            &block.transactions,
            &block_digest,
        );

        let mut receipts = Vec::with_capacity(block.transactions.len());
        for (index, (transaction, hash)) in block.transactions.iter().zip(&hashes).enumerate() {
            let check = SignatureCheck::Ed25519Batch(batch_ok);
            match self.run_transaction(transaction, height, check) {
                Ok(result) => receipts.push(Receipt {
                    transaction: *hash,
                    result,
                }),
                Err(error) => {
                    self.rollback_block();
                    return Err(BlockError::UnincludableTransaction {
                        index,
                        error: Box::new(error),
                    });
                }
            }
        }

        let epoch_ended = match self.end_block(block, block_digest) {
            Ok(epoch) => epoch,
            Err(error) => {
                self.rollback_block();
                return Err(error);
            }
        };
        self.commit_transaction();
        Ok((receipts, epoch_ended))
    }

    fn check_header(&self, block: &Block, hashes: &[Digest]) -> Result<(), BlockError> {
        let info = self.chain_info();
        let expected = info
            .height
            .checked_add(1)
            .ok_or(BlockError::Arithmetic { context: "height" })?;
        let header = &block.header;
        if header.height != expected {
            return Err(BlockError::WrongHeight {
                expected,
                got: header.height,
            });
        }
        if header.parent != info.last_block {
            return Err(BlockError::WrongParent);
        }
        if header.timestamp_ms < info.last_timestamp_ms {
            return Err(BlockError::TimestampNotMonotonic {
                parent: info.last_timestamp_ms,
                got: header.timestamp_ms,
            });
        }
        if block.transactions.len() > MAX_TRANSACTIONS_PER_BLOCK {
            return Err(BlockError::TooManyTransactions {
                count: block.transactions.len(),
                max: MAX_TRANSACTIONS_PER_BLOCK,
            });
        }
        if merkle_root(hashes) != header.transactions_root {
            return Err(BlockError::TransactionsRootMismatch);
        }
        Ok(())
    }

    /// Runs `transactions` as the next block would, in order, and leaves the state as it was.
    /// Returns for each either its receipt result (`Ok`, a block may carry it) or why no block
    /// may (`Err`); a transaction that may not be carried is skipped, so later ones run as if
    /// it were absent. Proposers build blocks from the `Ok` ones, and validators check a
    /// proposal with it before voting. The caller vouches that every signature was verified.
    pub fn trial_next_block(&mut self, transactions: &[Transaction]) -> Vec<TrialOutcome> {
        self.rollback_block();
        let height = self.height().saturating_add(1);
        let outcomes = transactions
            .iter()
            .map(|tx| self.run_transaction(tx, height, SignatureCheck::AllVerified))
            .collect();
        self.rollback_block();
        outcomes
    }

    /// Runs one transaction in its own layer. `Ok` carries its receipt result; `Err` means no
    /// block may carry it, and nothing was written.
    fn run_transaction(
        &mut self,
        transaction: &Transaction,
        height: u64,
        check: SignatureCheck,
    ) -> TrialOutcome {
        let preverified = check.covers(transaction);
        let report = match transaction {
            Transaction::Account(tx) => {
                return self.run_account_transaction(tx, height, preverified);
            }
            Transaction::Heartbeat(tx) => self.apply_heartbeat(tx, height, preverified),
            Transaction::Beacon(tx) => self.apply_beacon(tx, height, preverified),
            Transaction::Witness(tx) => self.apply_witness(tx, height, preverified),
        };
        // A device report pays no fee, so one that fails has no place in a block.
        match report {
            Ok(()) => {
                self.commit_transaction();
                Ok(Ok(()))
            }
            Err(error) => {
                self.rollback_transaction();
                Err(error)
            }
        }
    }

    /// An account transaction in two steps: the fee and nonce (which decide whether a block may
    /// carry it), then the action, whose failure undoes only the action.
    fn run_account_transaction(
        &mut self,
        tx: &AccountTransaction,
        height: u64,
        preverified: bool,
    ) -> TrialOutcome {
        if let Err(error) = self.charge_account_transaction(tx, height, preverified) {
            self.rollback_transaction();
            return Err(error);
        }
        self.commit_transaction();
        let result = self.apply_account_action(tx, height);
        if result.is_ok() {
            self.commit_transaction();
        } else {
            self.rollback_transaction();
        }
        Ok(result)
    }

    /// Checks what makes an account transaction includable — signature, validity window,
    /// nonce, a balance that covers the fee — then takes the fee and uses the nonce.
    fn charge_account_transaction(
        &mut self,
        tx: &AccountTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        if !preverified && !tx.verify_signature(&self.params.chain_id) {
            return Err(TxError::BadSignature);
        }
        check_validity_window(tx, height)?;
        let sender = tx.sender();
        let mut account = self.account(&sender);
        if tx.nonce != account.nonce {
            return Err(TxError::BadNonce {
                expected: account.nonce,
                got: tx.nonce,
            });
        }
        let fee = self.params.transaction_fee;
        account.balance = account
            .balance
            .checked_sub(fee)
            .ok_or(TxError::CannotPayFee {
                fee,
                available: account.balance,
            })?;
        account.nonce = account
            .nonce
            .checked_add(1)
            .ok_or(TxError::AmountOverflow { what: "nonce" })?;
        self.accounts.put(sender, account);
        let mut info = self.chain_info();
        info.treasury = info
            .treasury
            .checked_add(fee)
            .ok_or(TxError::AmountOverflow { what: "treasury" })?;
        self.info.put(Singleton, info);
        Ok(())
    }

    /// The action of an account transaction whose fee is paid: its checks, its cost, its effect.
    fn apply_account_action(
        &mut self,
        tx: &AccountTransaction,
        height: u64,
    ) -> Result<(), TxError> {
        let sender = tx.sender();
        let cost = self.check_action(&sender, &tx.action)?;
        if cost > Amount::ZERO {
            let mut account = self.account(&sender);
            account.balance =
                account
                    .balance
                    .checked_sub(cost)
                    .ok_or(TxError::InsufficientBalance {
                        needed: cost,
                        available: account.balance,
                    })?;
            self.accounts.put(sender, account);
        }
        self.apply_action(&sender, tx.nonce, &tx.action, height)
    }

    /// Checks an action against the state without changing anything; returns what it costs
    /// beyond the fee.
    fn check_action(&self, sender: &Address, action: &AccountAction) -> Result<Amount, TxError> {
        match action {
            AccountAction::Transfer { amount, .. } => {
                if *amount == Amount::ZERO {
                    return Err(TxError::ZeroAmount {
                        what: "transfer amount",
                    });
                }
                Ok(*amount)
            }
            AccountAction::BurnForCredits { recipient, credits } => {
                if *credits == 0 {
                    return Err(TxError::ZeroAmount { what: "credits" });
                }
                self.account(recipient)
                    .credits
                    .checked_add(*credits)
                    .ok_or(TxError::AmountOverflow {
                        what: "recipient's data credits",
                    })?;
                self.params
                    .data_credit_price
                    .0
                    .checked_mul(u128::from(*credits))
                    .map(Amount)
                    .ok_or(TxError::AmountOverflow {
                        what: "credits × price",
                    })
            }
            AccountAction::RegisterDevice {
                device,
                ownership_proof,
                ..
            } => {
                if self.devices.get(device).is_some() {
                    return Err(TxError::DeviceAlreadyRegistered {
                        device: device.clone(),
                    });
                }
                let namespace = self.params.chain_id.namespace(Domain::DeviceOwnership);
                if !device.verify(
                    &namespace,
                    &device_ownership_message(sender),
                    ownership_proof,
                ) {
                    return Err(TxError::BadDeviceSignature {
                        device: device.clone(),
                    });
                }
                Ok(self.params.device_bond)
            }
            AccountAction::AssertLocation { device, .. }
            | AccountAction::TransferDevice { device, .. }
            | AccountAction::DecommissionDevice { device } => {
                self.owned_active_device(sender, device)?;
                // A challenged device must stay put and keep its bond until it resolves.
                self.check_not_challenged(device)?;
                Ok(Amount::ZERO)
            }
            // The bond is taken when the challenge opens, after its evidence is checked.
            AccountAction::ChallengeLocation { .. } | AccountAction::AnswerChallenge { .. } => {
                Ok(Amount::ZERO)
            }
        }
    }

    fn owned_active_device(&self, sender: &Address, device: &DeviceId) -> Result<Device, TxError> {
        let record = self.device(device).ok_or_else(|| TxError::UnknownDevice {
            device: device.clone(),
        })?;
        if record.owner != *sender {
            return Err(TxError::NotDeviceOwner {
                device: device.clone(),
            });
        }
        if record.status != DeviceStatus::Active {
            return Err(TxError::DeviceNotActive {
                device: device.clone(),
                status: record.status.name(),
            });
        }
        Ok(record)
    }

    /// Applies an action already checked by `check_action` and paid for.
    fn apply_action(
        &mut self,
        sender: &Address,
        nonce: u64,
        action: &AccountAction,
        height: u64,
    ) -> Result<(), TxError> {
        match action {
            AccountAction::Transfer { to, amount } => {
                let mut recipient = self.account(to);
                recipient.balance =
                    recipient
                        .balance
                        .checked_add(*amount)
                        .ok_or(TxError::AmountOverflow {
                            what: "recipient balance",
                        })?;
                self.accounts.put(*to, recipient);
            }
            AccountAction::BurnForCredits { recipient, credits } => {
                let burned = Amount(
                    self.params
                        .data_credit_price
                        .0
                        .saturating_mul(u128::from(*credits)),
                );
                let mut info = self.chain_info();
                info.burned = info
                    .burned
                    .checked_add(burned)
                    .ok_or(TxError::AmountOverflow { what: "burned" })?;
                self.info.put(Singleton, info);
                let mut account = self.account(recipient);
                account.credits =
                    account
                        .credits
                        .checked_add(*credits)
                        .ok_or(TxError::AmountOverflow {
                            what: "data credits",
                        })?;
                self.accounts.put(*recipient, account);
            }
            AccountAction::RegisterDevice {
                device,
                kind,
                location,
                ..
            } => {
                let bond = self.params.device_bond;
                let mut info = self.chain_info();
                info.bonded = info
                    .bonded
                    .checked_add(bond)
                    .ok_or(TxError::AmountOverflow { what: "bonded" })?;
                self.info.put(Singleton, info);
                let record = Device {
                    owner: *sender,
                    kind: *kind,
                    location: *location,
                    bond,
                    status: DeviceStatus::Active,
                    registered_at_height: height,
                    last_heartbeat_window: None,
                    last_heartbeat_block_height: None,
                };
                self.devices.put(device.clone(), record);
            }
            AccountAction::AssertLocation { device, location } => {
                let mut record = self.owned_active_device(sender, device)?;
                self.check_new_location(device, *location)?;
                record.location = *location;
                self.devices.put(device.clone(), record);
                self.clear_dispute(device);
            }
            AccountAction::TransferDevice { device, new_owner } => {
                let mut record = self.owned_active_device(sender, device)?;
                record.owner = *new_owner;
                self.devices.put(device.clone(), record);
            }
            AccountAction::DecommissionDevice { device } => {
                let mut record = self.owned_active_device(sender, device)?;
                let release_epoch = self
                    .epoch_of(height)
                    .checked_add(self.params.unbonding_epochs)
                    .ok_or(TxError::AmountOverflow {
                        what: "release epoch",
                    })?;
                record.status = DeviceStatus::Unbonding { release_epoch };
                self.unbonding
                    .put((release_epoch, device.clone()), record.bond);
                self.devices.put(device.clone(), record);
            }
            AccountAction::ChallengeLocation { device, evidence } => {
                self.open_challenge(sender, nonce, device, evidence, height)?;
            }
            AccountAction::AnswerChallenge { challenge, beacon } => {
                self.answer_challenge(sender, challenge, beacon, height)?;
            }
        }
        Ok(())
    }

    /// The height of `block` if it is a block of this chain at most `heartbeat_max_age_blocks`
    /// older than `height`: chain entropy a device could not have known in advance.
    pub(crate) fn check_recent_block(&self, block: &Digest, height: u64) -> Result<u64, TxError> {
        let referenced_height =
            self.height_by_block
                .get(block)
                .copied()
                .ok_or_else(|| TxError::UnknownBlockHash {
                    block: hex::encode(block.as_ref()),
                })?;
        let age = height.saturating_sub(referenced_height);
        let max_age = self.params.heartbeat_max_age_blocks;
        if age > max_age {
            return Err(TxError::StaleBlockHash {
                referenced_height,
                age,
                max_age,
            });
        }
        Ok(referenced_height)
    }

    fn apply_heartbeat(
        &mut self,
        tx: &HeartbeatTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let device = tx.device.clone();
        let mut record = self.device(&device).ok_or_else(|| TxError::UnknownDevice {
            device: device.clone(),
        })?;
        if record.status != DeviceStatus::Active {
            return Err(TxError::DeviceNotActive {
                device,
                status: record.status.name(),
            });
        }
        if !preverified && !tx.verify_signature(&self.params.chain_id) {
            return Err(TxError::BadSignature);
        }
        let referenced_height = self.check_recent_block(&tx.recent_block, height)?;
        let window = height.saturating_sub(1) / self.params.heartbeat_window_blocks;
        if record.last_heartbeat_window == Some(window) {
            return Err(TxError::HeartbeatAlreadyInWindow { window });
        }
        if let Some(last) = record.last_heartbeat_block_height
            && referenced_height <= last
        {
            return Err(TxError::HeartbeatNotNewer {
                referenced_height,
                last_height: last,
            });
        }
        record.last_heartbeat_window = Some(window);
        record.last_heartbeat_block_height = Some(referenced_height);
        self.devices.put(device.clone(), record);
        let key = (self.epoch_of(height), device);
        let units = self.epoch_work.get(&key).copied().unwrap_or(0);
        self.epoch_work.put(
            key,
            units
                .checked_add(1)
                .ok_or(TxError::AmountOverflow { what: "work units" })?,
        );
        Ok(())
    }

    /// Records the block in the heartbeat history and closes the epoch if this is its last block.
    fn end_block(&mut self, block: &Block, digest: Digest) -> Result<Option<u64>, BlockError> {
        let height = block.header.height;
        self.block_by_height.put(height, digest);
        self.height_by_block.put(digest, height);
        // Keep twice the allowed age so a too-old reference is reported as stale, not unknown.
        let retention = self.params.heartbeat_max_age_blocks.saturating_mul(2);
        let expired = height.checked_sub(retention);
        if let Some((expired, old)) =
            expired.and_then(|h| self.block_by_height.get(&h).map(|d| (h, *d)))
        {
            self.block_by_height.delete(expired);
            self.height_by_block.delete(old);
        }

        let mut info = self.chain_info();
        info.height = height;
        info.last_block = digest;
        info.last_timestamp_ms = block.header.timestamp_ms;
        self.info.put(Singleton, info);

        self.resolve_challenges(height)?;
        if !height.is_multiple_of(self.params.epoch_length_blocks) {
            return Ok(None);
        }
        let epoch = self.epoch_of(height);
        self.pay_epoch_rewards(epoch, height)?;
        self.release_bonds(epoch)?;
        Ok(Some(epoch))
    }

    fn pay_epoch_rewards(&mut self, epoch: u64, height: u64) -> Result<(), BlockError> {
        let (emission, halvings) = epoch_emission(&self.params, epoch);
        let coverage_pool = coverage_pool(emission, self.params.coverage.share_bps)?;
        let kinds_emission = emission
            .checked_sub(coverage_pool)
            .ok_or(BlockError::Invariant {
                context: "coverage pool exceeds the emission",
            })?;
        let pools = split_pools(kinds_emission, &self.params.reward_weights_bps)?;

        let mut work: Vec<(DeviceId, Device, u64)> = Vec::new();
        let mut total_units = [0u64; ResourceKind::COUNT];
        for key in self.epoch_work.keys() {
            if key.0 != epoch {
                return Err(BlockError::Invariant {
                    context: "work recorded for an epoch that is not closing",
                });
            }
            let units = self.epoch_work.get(&key).copied().unwrap_or(0);
            let device = self.device(&key.1).ok_or(BlockError::Invariant {
                context: "work for an unknown device",
            })?;
            let total = &mut total_units[device.kind.index()];
            *total = total.checked_add(units).ok_or(BlockError::Arithmetic {
                context: "kind work units",
            })?;
            self.epoch_work.delete(key.clone());
            work.push((key.1, device, units));
        }

        let mut paid = Amount::ZERO;
        for (id, device, units) in &work {
            let kind = device.kind;
            let pool = pools[kind.index()];
            let amount = device_share(pool, *units, total_units[kind.index()])?;
            let mut owner = self.account(&device.owner);
            owner.balance = owner
                .balance
                .checked_add(amount)
                .ok_or(BlockError::Arithmetic { context: "reward" })?;
            self.accounts.put(device.owner, owner);
            paid = paid
                .checked_add(amount)
                .ok_or(BlockError::Arithmetic { context: "paid" })?;
            let record = RewardRecord {
                owner: device.owner,
                kind,
                work_units: *units,
                kind_total_units: total_units[kind.index()],
                pool,
                amount,
            };
            self.rewards.put((epoch, id.clone()), record);
        }

        let coverage_paid = self.pay_coverage(epoch, height, coverage_pool)?;
        let paid = paid
            .checked_add(coverage_paid)
            .ok_or(BlockError::Arithmetic { context: "paid" })?;
        let to_treasury = emission.checked_sub(paid).ok_or(BlockError::Invariant {
            context: "rewards exceed the emission",
        })?;
        let mut info = self.chain_info();
        info.minted = info
            .minted
            .checked_add(emission)
            .ok_or(BlockError::Arithmetic { context: "minted" })?;
        info.treasury = info
            .treasury
            .checked_add(to_treasury)
            .ok_or(BlockError::Arithmetic {
                context: "treasury",
            })?;
        self.info.put(Singleton, info);
        let summary = EpochSummary {
            emission,
            halvings,
            pools,
            total_units,
            devices_rewarded: work.len() as u64,
            paid,
            to_treasury,
        };
        self.epochs.put(epoch, summary);
        Ok(())
    }

    fn release_bonds(&mut self, epoch: u64) -> Result<(), BlockError> {
        let due: Vec<(u64, DeviceId)> = self
            .unbonding
            .keys()
            .into_iter()
            .take_while(|(e, _)| *e <= epoch)
            .collect();
        for key in due {
            let bond = self.unbonding.get(&key).copied().unwrap_or(Amount::ZERO);
            let mut device = self.device(&key.1).ok_or(BlockError::Invariant {
                context: "unbonding an unknown device",
            })?;
            let mut owner = self.account(&device.owner);
            owner.balance = owner
                .balance
                .checked_add(bond)
                .ok_or(BlockError::Arithmetic {
                    context: "bond return",
                })?;
            self.accounts.put(device.owner, owner);
            let mut info = self.chain_info();
            info.bonded = info.bonded.checked_sub(bond).ok_or(BlockError::Invariant {
                context: "bonded below zero",
            })?;
            self.info.put(Singleton, info);
            device.bond = Amount::ZERO;
            device.status = DeviceStatus::Decommissioned;
            self.devices.put(key.1.clone(), device);
            self.unbonding.delete(key);
        }
        Ok(())
    }

    // ---- layers and write-sets -----------------------------------------------------------

    fn commit_transaction(&mut self) {
        for_each_table!(self, table, _prefix, { table.commit_transaction() });
    }

    fn rollback_transaction(&mut self) {
        for_each_table!(self, table, _prefix, { table.rollback_transaction() });
    }

    fn rollback_block(&mut self) {
        for_each_table!(self, table, _prefix, { table.rollback_block() });
    }

    fn finish_block(&mut self) -> Vec<StateWrite> {
        let mut writes = Vec::new();
        for_each_table!(self, table, prefix, {
            collect_writes(&mut writes, prefix, table.finish_block())
        });
        writes.sort_by(|a, b| a.key.cmp(&b.key));
        writes
    }

    /// Every committed entry as (key, value) bytes, sorted by key: the genesis write-set, and
    /// what a full node's authenticated store holds.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for_each_table!(ref self, table, prefix, { dump(&mut out, prefix, table.committed()) });
        out.sort();
        out
    }

    /// A digest of the whole committed state (hash of every sorted entry). Cheap enough for
    /// tests and audits; the node's authenticated root is what goes in headers.
    pub fn state_digest(&self) -> Digest {
        let mut buf = Vec::new();
        for (key, value) in self.entries() {
            key.write(&mut buf);
            value.write(&mut buf);
        }
        hash(&buf)
    }

    /// Checks the conservation laws over committed state:
    /// supply = genesis + minted − burned, and Σ balances + Σ bonds + Σ open challenge bonds +
    /// treasury = supply.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let info = self.chain_info();
        let supply = info
            .total_supply()
            .ok_or_else(|| InvariantViolation("burned exceeds genesis plus minted".to_string()))?;
        let mut balances: u128 = 0;
        for account in self.accounts.committed().values() {
            balances = balances
                .checked_add(account.balance.0)
                .ok_or_else(|| InvariantViolation("sum of balances overflows".to_string()))?;
        }
        let mut bonds: u128 = 0;
        for device in self.devices.committed().values() {
            bonds = bonds
                .checked_add(device.bond.0)
                .ok_or_else(|| InvariantViolation("sum of bonds overflows".to_string()))?;
        }
        if bonds != info.bonded.0 {
            return Err(InvariantViolation(format!(
                "device bonds sum to {bonds}, bonded counter says {}",
                info.bonded
            )));
        }
        let mut escrow: u128 = 0;
        for challenge in self.challenges.committed().values() {
            if challenge.status == crate::challenge::ChallengeStatus::Open {
                escrow = escrow
                    .checked_add(challenge.bond.0)
                    .ok_or_else(|| InvariantViolation("sum of escrow overflows".to_string()))?;
            }
        }
        if escrow != info.escrowed.0 {
            return Err(InvariantViolation(format!(
                "open challenge bonds sum to {escrow}, escrow counter says {}",
                info.escrowed
            )));
        }
        let held = balances
            .checked_add(bonds)
            .and_then(|x| x.checked_add(escrow))
            .and_then(|x| x.checked_add(info.treasury.0))
            .ok_or_else(|| InvariantViolation("holdings overflow".to_string()))?;
        if held != supply.0 {
            return Err(InvariantViolation(format!(
                "balances {balances} + bonds {bonds} + escrow {escrow} + treasury {} = {held}, but supply is {supply}",
                info.treasury
            )));
        }
        Ok(())
    }
}

fn collect_writes<K: Write, V: Encode>(
    writes: &mut Vec<StateWrite>,
    table: u8,
    changes: BTreeMap<K, Option<V>>,
) {
    for (key, value) in changes {
        writes.push(StateWrite {
            key: prefixed(table, &key),
            value: value.map(|v| v.encode().to_vec()),
        });
    }
}

fn dump<K: Write, V: Encode>(
    out: &mut Vec<(Vec<u8>, Vec<u8>)>,
    table: u8,
    entries: &BTreeMap<K, V>,
) {
    for (key, value) in entries {
        out.push((prefixed(table, key), value.encode().to_vec()));
    }
}
