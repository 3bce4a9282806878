//! The consensus application: what to propose and whether a proposal is valid.
//!
//! A header carries the state root after its parent, so both proposing and verifying wait until
//! the local executor has executed the parent (it must be finalized first). Validators never
//! execute speculatively; the cost is that a block is proposed only once its parent is final,
//! which simplex reaches within a network round trip.

use crate::block::ChainBlock;
use crate::chain::Chain;
use crate::engine::MarshalMailbox;
use crate::executor::Speculator;
use commonware_consensus::Application;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::types::Height;
use commonware_cryptography::{Digested, Digestible, ed25519};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Metrics, Spawner};
use commonware_utils::vec::NonEmptyVec;
use futures::StreamExt;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::limits::{MAX_BLOCK_BYTES, MAX_TRANSACTIONS_PER_BLOCK};
use groundwork_primitives::{Block, BlockHeader};
use groundwork_state::signatures::verify_signatures;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{debug, warn};

/// How far ahead of a validator's clock a block's timestamp may be.
pub const MAX_TIMESTAMP_DRIFT_MS: u64 = 5_000;
/// Room left in a block for the header and length prefix.
const BLOCK_OVERHEAD_BYTES: usize = 1_024;

pub fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How long to wait for a parent's normal execution before computing its root speculatively.
const SPECULATE_AFTER: Duration = Duration::from_millis(300);
/// How often to retry while a parent's root cannot be had.
const FINALIZATION_HINT_INTERVAL: Duration = Duration::from_millis(500);

/// Proposes and verifies blocks for simplex (through marshal's inline wrapper).
#[derive(Clone)]
pub struct ChainApplication {
    chain: Arc<Chain>,
    marshal: MarshalMailbox,
    speculator: Speculator,
    validators: NonEmptyVec<ed25519::PublicKey>,
    /// Least time between a parent's timestamp and its child's.
    block_time: Duration,
}

impl ChainApplication {
    pub fn new(
        chain: Arc<Chain>,
        marshal: MarshalMailbox,
        speculator: Speculator,
        validators: NonEmptyVec<ed25519::PublicKey>,
        block_time: Duration,
    ) -> Self {
        Self {
            chain,
            marshal,
            speculator,
            validators,
            block_time,
        }
    }

    /// The state root after `parent`, which the child's header must carry.
    ///
    /// Normally the parent is finalized and executed within a moment. If not by
    /// [`SPECULATE_AFTER`] — after a crash a notarized parent's finalization can be lost for
    /// good, and consensus still builds on it — the root is computed speculatively: the blocks
    /// from the executed tip up to the parent (taken from `ancestry`) run on a copy of the state
    /// and on unapplied store batches. Marshal is also told that peers may hold the parent's
    /// finalization.
    ///
    /// Also returns the unexecuted blocks, oldest first, that the speculative path ran (empty
    /// when the parent was executed), so a child can be checked on top of them.
    async fn parent_root<E: Clock>(
        &self,
        runtime: &E,
        parent: &ChainBlock,
        ancestry: &mut impl Ancestry<ChainBlock>,
    ) -> Option<(Digest, Vec<ChainBlock>)> {
        let (height, digest) = (parent.height_u64(), parent.digest_value());
        let executed = |tip: Option<crate::chain::Tip>| tip.map(|t| (t.state_root, Vec::new()));
        commonware_macros::select! {
            tip = self.chain.executed(height, digest) => return executed(tip),
            _ = runtime.sleep(SPECULATE_AFTER) => {},
        }
        // Newest first: the parent, then its ancestors as far down as needed.
        let mut unexecuted = vec![parent.clone()];
        loop {
            self.marshal
                .hint_finalized(Height::new(height), self.validators.clone());
            let tip = self.chain.tip();
            if height <= tip.height {
                return executed(self.chain.tip_at(height).filter(|t| t.block == digest));
            }
            while unexecuted.last()?.height_u64() > tip.height + 1 {
                unexecuted.push(ancestry.next().await?.inner().clone());
            }
            let oldest_first: Vec<ChainBlock> = unexecuted
                .iter()
                .rev()
                .filter(|b| b.height_u64() > tip.height)
                .cloned()
                .collect();
            if let Some(root) = self.speculator.root_after(oldest_first.clone()).await {
                debug!(
                    height,
                    "state root of an unfinalized parent computed speculatively"
                );
                return Some((root, oldest_first));
            }
            // The tip moved meanwhile, or the parent is not on the executed chain: wait and retry.
            commonware_macros::select! {
                tip = self.chain.executed(height, digest) => return executed(tip),
                _ = runtime.sleep(FINALIZATION_HINT_INTERVAL) => {},
            }
        }
    }

