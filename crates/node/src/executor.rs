//! The executor: applies finalized blocks, in height order, to the state and the store.
//!
//! Marshal delivers each finalized block with an acknowledgement; the executor acknowledges
//! only after the block's writes are committed, so a crash at any point leaves marshal able to
//! redeliver what the store lacks. Redelivered blocks at or below the stored height are
//! acknowledged without being applied again.
//!
//! A finalized block that does not fit the local state (wrong state root, or a block the state
//! machine refuses) means this node diverged from the network: the executor stops rather than
//! continue on a different state.

use crate::block::ChainBlock;
use crate::chain::{Chain, Tip};
use crate::proof::{ProofError, StateProof};
use crate::storage::{StateStore, StoredTip};
use commonware_consensus::Reporter;
use commonware_consensus::marshal::Update;
use commonware_runtime::telemetry::metrics::{Counter, Gauge, Histogram, MetricsExt};
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use commonware_utils::Acknowledgement;
use commonware_utils::acknowledgement::Exact;
use commonware_utils::channel::{mpsc, oneshot};
use groundwork_primitives::hash::Digest;
use std::sync::Arc;
use tracing::{error, info, warn};

/// A request to compute the state root after not-yet-finalized blocks.
pub struct Speculation {
    /// Consecutive blocks, oldest first; those at or below the executed tip are skipped.
    pub blocks: Vec<ChainBlock>,
    pub reply: oneshot::Sender<Option<Digest>>,
}

/// Asks the executor for speculative state roots.
#[derive(Clone)]
pub struct Speculator {
    sender: mpsc::UnboundedSender<Speculation>,
}

impl Speculator {
    /// The state root after the last of `blocks`, or `None` if they do not extend the executed
    /// chain validly.
    pub async fn root_after(&self, blocks: Vec<ChainBlock>) -> Option<Digest> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Speculation { blocks, reply }).ok()?;
        answer.await.ok().flatten()
    }
}

/// A request for a state proof.
struct ProofRequest {
    state_key: Vec<u8>,
    reply: oneshot::Sender<Result<StateProof, ProofError>>,
}

/// Asks the executor for state proofs. The executor answers between blocks, so every proof is
/// against the root of the executed tip at that moment.
#[derive(Clone)]
pub struct Prover {
    sender: mpsc::UnboundedSender<ProofRequest>,
}

impl Prover {
    /// The value under `state_key` with its proof against the latest executed state root.
    pub async fn prove(&self, state_key: Vec<u8>) -> Result<StateProof, ProofError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(ProofRequest { state_key, reply })
            .map_err(|_| ProofError::Unavailable)?;
        answer.await.map_err(|_| ProofError::Unavailable)?
    }
}

/// Sends finalized blocks to the executor. Marshal's reporter.
#[derive(Clone)]
pub struct ExecutorMailbox {
    sender: mpsc::UnboundedSender<(ChainBlock, Exact)>,
}

impl Reporter for ExecutorMailbox {
    type Activity = Update<ChainBlock>;

    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        match activity {
            Update::Block(block, ack) => {
                if self.sender.send((block.inner().clone(), ack)).is_err() {
                    return commonware_actor::Feedback::Closed;
                }
            }
            Update::Tip(..) => {}
        }
        commonware_actor::Feedback::Ok
    }
}

struct ExecutorMetrics {
    height: Gauge,
    transactions: Counter,
    failed_transactions: Counter,
    execution_seconds: Histogram,
    mempool_size: Gauge,
}

/// Why a finalized block could not be applied; execution stops, since every later block
/// builds on it.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("block {height} does not extend executed block {executed}")]
    NotNext { height: u64, executed: u64 },
    #[error("block {height} claims state root {claimed}, the local state root is {local}")]
    StateRootMismatch {
        height: u64,
        claimed: Digest,
        local: Digest,
    },
    #[error("the state machine refused block {height}: {error}")]
    Refused {
        height: u64,
        #[source]
        error: groundwork_state::BlockError,
    },
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
}

/// Applies finalized blocks.
pub struct Executor<E: Storage + Clock + Metrics + Spawner> {
    context: E,
    chain: Arc<Chain>,
    store: StateStore<E>,
    receiver: mpsc::UnboundedReceiver<(ChainBlock, Exact)>,
    speculations: mpsc::UnboundedReceiver<Speculation>,
    proofs: mpsc::UnboundedReceiver<ProofRequest>,
    metrics: ExecutorMetrics,
}

