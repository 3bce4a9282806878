//! What the state answers: the read side that the node's RPC, the CLI and tests use. Each
//! query asks the module that owns the table.

use crate::error::ChallengeError;
use crate::error::ExplainError;
use crate::error::TxError;
use crate::genesis::Params;
use crate::machine::State;
use crate::modules::challenges::{Challenge, HeldNote, HeldOutcome};
use crate::modules::compute;
use crate::modules::coverage::{
    BeaconRecord, CoverageActivity, CoverageExplanation, CoverageReward, CoverageSummary,
    WitnessRecord,
};
use crate::modules::credits::{self, CreditCounters};
use crate::modules::oracle::{OracleError, OraclePrice, Submission};
use crate::modules::storage;
use crate::modules::usage;
use crate::records::{Account, ChainInfo, Device, EpochSummary, RewardRecord};
use crate::rewards::{ProgramPools, RewardExplanation};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::keys::AccountPublicKey;
use groundwork_primitives::{Address, Amount, Block, BlockHeader, DeviceId, Transaction};

/// Everything a device's reward in an epoch came from, program by program, and the challenges
/// of its location opened or resolved in that epoch: what `rewards_explain` serves and
/// `groundwork rewards explain` checks. Built here, so every node explains alike.
#[derive(Clone, Debug)]
pub struct DeviceExplanation {
    /// Its kind's uptime pool (`None` if it earned no work units).
    pub kind: Option<RewardExplanation>,
    pub coverage: Option<CoverageExplanation>,
    pub usage: Option<usage::UsageReward>,
    pub challenges: Vec<(Digest, Challenge)>,
    /// What of the epoch's rewards a challenge held in escrow, and what became of it.
    pub held: Option<HeldExplanation>,
}

/// Rewards of an epoch held in escrow for a challenge (`modules::challenges`), and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldExplanation {
    pub note: HeldNote,
    pub outcome: HeldOutcome,
    /// The rule, in words.
    pub rule: String,
}

impl State {
    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn validators(&self) -> &[AccountPublicKey] {
        &self.validators
    }

    /// Digest of block 0 (see [`crate::Genesis::block_header`]), the parent of block 1.
    pub fn genesis_digest(&self) -> Digest {
        self.genesis_digest
    }

    pub fn chain_info(&self) -> ChainInfo {
        self.core.chain_info()
    }

    pub fn height(&self) -> u64 {
        self.core.height()
    }

    /// An account; a never-seen address is an empty account.
    pub fn account(&self, address: &Address) -> Account {
        self.core.account(address)
    }

    pub fn device(&self, device: &DeviceId) -> Option<Device> {
        self.core.device(device)
    }

    /// All devices, in id order.
    pub fn devices(&self) -> impl Iterator<Item = (&DeviceId, &Device)> {
        self.core.devices()
    }

    pub fn epoch_summary(&self, epoch: u64) -> Option<EpochSummary> {
        self.core.epoch_summary(epoch)
    }

    pub fn reward(&self, epoch: u64, device: &DeviceId) -> Option<RewardRecord> {
        self.uptime.reward(epoch, device)
    }

    /// Work units a device has so far in the open epoch.
    pub fn pending_work(&self, device: &DeviceId) -> u64 {
        let epoch = self.epoch_of(self.height().saturating_add(1));
        self.uptime.work(epoch, device)
    }