    /// Whether a block may carry every transaction of `candidate`: run on the executed parent,
    /// or, when the parent's root was computed speculatively, on top of `unexecuted`. A block
    /// carrying what no block may would stop every validator's executor, so it gets no vote.
    async fn includable(&self, candidate: &ChainBlock, mut unexecuted: Vec<ChainBlock>) -> bool {
        let height = candidate.height_u64();
        let verdict = if unexecuted.is_empty() {
            self.chain.check_proposal(candidate.block())
        } else {
            None
        };
        match verdict {
            Some(Ok(())) => true,
            Some(Err(error)) => {
                warn!(height, %error, "rejecting proposal: it does not execute on its parent");
                false
            }
            None => {
                // The tip is not the parent: check on a copy, on top of the unexecuted blocks.
                unexecuted.push(candidate.clone());
                let valid = self.speculator.root_after(unexecuted).await.is_some();
                if !valid {
                    warn!(
                        height,
                        "rejecting proposal: it does not execute on its parent"
                    );
                }
                valid
            }
        }
    }

    fn check_structure(
        block: &Block,
        parent: &Block,
        leader: &ed25519::PublicKey,
        now_ms: u64,
    ) -> Result<(), StructureError> {
        let header = &block.header;
        if &header.proposer != leader {
            return Err(StructureError::NotTheLeader);
        }
        if block.transactions.len() > MAX_TRANSACTIONS_PER_BLOCK {
            return Err(StructureError::TooManyTransactions {
                count: block.transactions.len(),
            });
        }
        if Block::compute_transactions_root(&block.transactions) != header.transactions_root {
            return Err(StructureError::TransactionsRootMismatch);
        }
        if header.timestamp_ms < parent.header.timestamp_ms {
            return Err(StructureError::EarlierThanParent);
        }
        if header.timestamp_ms > now_ms.saturating_add(MAX_TIMESTAMP_DRIFT_MS) {
            return Err(StructureError::AheadOfClock {
                ahead_ms: header.timestamp_ms - now_ms,
            });
        }
        Ok(())
    }
}

/// Why a proposal's header or shape is refused before its transactions are run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum StructureError {
    #[error("the proposer is not the view's leader")]
    NotTheLeader,
    #[error("{count} transactions, more than a block may carry")]
    TooManyTransactions { count: usize },
    #[error("the transactions root does not match the transactions")]
    TransactionsRootMismatch,
    #[error("the timestamp is earlier than the parent's")]
    EarlierThanParent,
    #[error("the timestamp is {ahead_ms} ms ahead of the local clock")]
    AheadOfClock { ahead_ms: u64 },
}

impl<E> Application<E> for ChainApplication
where
    E: Clock + Spawner + Metrics,
{
    type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
    type Context = Context<Digest, ed25519::PublicKey>;
    type Block = ChainBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, consensus): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let mut ancestry = ancestry;
        // The stream yields the parent first, then older ancestors.
        let parent = ancestry.next().await?;
        let parent_block = parent.inner().block().clone();
        let height = parent_block.header.height;
        let Some((parent_root, _)) = self
            .parent_root(&runtime, parent.inner(), &mut ancestry)
            .await
        else {
            debug!(height, "parent is not on the executed chain; not proposing");
            return None;
        };
        if !self.block_time.is_zero() {
            let due = UNIX_EPOCH
                + Duration::from_millis(parent_block.header.timestamp_ms)
                + self.block_time;
            runtime.sleep_until(due).await;
        }
        let timestamp_ms = millis(runtime.current()).max(parent_block.header.timestamp_ms);
        let transactions = self.chain.select_transactions(
            &parent.digest(),
            MAX_TRANSACTIONS_PER_BLOCK,
            MAX_BLOCK_BYTES - BLOCK_OVERHEAD_BYTES,
        );
        let header = BlockHeader {
            parent: parent.digest(),
            height: height.checked_add(1)?,
            timestamp_ms,
            proposer: consensus.leader.clone(),
            state_root: parent_root,
            transactions_root: Block::compute_transactions_root(&transactions),
        };
        let block = ChainBlock::new(Block {
            header,
            transactions,
        });
        Some(Digested::compute(block, &Sequential).await)
    }

    async fn verify(
        &mut self,
        (runtime, consensus): (E, Self::Context),
        ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let mut ancestry = ancestry;
        let (Some(candidate), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        let block = candidate.inner().block();
        let parent_block = parent.inner().block();
        if let Err(reason) = Self::check_structure(
            block,
            parent_block,
            &consensus.leader,
            millis(runtime.current()),
        ) {
            warn!(height = block.header.height, %reason, "rejecting proposal");
            return false;
        }
        let chain_id = &self.chain.genesis().params.core.chain_id;
        let verdicts = verify_signatures(chain_id, &block.transactions, &candidate.digest());
        if let Some(index) = verdicts.iter().position(|valid| !valid) {
            warn!(
                height = block.header.height,
                index, "rejecting proposal: transaction with a bad signature"
            );
            return false;
        }
        let Some((parent_root, unexecuted)) = self
            .parent_root(&runtime, parent.inner(), &mut ancestry)
            .await
        else {
            debug!(
                height = block.header.height,
                "parent was not finalized; rejecting proposal"
            );
            return false;
        };
        if block.header.state_root != parent_root {
            warn!(
                height = block.header.height,
                "rejecting proposal: state root does not match the parent's"
            );
            return false;
        }
        self.includable(candidate.inner(), unexecuted).await
    }
}