impl<E: Storage + Clock + Metrics + Spawner> Executor<E> {
    pub fn new(
        context: E,
        chain: Arc<Chain>,
        store: StateStore<E>,
    ) -> (Self, ExecutorMailbox, Speculator, Prover) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let (speculator, speculations) = mpsc::unbounded_channel();
        let (prover, proofs) = mpsc::unbounded_channel();
        let metrics = ExecutorMetrics {
            height: context.gauge(
                "finalized_height",
                "Height of the last executed finalized block",
            ),
            transactions: context.counter(
                "finalized_transactions",
                "Transactions in executed finalized blocks",
            ),
            failed_transactions: context.counter(
                "failed_transactions",
                "Finalized transactions that were rejected",
            ),
            execution_seconds: context.histogram(
                "block_execution_seconds",
                "Time to execute a block and commit its writes",
                [
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ],
            ),
            mempool_size: context.gauge("mempool_size", "Transactions waiting in the mempool"),
        };
        metrics.height.set(chain.tip().height as i64);
        let executor = Self {
            context,
            chain,
            store,
            receiver,
            speculations,
            proofs,
            metrics,
        };
        (
            executor,
            ExecutorMailbox { sender },
            Speculator { sender: speculator },
            Prover { sender: prover },
        )
    }

    pub async fn run(mut self) {
        loop {
            commonware_macros::select! {
                delivery = self.receiver.recv() => {
                    let Some((block, ack)) = delivery else { return };
                    if let Err(reason) = self.apply(&block).await {
                        error!(height = block.height_u64(), %reason, "cannot apply a finalized block; stopping execution");
                        return;
                    }
                    ack.acknowledge();
                },
                request = self.speculations.recv() => {
                    let Some(request) = request else { continue };
                    let root = self.speculate(request.blocks).await;
                    let _ = request.reply.send(root);
                },
                request = self.proofs.recv() => {
                    let Some(request) = request else { continue };
                    let _ = request.reply.send(self.prove(request.state_key).await);
                },
            }
        }
    }

    async fn prove(&self, state_key: Vec<u8>) -> Result<StateProof, ProofError> {
        let tip = self.chain.tip();
        let (value, proof) = self.store.prove(&state_key).await?;
        Ok(StateProof {
            height: tip.height,
            root: tip.state_root,
            key: state_key,
            value,
            proof,
        })
    }

    async fn speculate(&mut self, blocks: Vec<ChainBlock>) -> Option<Digest> {
        let tip = self.chain.tip();
        let last = blocks.last()?;
        if last.height_u64() <= tip.height {
            return self
                .chain
                .tip_at(last.height_u64())
                .filter(|t| t.block == last.digest_value())
                .map(|t| t.state_root);
        }
        let pending: Vec<ChainBlock> = blocks
            .into_iter()
            .filter(|b| b.height_u64() > tip.height)
            .collect();
        let first = pending.first()?;
        if first.height_u64() != tip.height + 1 || first.block().header.parent != tip.block {
            return None;
        }
        let mut state = self.chain.with_state(|s| s.clone());
        match self
            .store
            .speculate(&mut state, &pending, tip.state_root)
            .await
        {
            Ok(root) => root,
            Err(error) => {
                warn!(%error, "speculative execution failed");
                None
            }
        }
    }

    async fn apply(&mut self, block: &ChainBlock) -> Result<(), ApplyError> {
        let tip = self.chain.tip();
        let header = &block.block().header;
        if header.height <= tip.height {
            return Ok(());
        }
        if header.height != tip.height + 1 || header.parent != tip.block {
            return Err(ApplyError::NotNext {
                height: header.height,
                executed: tip.height,
            });
        }
        if header.state_root != tip.state_root {
            return Err(ApplyError::StateRootMismatch {
                height: header.height,
                claimed: header.state_root,
                local: tip.state_root,
            });
        }
        let started = self.context.current();
        let outcome = self
            .chain
            .with_state_mut(|state| state.execute(block.block()))
            .map_err(|error| ApplyError::Refused {
                height: header.height,
                error,
            })?;
        let stored = StoredTip {
            height: header.height,
            block: block.digest_value(),
        };
        let state_root = self
            .store
            .apply_write_set(&outcome.write_set, stored)
            .await?;
        let new_tip = Tip {
            height: header.height,
            block: stored.block,
            timestamp_ms: header.timestamp_ms,
            state_root,
        };
        self.chain.record(new_tip, &outcome);

        let failed = outcome
            .receipts
            .iter()
            .filter(|r| r.result.is_err())
            .count() as u64;
        self.metrics.height.set(header.height as i64);
        self.metrics
            .transactions
            .inc_by(outcome.receipts.len() as u64);
        self.metrics.failed_transactions.inc_by(failed);
        self.metrics
            .mempool_size
            .set(self.chain.mempool_len() as i64);
        if let Ok(elapsed) = self.context.current().duration_since(started) {
            self.metrics
                .execution_seconds
                .observe(elapsed.as_secs_f64());
        }
        if let Some(epoch) = outcome.epoch_ended {
            info!(epoch, height = header.height, "epoch ended; rewards paid");
        }
        Ok(())
    }
}