    /// The epoch a height belongs to. Epoch `e` holds heights `e·L+1 ..= (e+1)·L`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        self.params.epoch_of(height)
    }

    /// Number of epochs that have ended.
    pub fn epochs_ended(&self) -> u64 {
        self.height() / self.params.core.epoch_length_blocks
    }

    /// The hash of a recent block by height, if still in the heartbeat history.
    pub fn recent_block(&self, height: u64) -> Option<Digest> {
        self.core.recent_block(height)
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

    /// Explains all a device earned in an ended epoch, in every program; `Err` if it earned
    /// in none (the uptime explanation's reason).
    pub fn explain_device(
        &self,
        device: &DeviceId,
        epoch: u64,
    ) -> Result<DeviceExplanation, ExplainError> {
        let coverage = self.explain_coverage(device, epoch);
        let usage = self.usage_reward(epoch, device);
        let kind = match self.explain(device, epoch) {
            Ok(kind) => Some(kind),
            Err(error) if coverage.is_none() && usage.is_none() => {
                // A device an upheld challenge disputes earns in no pool: name the rule.
                return Err(match self.challenges.check_location_undisputed(device) {
                    Err(TxError::Challenges(ChallengeError::LocationDisputed { challenge })) => {
                        ExplainError::LocationDisputed {
                            device: device.clone(),
                            epoch,
                            challenge,
                        }
                    }
                    _ => error,
                });
            }
            Err(_) => None,
        };
        let length = self.params.core.epoch_length_blocks;
        let first = epoch.saturating_mul(length).saturating_add(1);
        let last = epoch.saturating_add(1).saturating_mul(length);
        let in_epoch = |h: u64| (first..=last).contains(&h);
        let challenges = self
            .challenges_of(device)
            .into_iter()
            .filter(|(_, c)| in_epoch(c.opened_at) || c.resolved_at.is_some_and(in_epoch))
            .collect();
        Ok(DeviceExplanation {
            kind,
            coverage,
            usage,
            challenges,
            held: self.held_explanation(epoch, device),
        })
    }

    /// What a challenge held of a device's rewards in an epoch, and what became of it.
    pub fn held_explanation(&self, epoch: u64, device: &DeviceId) -> Option<HeldExplanation> {
        let note = self.challenges.held_note(epoch, device)?;
        let held = self.challenges.held_for(&note.challenge)?;
        let total = Amount(note.uptime.0.saturating_add(note.coverage.0));
        let id = groundwork_primitives::hash::digest_hex(&note.challenge);
        let rule = match held.outcome {
            HeldOutcome::Held => format!(
                "escrowed pending challenge {id}: {total} base units are held until it resolves; paid to the owner if it is rejected, forfeited to the treasury if upheld"
            ),
            HeldOutcome::Released { height } => format!(
                "held while challenge {id} was open; it was rejected at height {height}, and the {total} base units held went to the owner"
            ),
            HeldOutcome::Forfeited { height } => format!(
                "forfeited: challenge {id} was upheld at height {height}, and the {total} base units held while it was open went to the treasury"
            ),
        };
        Some(HeldExplanation {
            note,
            outcome: held.outcome,
            rule,
        })
    }

    /// Explains a device's reward from its kind's uptime pool for an ended epoch: every input
    /// and step.
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
        // The pools of an ended epoch were computable when it ended, so this cannot fail.
        let pools =
            ProgramPools::of_epoch(&self.params, epoch).map_err(|_| ExplainError::NoReward {
                device: device.clone(),
                epoch,
            })?;
        let mut explanation = RewardExplanation {
            epoch,
            device: device.to_string(),
            owner: record.owner.to_string(),
            kind: record.kind,
            initial_emission: self.params.core.initial_emission_per_epoch,
            halving_interval_epochs: self.params.core.halving_interval_epochs,
            halvings: pools.halvings,
            emission: pools.emission,
            coverage_share_bps: self.params.coverage.share_bps,
            kinds_emission: pools.kinds_emission,
            weight_bps: self.params.core.reward_weights_bps[record.kind.index()],
            pool: record.pool,
            work_units: record.work_units,
            kind_total_units: record.kind_total_units,
            amount: record.amount,
            withheld: record.withheld,
            co_located: record.co_located,
            steps: Vec::new(),
        };
        explanation.describe();
        Ok(explanation)
    }

    // ---- coverage ------------------------------------------------------------------------

    /// A beacon by its id (the payload its radio sent).
    pub fn beacon(&self, id: &Digest) -> Option<BeaconRecord> {
        self.coverage.beacon(id)
    }

    /// The `index`-th valid witness report of a beacon.
    pub fn witness_record(&self, beacon: &Digest, index: u8) -> Option<WitnessRecord> {
        self.coverage.witness_record(beacon, index)
    }

    /// A wireless device's beacon and witness history (empty for other devices).
    pub fn coverage_activity(&self, device: &DeviceId) -> CoverageActivity {
        self.coverage.activity(device)
    }

    /// Explains a device's coverage reward for an ended epoch (while its beacons are retained).
    pub fn explain_coverage(&self, device: &DeviceId, epoch: u64) -> Option<CoverageExplanation> {
        self.coverage.explain(&self.params.coverage, device, epoch)
    }

    /// A device's coverage reward for an epoch.
    pub fn coverage_reward(&self, epoch: u64, device: &DeviceId) -> Option<CoverageReward> {
        self.coverage.reward(epoch, device)
    }

    /// The totals of an epoch's coverage rewards.
    pub fn coverage_summary(&self, epoch: u64) -> Option<CoverageSummary> {
        self.coverage.summary(epoch)
    }

    /// Beacons whose rewards were settled in `epoch` (kept for
    /// [`crate::coverage::BEACON_RETENTION_EPOCHS`]).
    pub fn rewarded_beacons(&self, epoch: u64) -> Vec<Digest> {
        self.coverage.rewarded_beacons(epoch)
    }

    // ---- challenges ----------------------------------------------------------------------

    /// A challenge by id.
    pub fn challenge(&self, id: &Digest) -> Option<Challenge> {
        self.challenges.challenge(id)
    }

    /// The open or upheld challenge that currently binds a device, if any.
    pub fn device_challenge(&self, device: &DeviceId) -> Option<(Digest, Challenge)> {
        self.challenges.device_challenge(device)
    }

    /// Every challenge ever posted against a device, oldest first.
    pub fn challenges_of(&self, device: &DeviceId) -> Vec<(Digest, Challenge)> {
        self.challenges.challenges_of(device)
    }
}

