//! What the node's tasks share: the executed state, the executed tip and recent tips, the
//! mempool, and recent receipts. The executor is the only writer of state and tips.
//!
//! Locks are never held across an await point.

use crate::mempool::{Mempool, MempoolConfig, MempoolError};
use commonware_utils::channel::{mpsc, watch};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{Address, Transaction};
use groundwork_state::signatures::verify_signatures;
use groundwork_state::{BlockOutcome, Genesis, State};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, RwLock};

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
        if !transaction.verify_signature(&self.genesis.params.chain_id) {
            return Err(MempoolError::BadSignature.into());
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let height = state.height();
        let mut mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
        Ok(mempool.add(transaction, bytes, height, |a| Self::next_nonce(&state, a))?)
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
        let verdicts = verify_signatures(&self.genesis.params.chain_id, &only, &seed);
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let height = state.height();
        let mut mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
        let mut results = Vec::with_capacity(transactions.len());
        for ((transaction, bytes), valid) in transactions.into_iter().zip(verdicts) {
            if !valid {
                results.push(Err(MempoolError::BadSignature.into()));
                continue;
            }
            let result = mempool.add(transaction.clone(), bytes, height, |a| {
                Self::next_nonce(&state, a)
            });
            if result.is_ok() {
                let _ = self.gossip.send(transaction);
            }
            results.push(result.map_err(SubmitError::from));
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

    /// Transactions for the next block.
    pub fn select_transactions(&self, max_count: usize, max_bytes: usize) -> Vec<Transaction> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        let mempool = self.mempool.lock().unwrap_or_else(|p| p.into_inner());
        mempool.select(max_count, max_bytes, |a| Self::next_nonce(&state, a))
    }

    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
