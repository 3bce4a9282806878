//! What the node's tasks share: the executed state, the executed tip and recent tips, the
//! mempool, and recent receipts. The executor is the only writer of state and tips.
//!
//! Locks are never held across an await point.

use crate::mempool::{Mempool, MempoolConfig, MempoolError};
use commonware_utils::channel::{mpsc, watch};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, Transaction};
use groundwork_state::CoreError;
use groundwork_state::signatures::verify_signatures;
use groundwork_state::{BlockOutcome, Genesis, State, TxError};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, RwLock};
use tracing::debug;

/// How many executed tips are remembered for verifying children of not-quite-latest parents.
const RECENT_TIPS: usize = 256;
/// How many blocks of receipts are kept in memory.
const RECENT_RECEIPT_BLOCKS: usize = 4_096;

/// An executed block: its height, digest, timestamp, and the state root after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    pub height: u64,
    pub block: Digest,
    pub timestamp_ms: u64,
    pub state_root: Digest,
}

/// An executed block as subscribers see it: its tip and what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    pub tip: Tip,
    pub transactions: u32,
    /// Transactions the state machine rejected.
    pub failed: u32,
    /// The epoch this block ended (its rewards were paid in this block).
    pub epoch_ended: Option<u64>,
}

/// Whether a block at `height` could carry `tx` as far as the mempool can tell from the
/// latest state: inside its validity window, with the fees of it and of the `queued`
/// transactions its account already has pending in the account (so pending transactions
/// are always paid for, and a key cannot fill the pool beyond what it can pay).
fn account_admission(
    tx: &groundwork_primitives::AccountTransaction,
    height: u64,
    balance: groundwork_primitives::Amount,
    fee: groundwork_primitives::Amount,
    queued: usize,
) -> Result<(), Box<TxError>> {
    groundwork_state::check_validity_window(tx, height).map_err(Box::new)?;
    let count = u128::try_from(queued)
        .unwrap_or(u128::MAX)
        .saturating_add(1);
    let fees = groundwork_primitives::Amount(fee.0.saturating_mul(count));
    if balance < fees {
        return Err(Box::new(TxError::Core(CoreError::CannotPayFee {
            fee: fees,
            available: balance,
        })));
    }
    Ok(())
}

/// Where a transaction ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    pub height: u64,
    /// `None` if it applied; the rejection code otherwise.
    pub error_code: Option<u16>,
    pub error: Option<String>,
}

/// Why a submitted transaction was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// Against the latest executed state no block could carry it: an account transaction that
    /// cannot pay its fee or is outside its validity window, or a device report that fails.
    #[error("{0}")]
    Unincludable(Box<TxError>),
}

/// Inclusions by transaction hash, and the hashes of each recent block in order (to forget
/// the oldest block's receipts first).
type RecentReceipts = (BTreeMap<Digest, Inclusion>, VecDeque<Vec<Digest>>);

/// State shared between the executor, consensus application, gossip and RPC.
pub struct Chain {
    genesis: Genesis,
    state: RwLock<State>,
    mempool: Mutex<Mempool>,
    tip: watch::Sender<Tip>,
    recent: Mutex<BTreeMap<u64, BlockSummary>>,
    receipts: Mutex<RecentReceipts>,
    gossip: mpsc::UnboundedSender<Transaction>,
}

impl Chain {
    pub fn new(
        genesis: Genesis,
        state: State,
        tip: Tip,
        mempool: MempoolConfig,
    ) -> (Self, mpsc::UnboundedReceiver<Transaction>) {
        let (gossip, gossip_rx) = mpsc::unbounded_channel();
        let (tip_tx, _) = watch::channel(tip);
        let chain = Self {
            genesis,
            state: RwLock::new(state),
            mempool: Mutex::new(Mempool::new(mempool)),
            tip: tip_tx,
            recent: Mutex::new(BTreeMap::from([(
                tip.height,
                BlockSummary {
                    tip,
                    transactions: 0,
                    failed: 0,
                    epoch_ended: None,
                },
            )])),
            receipts: Mutex::new((BTreeMap::new(), VecDeque::new())),
            gossip,
        };
        (chain, gossip_rx)
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// Reads the executed state.
    pub fn with_state<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        let state = self
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read(&state)
    }

    /// Runs `execute` on the state (executor only).
    pub(crate) fn with_state_mut<T>(&self, write: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        write(&mut state)
    }

    pub fn tip(&self) -> Tip {
        *self.tip.borrow()
    }

    /// Subscribes to tip changes.
    pub fn subscribe(&self) -> watch::Receiver<Tip> {
        self.tip.subscribe()
    }