/// The demand side: the oracle's price and the credit ledger.
impl State {
    /// The price a transaction in the next block would see.
    pub fn oracle_price(&self) -> Result<OraclePrice, OracleError> {
        self.oracle
            .price(&self.params.oracle, self.height().saturating_add(1))
    }

    /// Each oracle's latest submission, in account order.
    pub fn oracle_submissions(&self) -> Vec<(Address, Submission)> {
        self.oracle.submissions(&self.params.oracle)
    }

    /// The price at an epoch's last block, if there was one.
    pub fn epoch_price(&self, epoch: u64) -> Option<OraclePrice> {
        self.oracle.epoch_price(epoch)
    }

    /// What buying `credits` in the next block would burn, and the price it would use; refused
    /// as the purchase itself would be.
    pub fn quote_credits(&self, credits: u64) -> Result<(Amount, OraclePrice), TxError> {
        credits::check_purchase(credits)?;
        let price = self.oracle_price()?;
        let cost = credits::credits_cost(
            &self.params.credits,
            self.params.core.token_decimals,
            credits,
            price.burn(),
        )?;
        Ok((cost, price))
    }

    /// Credits minted, spent and burned for since genesis.
    pub fn credit_totals(&self) -> CreditCounters {
        self.credits.totals()
    }

    /// The same in one epoch (`None` if no credit moved in it).
    pub fn epoch_credits(&self, epoch: u64) -> Option<CreditCounters> {
        self.credits.epoch(epoch)
    }
}

/// Storage: providers, deal sets, deals and their proving periods.
impl State {
    pub fn storage_provider(&self, device: &DeviceId) -> Option<storage::Provider> {
        self.storage.provider(device)
    }

    /// Up to `limit` storage providers, by device id.
    pub fn storage_providers(&self, limit: usize) -> Vec<(DeviceId, storage::Provider)> {
        self.storage.providers(limit)
    }

    pub fn deal_set(&self, id: &Digest) -> Option<storage::DealSet> {
        self.storage.set(id)
    }

    pub fn deal(&self, id: &Digest) -> Option<storage::Deal> {
        self.storage.deal(id)
    }

    /// A deal set's deals, in shard order.
    pub fn deals_of_set(&self, id: &Digest) -> Vec<(Digest, storage::Deal)> {
        self.storage.deals_of_set(id)
    }

    /// Up to `limit` of a client's deal sets.
    pub fn deal_sets_of(&self, client: &Address, limit: usize) -> Vec<(Digest, storage::DealSet)> {
        self.storage.sets_of(client, limit)
    }

