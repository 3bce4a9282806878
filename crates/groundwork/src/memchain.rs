//! An in-memory chain for simulations and benchmarks: the state machine driven block by
//! block, with no consensus, network or disk.

use commonware_cryptography::Signer;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
use groundwork_primitives::{AccountKey, AccountTransaction, Block, Call, Transaction};
use groundwork_state::{BlockOutcome, State, TxError};

pub struct MemChain {
    pub state: State,
    pub proposer: AccountKey,
    pub time_ms: u64,
}

impl MemChain {
    /// A chain at genesis with `params` and `balances` (any order), one validator proposing
    /// every block, time starting at 0.
    pub fn new(
        params: groundwork_state::Params,
        mut balances: Vec<(
            groundwork_primitives::Address,
            groundwork_primitives::Amount,
        )>,
    ) -> Self {
        balances.sort();
        let proposer = AccountKey::from_seed(1);
        let genesis = groundwork_state::Genesis {
            params,
            genesis_time_ms: 0,
            balances,
            validators: vec![proposer.public_key()],
        };
        Self {
            state: State::from_genesis(&genesis),
            proposer,
            time_ms: 0,
        }
    }

    /// `call` signed by `key` at `nonce` for this chain, valid as long as a transaction may be.
    pub fn sign(&self, key: &AccountKey, nonce: u64, call: Call) -> Transaction {
        Transaction::Account(AccountTransaction::sign(
            key,
            &self.state.params().core.chain_id,
            nonce,
            MAX_TRANSACTION_LIFETIME_BLOCKS,
            call,
        ))
    }

    /// Executes the next block, holding `transactions`, and fails naming `what` if any of
    /// them was refused. Returns how long the block took, in seconds.
    pub fn execute_all(
        &mut self,
        transactions: Vec<Transaction>,
        what: &str,
    ) -> anyhow::Result<f64> {
        let started = std::time::Instant::now();
        let outcome = self.execute(transactions)?;
        let seconds = started.elapsed().as_secs_f64().max(1e-9);
        if let Some(r) = outcome.receipts.iter().find(|r| r.result.is_err()) {
            anyhow::bail!("{what} failed: {:?}", r.result);
        }
        Ok(seconds)
    }

    /// Executes the next block, holding `transactions`.
    pub fn execute(&mut self, transactions: Vec<Transaction>) -> anyhow::Result<BlockOutcome> {
        self.time_ms += 1_000;
        let header = self.state.next_header(
            self.proposer.public_key(),
            self.time_ms,
            Digest::from([0u8; 32]),
            &transactions,
        );
        let block = Block {
            header,
            transactions,
        };
        self.state
            .execute(&block)
            .map_err(|e| anyhow::anyhow!("simulated block refused: {e}"))
    }

    /// Does what a proposer does with `candidates` (all signed correctly): runs them as the
    /// next block would, executes a block of those a block may carry, and returns it with the
    /// reasons the others were left out.
    pub fn propose(
        &mut self,
        candidates: Vec<Transaction>,
    ) -> anyhow::Result<(BlockOutcome, Vec<TxError>)> {
        let outcomes = self.state.trial_next_block(&candidates);
        let mut chosen = Vec::with_capacity(candidates.len());
        let mut left_out = Vec::new();
        for (transaction, outcome) in candidates.into_iter().zip(outcomes) {
            match outcome {
                Ok(_) => chosen.push(transaction),
                Err(error) => left_out.push(error),
            }
        }
        Ok((self.execute(chosen)?, left_out))
    }
}

/// A benchmark chain's parameters: the local ones, with `oracle` the one price oracle (a
/// quorum of one, prices fresh for 1 000 blocks), so a benchmark sets its own price.
pub fn bench_params(oracle: &AccountKey) -> anyhow::Result<groundwork_state::Params> {
    let mut params = crate::genesis_cmd::local_params("groundwork-bench", Some(6_000))?;
    params.oracle = groundwork_state::OracleParams {
        accounts: vec![groundwork_primitives::keyfile::key_address(oracle)],
        quorum: 1,
        max_age_blocks: 1_000,
        smoothing_window_blocks: 10,
    };
    Ok(params)
}