    /// The executed tip at `height` if it is `block`, once the executor gets there; `None` if a
    /// different block was executed at that height (or it is too old to remember).
    pub async fn executed(&self, height: u64, block: Digest) -> Option<Tip> {
        let mut tips = self.subscribe();
        // The sender lives as long as the chain, so waiting only ends when the height is reached.
        let reached = tips.wait_for(|tip| tip.height >= height).await.is_ok();
        if !reached {
            return None;
        }
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .get(&height)
            .map(|summary| summary.tip)
            .filter(|tip| tip.block == block)
    }

    /// Records an executed block (executor only): receipts, mempool pruning, then the tip,
    /// so that anyone woken by the tip sees a pruned mempool.
    pub(crate) fn record(&self, tip: Tip, outcome: &BlockOutcome) {
        {
            let mut receipts = self.receipts.lock().unwrap_or_else(|p| p.into_inner());
            let (index, order) = &mut *receipts;
            let mut hashes = Vec::with_capacity(outcome.receipts.len());
            for receipt in &outcome.receipts {
                let (error_code, error) = match &receipt.result {
                    Ok(()) => (None, None),
                    Err(e) => (Some(e.code()), Some(e.to_string())),
                };
                index.insert(
                    receipt.transaction,
                    Inclusion {
                        height: tip.height,
                        error_code,
                        error,
                    },
                );
                hashes.push(receipt.transaction);
            }
            order.push_back(hashes);
            while order.len() > RECENT_RECEIPT_BLOCKS {
                for hash in order.pop_front().unwrap_or_default() {
                    index.remove(&hash);
                }
            }
        }
        let included: Vec<Digest> = outcome.receipts.iter().map(|r| r.transaction).collect();
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            let mut mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
            mempool.prune(&included, tip.height, |a| state.account(a).nonce);
        }
        {
            let failed = outcome
                .receipts
                .iter()
                .filter(|r| r.result.is_err())
                .count();
            let summary = BlockSummary {
                tip,
                transactions: u32::try_from(outcome.receipts.len()).unwrap_or(u32::MAX),
                failed: u32::try_from(failed).unwrap_or(u32::MAX),
                epoch_ended: outcome.epoch_ended,
            };
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.insert(tip.height, summary);
            while recent.len() > RECENT_TIPS {
                recent.pop_first();
            }
        }
        self.tip.send_replace(tip);
    }

    /// A recently executed tip by height (the last few hundred are kept).
    pub fn tip_at(&self, height: u64) -> Option<Tip> {
        self.summary_at(height).map(|summary| summary.tip)
    }

    /// A recently executed block's summary by height (the last few hundred are kept).
    pub fn summary_at(&self, height: u64) -> Option<BlockSummary> {
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&height)
            .copied()
    }

    /// Where a recently executed transaction landed.
    pub fn inclusion(&self, hash: &Digest) -> Option<Inclusion> {
        self.receipts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .get(hash)
            .cloned()
    }

    fn next_nonce(state: &State, address: &Address) -> u64 {
        state.account(address).nonce
    }

    fn admit(&self, transaction: Transaction, bytes: usize) -> Result<Digest, SubmitError> {
        let valid = transaction.verify_signature(&self.genesis.params.core.chain_id);
        let mut results = self.admit_checked(vec![(transaction, bytes)], &[valid]);
        results
            .pop()
            .unwrap_or(Err(MempoolError::BadSignature.into()))
    }

    /// Admits transactions, given whether each one's signature is valid, after the checks
    /// against the latest executed state that decide whether a block could carry them:
    ///
    /// * an account transaction must be inside its validity window at the next height, and its
    ///   account must hold the fees of it and of every transaction it already has pending
    ///   (what its actions cost is checked when it is proposed);
    /// * device reports run, in order, as the next block would run them, and one that fails is
    ///   refused with the chain's reason: a failed device report pays nothing, so it has no
    ///   place in a block.
    fn admit_checked(
        &self,
        transactions: Vec<(Transaction, usize)>,
        signatures_valid: &[bool],
    ) -> Vec<Result<Digest, SubmitError>> {
        // Reports already pending (a peer's gossip of what a client sent) skip the trial; the
        // mempool refuses them as duplicates below.
        let pending: Vec<bool> = {
            let mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
            transactions
                .iter()
                .map(|(tx, _)| mempool.contains(&tx.hash()))
                .collect()
        };
        let reports: Vec<Transaction> = transactions
            .iter()
            .zip(signatures_valid.iter().zip(&pending))
            .filter(|((tx, _), (valid, pending))| {
                **valid && !**pending && !matches!(tx, Transaction::Account(_))
            })
            .map(|((tx, _), _)| tx.clone())
            .collect();
        let mut report_outcomes = if reports.is_empty() {
            Vec::new()
        } else {
            self.with_state_mut(|state| state.trial_next_block(&reports))
        }
        .into_iter();
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let height = state.height();
        let fee = self.genesis.params.core.transaction_fee;
        let mut mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
        let mut results = Vec::with_capacity(transactions.len());
        for (((transaction, bytes), valid), pending) in
            transactions.into_iter().zip(signatures_valid).zip(pending)
        {
            if !valid {
                results.push(Err(MempoolError::BadSignature.into()));
                continue;
            }
            let verdict = match &transaction {
                Transaction::Account(tx) => {
                    let sender = tx.sender();
                    let balance = state.account(&sender).balance;
                    let queued = mempool.pending_from(&sender);
                    account_admission(tx, height.saturating_add(1), balance, fee, queued)
                }
                _ if pending => Ok(()),
                _ => match report_outcomes.next() {
                    Some(Err(error)) => Err(Box::new(error)),
                    _ => Ok(()),
                },
            };
            let result = match verdict {
                Err(error) => Err(SubmitError::Unincludable(error)),
                Ok(()) => mempool
                    .add(transaction, bytes, height, |a| Self::next_nonce(&state, a))
                    .map_err(SubmitError::from),
            };
            results.push(result);
        }
        results
    }

    /// Admits a transaction from a client and queues it for gossip to the other validators.
    pub fn submit(&self, transaction: Transaction, bytes: usize) -> Result<Digest, SubmitError> {
        let hash = self.admit(transaction.clone(), bytes)?;
        // The gossip task owns the receiver for the node's lifetime; a closed channel only
        // means the node is shutting down.
        let _ = self.gossip.send(transaction);
        Ok(hash)
    }

    /// Admits many transactions from a client, checking their signatures in one batch, and
    /// queues the admitted ones for gossip. One result per transaction, in order.
    pub fn submit_batch(
        &self,
        transactions: Vec<(Transaction, usize)>,
    ) -> Vec<Result<Digest, SubmitError>> {
        let only: Vec<Transaction> = transactions.iter().map(|(tx, _)| tx.clone()).collect();
        let seed_parts: Vec<Digest> = only.iter().map(Transaction::hash).collect();
        let seed = groundwork_primitives::hash::merkle_root(&seed_parts);
        let verdicts = verify_signatures(&self.genesis.params.core.chain_id, &only, &seed);
        let results = self.admit_checked(transactions, &verdicts);
        for (transaction, result) in only.into_iter().zip(&results) {
            if result.is_ok() {
                let _ = self.gossip.send(transaction);
            }
        }
        results
    }

    /// Admits a transaction gossiped by a peer (not gossiped again).
    pub fn admit_from_peer(
        &self,
        transaction: Transaction,
        bytes: usize,
    ) -> Result<Digest, SubmitError> {
        self.admit(transaction, bytes)
    }

    /// Transactions for the block after `parent`: the mempool's pick, run as that block would
    /// run them, keeping only those a block may carry. What no block may carry leaves the
    /// mempool, except transactions refused only for a nonce an earlier refusal left unused.
    /// If `parent` is not the executed tip (a proposal on a parent whose root was computed
    /// speculatively) nothing can be checked, so nothing is proposed.
    pub fn select_transactions(
        &self,
        parent: &Digest,
        max_count: usize,
        max_bytes: usize,
    ) -> Vec<Transaction> {
        self.with_state_mut(|state| {
            if state.chain_info().last_block != *parent {
                return Vec::new();
            }
            let candidates = {
                let mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
                mempool.select(max_count, max_bytes, |a| Self::next_nonce(state, a))
            };
            let outcomes = state.trial_next_block(&candidates);
            let mut chosen = Vec::with_capacity(candidates.len());
            let mut dropped = Vec::new();
            for (transaction, outcome) in candidates.into_iter().zip(outcomes) {
                match outcome {
                    Ok(_) => chosen.push(transaction),
                    Err(TxError::Core(CoreError::BadNonce { .. })) => {}
                    Err(error) => {
                        debug!(transaction = %transaction.hash(), %error, "dropped from the mempool");
                        dropped.push(transaction.hash());
                    }
                }
            }
            if !dropped.is_empty() {
                let mut mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
                mempool.drop_unincludable(&dropped);
            }
            chosen
        })
    }

    /// Whether `block` executes on the executed tip, which must be its parent (`None` if the
    /// tip is another block): everything finalization will do, run now and rolled back.
    pub fn check_proposal(
        &self,
        block: &groundwork_primitives::Block,
    ) -> Option<Result<(), groundwork_state::BlockError>> {
        self.with_state_mut(|state| {
            if state.chain_info().last_block != block.header.parent {
                return None;
            }
            Some(state.check_block(block))
        })
    }

    /// `address`'s next nonce counting what it has pending here: the nonce a wallet should
    /// sign its next transaction with.
    pub fn pending_nonce(&self, address: &Address) -> u64 {
        let next = self.with_state(|state| state.account(address).nonce);
        let mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
        mempool.next_nonce_after_pending(address, next)
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