    /// Up to `limit` of a provider device's deals.
    pub fn deals_of_provider(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> Vec<(Digest, storage::Deal)> {
        self.storage.deals_of_provider(device, limit)
    }

    /// A deal's proving periods so far: proven, faulted, or open with a proof.
    pub fn deal_periods(&self, id: &Digest) -> Vec<(u64, storage::PeriodRecord)> {
        self.storage.periods_of(id)
    }

    /// A deal's period records from `first` to `last`, both included.
    pub fn deal_periods_between(
        &self,
        id: &Digest,
        first: u64,
        last: u64,
    ) -> Vec<(u64, storage::PeriodRecord)> {
        self.storage.periods_between(id, first, last)
    }

    /// The retrieval checks `checker` is drawn for in `period` (at most `limit`): deal,
    /// position and block to fetch.
    pub fn checks_drawn_for(
        &self,
        checker: &DeviceId,
        period: u64,
        limit: usize,
    ) -> Vec<(Digest, u16, u64)> {
        self.storage.checks_for(checker, period, limit)
    }

    /// Who checks a deal's retrieval in `period`, and which block each fetches: drawn when
    /// the period opened, and kept while it is open.
    pub fn deal_checkers(&self, id: &Digest, period: u64) -> Option<Vec<(DeviceId, u64)>> {
        self.storage.checkers(&self.params.storage, id, period)
    }

    /// The retrieval checks posted for a deal's period, by position.
    pub fn deal_checks(&self, id: &Digest, period: u64) -> Vec<(u16, storage::CheckRecord)> {
        self.storage.checks_of(id, period)
    }

    /// Deals that are active, in id order, up to `limit`.
    pub fn active_deals(&self, limit: usize) -> Vec<(Digest, storage::Deal)> {
        self.storage.active_deals(limit)
    }

    /// The leaves challenged for a deal in `period`, once the period has opened (its seed
    /// is kept until it closes).
    pub fn deal_challenges(&self, id: &Digest, period: u64) -> Option<Vec<u64>> {
        let deal = self.storage.deal(id)?;
        self.storage
            .challenges(&self.params.storage, id, &deal, period)
    }
}

/// Compute: providers, jobs and their tasks.
impl State {
    pub fn compute_provider(&self, device: &DeviceId) -> Option<compute::Provider> {
        self.compute.provider(device)
    }

    /// Up to `limit` compute providers, by device id.
    pub fn compute_providers(&self, limit: usize) -> Vec<(DeviceId, compute::Provider)> {
        self.compute.providers(limit)
    }

    pub fn compute_job(&self, id: &Digest) -> Option<compute::Job> {
        self.compute.job(id)
    }

    pub fn compute_task(&self, job: &Digest, index: u8) -> Option<compute::Task> {
        self.compute.task(job, index)
    }

    /// A job's tasks, in order.
    pub fn compute_tasks(&self, job: &Digest) -> Vec<(u8, compute::Task)> {
        self.compute.tasks_of(job)
    }

    /// Up to `limit` of a customer's jobs.
    pub fn compute_jobs_of(&self, customer: &Address, limit: usize) -> Vec<(Digest, compute::Job)> {
        self.compute.jobs_of(customer, limit)
    }

    /// Up to `limit` of the open tasks a provider device is assigned to, with their job and
    /// index: what its agent has to run, commit and reveal.
    pub fn compute_open_tasks_of_provider(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> Vec<(Digest, u8, compute::Task)> {
        self.compute.open_tasks_of_provider(device, limit)
    }
}

/// Metered usage: offers, sessions and the usage mint.
impl State {
    /// A device's standing offer.
    pub fn offer(&self, device: &DeviceId) -> Option<usage::Offer> {
        self.usage.offer(device)
    }

    pub fn session(&self, id: &Digest) -> Option<usage::Session> {
        self.usage.session(id)
    }

    /// Up to `limit` of a customer's sessions in id order, after the id `after`.
    pub fn sessions_of(
        &self,
        customer: &Address,
        after: Option<Digest>,
        limit: usize,
    ) -> Vec<(Digest, usage::Session)> {
        self.usage.sessions_of(customer, after, limit)
    }

    /// What the usage mint paid a device for an epoch.
    pub fn usage_reward(&self, epoch: u64, device: &DeviceId) -> Option<usage::UsageReward> {
        self.usage.reward(epoch, device)
    }

    /// The usage mint of an epoch (`None` if no usage was settled in it).
    pub fn usage_epoch(&self, epoch: u64) -> Option<usage::UsageEpoch> {
        self.usage.epoch(epoch)
    }

    /// A device's verified usage in the running epoch so far.
    pub fn pending_usage(&self, device: &DeviceId) -> Option<usage::DeviceUsage> {
        let epoch = self.epoch_of(self.height().saturating_add(1));
        self.usage.pending_usage(epoch, device)
    }
}

/// Maker attestation.
impl State {
    /// A device's accepted certificate, and the height its maker revoked it at, if it did.
    pub fn attestation(
        &self,
        device: &DeviceId,
    ) -> Option<(crate::modules::attest::Attestation, Option<u64>)> {
        self.attest.attestation(device)
    }

    /// Why `device` may not report or earn now, if it may not.
    pub fn attest_refusal(&self, device: &DeviceId) -> Option<crate::modules::attest::AttestError> {
        let kind = self.device(device)?.kind;
        self.attest
            .check_may_work(&self.params.attest, device, kind)
            .err()
    }
}
