//! The state machine: `execute(block)` applies one block's transactions in order, runs the
//! block and epoch steps, and returns a receipt per transaction plus the sorted write-set of
//! every state key the block changed.
//!
//! This file only checks headers, verifies signatures in batch, runs each transaction in its
//! own layer (its envelope and the dispatch to the module that owns its message are in
//! `envelope.rs`), runs the hooks in the order below, and walks every module's tables for
//! layers, write-sets, loading and digests. What a transaction or a step does lives in its
//! module (`core`, `modules::*`).
//!
//! Hook order at the end of every block:
//! 1. core: the block becomes the head and enters the recent-block history;
//! 2. challenges: challenges due at this height resolve (slashes go through the core);
//! 3. usage: sessions whose grace window ends here return their unspent escrow;
//! 4. oracle: this height's median enters the smoothing window (and, at an epoch's last
//!    block, the epoch's price record);
//! 5. on an epoch's last block: the emission is split into program pools (`rewards`), then
//!    coverage pays the coverage pool, uptime pays each kind's pool (less the shares of
//!    wireless devices a coverage rule judged in the epoch; every reward through the
//!    challenges module, which holds a device's reward in escrow while a challenge of its
//!    location is open), usage mints its capped
//!    payments for the epoch's verified usage, the core mints the emission and sends the rest
//!    to the treasury, and bonds due are returned.
//!
//! Determinism: ordered maps only, integer arithmetic only, no clock, no randomness but the
//! batch-verification coefficients, which are seeded from the block digest and cannot change
//! an outcome (a batch that fails is re-checked one signature at a time).

use crate::core::Core;
pub use crate::core::{account_key, device_key};
use crate::envelope::SignatureCheck;
use crate::error::BlockError;
use crate::genesis::{Genesis, Params};
use crate::module::Module;
pub use crate::outcome::{
    BlockOutcome, LoadError, Receipt, StateWrite, TrialOutcome, check_validity_window,
};
use crate::records::ChainInfo;
use crate::table::AnyTable;
use commonware_codec::Write;
use groundwork_primitives::hash::{Digest, hash, merkle_root};
use groundwork_primitives::keys::AccountPublicKey;
use groundwork_primitives::limits::MAX_TRANSACTIONS_PER_BLOCK;
use groundwork_primitives::{Amount, Block, Transaction};

/// The registered modules, in registration order: each line names a module's folder under
/// `modules/` and its type. From this one list come the `State` fields and their initial
/// values, the prefix re-exports, and every walk over the modules (tables, tokens and credits
/// held, params sections, checks); dispatch and hooks stay explicit calls, below and in
/// `envelope.rs`.
macro_rules! registered_modules {
    ($($field:ident: $module:ident),+ $(,)?) => {
        /// Every table prefix, by module. On disk and in proofs: never renumber.
        pub mod prefix {
            pub use crate::core::prefix::*;
            $(pub use crate::modules::$field::prefix::*;)+
        }

        /// The whole chain state: the core and every module.
        #[derive(Clone, Debug)]
        pub struct State {
            pub(crate) params: Params,
            pub(crate) genesis_digest: Digest,
            pub(crate) validators: Vec<AccountPublicKey>,
            pub(crate) core: Core,
            $(pub(crate) $field: crate::modules::$field::$module,)+
        }

        impl State {
            fn empty(genesis: &Genesis, core: Core) -> Self {
                Self {
                    params: genesis.params.clone(),
                    genesis_digest: genesis.block_header().digest(),
                    validators: genesis.validators.clone(),
                    core,
                    $($field: crate::modules::$field::$module::new(),)+
                }
            }

            /// The core and every module, in registration order.
            pub(crate) fn modules(&self) -> Vec<&dyn Module> {
                vec![&self.core, $(&self.$field,)+]
            }

            fn modules_mut(&mut self) -> Vec<&mut dyn Module> {
                vec![&mut self.core, $(&mut self.$field,)+]
            }
        }
    };
}

registered_modules! {
    uptime: Uptime,
    coverage: Coverage,
    challenges: Challenges,
    oracle: Oracle,
    credits: Credits,
    usage: Usage,
    attest: Attest,
    storage: Storage,
    compute: Compute,
}

impl State {
    /// The state at height 0.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let genesis_digest = genesis.block_header().digest();
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
        let core = Core::genesis(info, &genesis.balances, genesis_digest);
        let mut state = Self::empty(genesis, core);
        let params = genesis.params.clone();
        for module in state.modules_mut() {
            module.store_params(&params);
        }
        state
    }

    /// Rebuilds a state from the entries [`State::entries`] produced (in any order), e.g. as
    /// read back from the node's authenticated store after a restart.
    pub fn from_entries(
        genesis: &Genesis,
        entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<Self, LoadError> {
        let mut state = Self::empty(genesis, Core::empty());
        {
            let mut tables = state.tables_mut();
            for (key, value) in entries {
                let Some(&prefix) = key.first() else {
                    return Err(LoadError::EmptyKey);
                };
                let Some(table) = tables.iter_mut().find(|t| t.prefix() == prefix) else {
                    return Err(LoadError::UnknownTable { key, prefix });
                };
                table.load(&key, &value)?;
            }
        }
        if !state.core.has_chain_info() {
            return Err(LoadError::MissingChainInfo);
        }
        // The parameters come from the stored sections, which proofs cover (and governance
        // may have changed), not from the genesis file.
        let mut params = state.params.clone();
        for module in state.modules() {
            if !module.load_params(&mut params) {
                let module = module.info().name;
                return Err(LoadError::MissingParams { module });
            }
        }
        state.params = params;
        Ok(state)
    }

    /// Every table of every module, in registration order.
    pub(crate) fn tables(&self) -> Vec<&dyn AnyTable> {
        self.modules()
            .into_iter()
            .flat_map(|m| m.tables())
            .collect()
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        self.modules_mut()
            .into_iter()
            .flat_map(|m| m.tables_mut())
            .collect()
    }

    /// Every module's identity and prefix block, in registration order.
    pub fn module_infos(&self) -> Vec<crate::module::ModuleInfo> {
        self.modules().iter().map(|m| m.info()).collect()
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
            &self.params.core.chain_id,
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

    /// The block and epoch hooks, in the order the module documentation gives.
    fn end_block(&mut self, block: &Block, digest: Digest) -> Result<Option<u64>, BlockError> {
        let height = block.header.height;
        // Keep twice the allowed age so a too-old reference is reported as stale, not unknown.
        let retention = self.params.core.heartbeat_max_age_blocks.saturating_mul(2);
        self.core
            .record_block(height, digest, block.header.timestamp_ms, retention);
        self.challenges.end_block(
            &mut self.core,
            &self.coverage,
            &self.params.challenges,
            height,
        )?;
        self.usage.end_block(&mut self.core, height)?;
        // Storage settles its periods before the epoch's usage mint, which pays for them.
        let epoch = self.epoch_of(height);
        self.storage.end_block(
            &mut self.core,
            &mut self.usage,
            &mut self.credits,
            &self.params.storage,
            self.params.core.epoch_length_blocks,
            epoch,
            height,
        )?;
        // Compute pays decided tasks before the epoch's usage mint, too.
        self.compute.end_block(
            &mut self.core,
            &mut self.usage,
            &mut self.credits,
            &self.params.compute,
            epoch,
            height,
        )?;
        let epoch_end = height.is_multiple_of(self.params.core.epoch_length_blocks);
        let epoch = self.epoch_of(height);
        self.oracle
            .end_block(&self.params.oracle, height, epoch_end.then_some(epoch))?;
        if !epoch_end {
            return Ok(None);
        }
        let pools = crate::rewards::ProgramPools::of_epoch(&self.params, epoch)?;
        // Coverage settles first: a wireless device its rules judged earns no uptime share.
        // Every reward goes through `challenges`, which holds it in escrow while a challenge
        // of the device's location is open.
        let (core, sink) = (&mut self.core, &mut self.challenges);
        let coverage =
            self.coverage
                .end_epoch(core, sink, &self.params, epoch, height, pools.coverage)?;
        let uptime = self
            .uptime
            .end_epoch(core, sink, epoch, &pools.kinds, &coverage.judged)?;
        let coverage_paid = coverage.paid;
        let paid = uptime
            .paid
            .checked_add(coverage_paid)
            .ok_or(BlockError::Arithmetic { context: "paid" })?;
        // The usage mint is new supply on top of the emission, within its own cap.
        let (attest, attest_params) = (&self.attest, &self.params.attest);
        self.usage.end_epoch(
            &mut self.core,
            |device, kind| attest.check_may_work(attest_params, device, kind).is_ok(),
            &self.oracle,
            &self.params.oracle,
            &self.params.credits,
            &self.params.usage,
            self.params.core.token_decimals,
            epoch,
            height,
        )?;
        let summary = crate::core::EpochSummaryParts {
            emission: pools.emission,
            halvings: pools.halvings,
            pools: pools.kinds,
            total_units: uptime.total_units,
            devices_rewarded: uptime.devices_rewarded,
            paid,
        };
        self.core.close_epoch(epoch, summary)?;
        self.core.release_bonds(epoch)?;
        Ok(Some(epoch))
    }

    // ---- layers, write-sets and digests --------------------------------------------------

    pub(crate) fn commit_transaction(&mut self) {
        self.tables_mut()
            .into_iter()
            .for_each(|t| t.commit_transaction());
    }

    pub(crate) fn rollback_transaction(&mut self) {
        self.tables_mut()
            .into_iter()
            .for_each(|t| t.rollback_transaction());
    }

    fn rollback_block(&mut self) {
        self.tables_mut()
            .into_iter()
            .for_each(|t| t.rollback_block());
    }

    fn finish_block(&mut self) -> Vec<StateWrite> {
        let mut writes = Vec::new();
        for table in self.tables_mut() {
            table.finish_block_into(&mut writes);
        }
        writes.sort_by(|a, b| a.key.cmp(&b.key));
        writes
    }

    /// Every committed entry as (key, value) bytes, sorted by key: the genesis write-set, and
    /// what a full node's authenticated store holds.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for table in self.tables() {
            table.dump_into(&mut out);
        }
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
}
