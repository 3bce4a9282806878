//! Compute: a job market for deterministic WebAssembly. Results are verified by redundancy,
//! spot re-execution and a referee committee, and paid only when verified or accepted.
//!
//! - A compute device's owner **offers** to run tasks up to a fuel limit and locks
//!   collateral; the price is the device's usage offer, in credits per million fuel
//!   ([`crate::modules::usage`]).
//! - A customer **posts** a job: a module hash and one input hash per task, a fuel limit per
//!   task, a price ceiling, a replication `r` (1–3) and a spot-check chance `p`. The worst
//!   case is escrowed: every task's fuel limit at the ceiling for `r` runs, a spot check and a
//!   referee committee ([`worst_case_runs`]).
//! - **Assignment.** At the end of the block that carries the job, each task's `r` providers
//!   are drawn from that block's hash among the eligible offers (an active compute device, its
//!   owner's offer, enough collateral and fuel, a price within the ceiling), no two of one
//!   owner. A provider cannot pick its tasks or its partners.
//! - **Commit, then reveal.** Each assigned device commits
//!   [`outcome_commitment`]`(job, task, device, outcome)`; once all have committed or
//!   `commit_window_blocks` passed, each reveals the outcome within `reveal_window_blocks`.
//!   A commitment names its device, so one copied from another device can never be revealed.
//! - **Verification**, when the reveals close:
//!   - outcomes that differ: a referee committee of `referees` other providers is drawn and
//!     runs the task; the most common of every revealed outcome, the earlier runs' and the
//!     referees', decides if it is strictly ahead of every other (a tie: nobody is paid and
//!     the escrow returns);
//!   - outcomes that agree: with chance `p`, rolled from the hash of the block that closed
//!     the reveals, one other provider re-runs the task (a **spot check**): agreeing verifies
//!     it, differing calls the referees. Spot checks apply at every `r`, so two colluding
//!     providers that the chain happens to assign together are caught at rate `p`;
//!   - unchecked, two or more agreeing outcomes are verified; a single one waits
//!     `accept_window_blocks`, in which the customer may **dispute** it (referees, paid from
//!     the escrow), and is then accepted.
//! - **Payment and slashing.** Every provider whose outcome is the decided one is paid
//!   `floor(fuel × price ÷ 10^6)` credits from the escrow, counted as its verified usage (the
//!   usage mint pays for it). A provider whose outcome differs, or that assigned stayed
//!   silent, loses `slash_bps` of its collateral: `slash_to_honest_bps` of it to the owners
//!   who were right (to the customer when none were), the rest burned. When no assigned
//!   provider revealed anything, nobody is slashed: the customer's source most likely served
//!   nothing to run. The rest of the escrow returns when the task closes.
//!
//! Every draw records the block hash it came from, so anyone can recompute who was assigned
//! and whether a spot check was due.

mod error;
mod genesis;

pub use error::ComputeError;

use crate::core::{Core, Singleton};
use crate::error::{BlockError, InvariantViolation, TxError};
use crate::genesis::{BASIS_POINTS_TOTAL, Params};
use crate::module::{Module, ModuleInfo};
use crate::modules::credits::Credits;
use crate::modules::usage::{Usage, mul_div_floor};
use crate::table::{AnyTable, Table};
use groundwork_primitives::codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::hash::{Digest, hash_parts};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::limits::MAX_TASKS_PER_JOB;
use groundwork_primitives::tx::compute::{TaskOutcome, Url};
use groundwork_primitives::tx::outcome_commitment;
use groundwork_primitives::{
    Address, Amount, ComputeCall, ComputeReport, DeviceId, ResourceKind, job_id, task_id,
};

/// The WebAssembly runtimes a chain may pin, by the index genesis stores.
pub const RUNTIMES: &[&str] = &["wasmi 1.1.0"];

/// Largest referee committee.
pub const MAX_REFEREES: u8 = 7;

/// Most assignments one task can have: 3 runs, a spot check and a committee.
pub const MAX_SLOTS: usize = 3 + 1 + MAX_REFEREES as usize;

/// Fuel is priced per million.
pub const FUEL_PER_PRICE_UNIT: u128 = 1_000_000;

/// The compute module's section of the chain parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeParams {
    /// Index into [`RUNTIMES`] of the runtime every provider and referee runs.
    pub runtime: u8,
    /// Blocks the assigned providers have to commit.
    pub commit_window_blocks: u64,
    /// Blocks they then have to reveal.
    pub reveal_window_blocks: u64,
    /// Blocks an unverified task waits for a dispute before it is accepted.
    pub accept_window_blocks: u64,
    /// Providers on a referee committee (odd).
    pub referees: u8,
    /// Share of a provider's collateral slashed for a wrong or missing outcome.
    pub slash_bps: u16,
    /// Share of a slash paid to the honest side; the rest is burned.
    pub slash_to_honest_bps: u16,
    /// Least collateral a provider locks to be assigned.
    pub min_collateral: Amount,
    /// Most fuel any task may use.
    pub max_fuel_per_task: u64,
}
impl_struct_codec!(ComputeParams {
    runtime,
    commit_window_blocks,
    reveal_window_blocks,
    accept_window_blocks,
    referees,
    slash_bps,
    slash_to_honest_bps,
    min_collateral,
    max_fuel_per_task
});

impl ComputeParams {
    /// A real network's defaults for 1-second blocks: ten minutes to commit, five to reveal,
    /// an hour to dispute; three referees; 10 % of the collateral per wrong outcome, half to
    /// the honest side; at least ten tokens (6 decimals) of collateral.
    pub fn daily() -> Self {
        Self {
            runtime: 0,
            commit_window_blocks: 600,
            reveal_window_blocks: 300,
            accept_window_blocks: 3_600,
            referees: 3,
            slash_bps: 1_000,
            slash_to_honest_bps: 5_000,
            min_collateral: Amount(10_000_000),
            max_fuel_per_task: 1 << 40,
        }
    }

    /// The pinned runtime's name, as `groundwork-compute` reports it.
    pub fn runtime_name(&self) -> &'static str {
        RUNTIMES
            .get(usize::from(self.runtime))
            .copied()
            .unwrap_or("unknown")
    }
}

/// Runs a job's task may need in the worst case: `r` runs, a spot check and a referee
/// committee.
pub fn worst_case_runs(replication: u8, referees: u8) -> u64 {
    u64::from(replication) + 1 + u64::from(referees)
}

/// Credits for `fuel` at `credits_per_mfuel`: `floor(fuel × price ÷ 10^6)`.
pub fn fuel_credits(fuel: u64, credits_per_mfuel: u64) -> Option<u64> {
    let credits = mul_div_floor(
        u128::from(fuel),
        u128::from(credits_per_mfuel),
        FUEL_PER_PRICE_UNIT,
    )?;
    u64::try_from(credits).ok()
}

/// Credits a task escrows: its fuel limit at the ceiling for every run it may need, rounded
/// up so the escrow covers every payment.
pub fn task_escrow(fuel_limit: u64, ceiling: u64, runs: u64) -> Option<u64> {
    let total = u128::from(fuel_limit)
        .checked_mul(u128::from(ceiling))?
        .checked_mul(u128::from(runs))?;
    u64::try_from(total.div_ceil(FUEL_PER_PRICE_UNIT)).ok()
}

/// `floor(amount × bps ÷ 10 000)`.
fn bps_of(amount: Amount, bps: u16) -> Option<Amount> {
    mul_div_floor(amount.0, u128::from(bps), u128::from(BASIS_POINTS_TOTAL)).map(Amount)
}

/// Declares a one-byte enum with its wire tags and names.
macro_rules! byte_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $tag:literal => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }
        impl Write for $name {
            fn write(&self, buf: &mut impl bytes::BufMut) {
                let tag: u8 = match self { $($name::$variant => $tag,)+ };
                tag.write(buf);
            }
        }
        impl EncodeSize for $name {
            fn encode_size(&self) -> usize { 1 }
        }
        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                match u8::read(buf)? {
                    $($tag => Ok($name::$variant),)+
                    other => Err(CodecError::InvalidEnum(other)),
                }
            }
        }
    };
}

byte_enum!(
    /// Where a task is.
    Phase {
        /// Waiting for the end of the block to draw the current round's providers.
        Assigning = 0 => "assigning",
        /// The round's providers commit.
        Committing = 1 => "committing",
        /// The round's providers reveal.
        Revealing = 2 => "revealing",
        /// One unverified outcome, waiting for a dispute before it is accepted.
        Accepting = 3 => "accepting",
        /// Done: [`Task::verification`] says how.
        Closed = 4 => "closed",
    }
);

byte_enum!(
    /// Why a provider was assigned.
    Round {
        /// One of the task's `r` runs.
        Primary = 0 => "primary",
        /// A spot check of a single outcome.
        Spot = 1 => "spot check",
        /// A referee committee after outcomes differed or the customer disputed.
        Referee = 2 => "referee",
    }
);

byte_enum!(
    /// How a task ended.
    Verification {
        /// Not ended yet.
        Pending = 0 => "pending",
        /// Two or more providers' outcomes agreed.
        Matched = 1 => "matched",
        /// A spot check re-ran it and agreed.
        SpotChecked = 2 => "spot-checked",
        /// A referee committee's majority decided it.
        Refereed = 3 => "refereed",
        /// Nobody checked it, and no dispute came within the window.
        AutoAccepted = 4 => "auto-accepted",
        /// Too few eligible providers: nothing ran, the escrow returned.
        NoProvider = 5 => "no eligible provider",
        /// No assigned provider revealed an outcome: the escrow returned.
        NoOutcome = 6 => "no outcome",
        /// No outcome was strictly ahead after the referees ran: nobody paid, the escrow
        /// returned.
        NoMajority = 7 => "no majority",
    }
);

byte_enum!(
    /// What became of one assignment.
    Verdict {
        Pending = 0 => "pending",
        /// Its outcome is the decided one: paid.
        Agreed = 1 => "agreed",
        /// Its outcome differs from the decided one: slashed.
        Disagreed = 2 => "disagreed",
        /// Assigned but revealed nothing in time: slashed.
        Silent = 3 => "silent",
        /// Revealed, but the task ended without a decided outcome.
        Undecided = 4 => "undecided",
    }
);

/// A provider's offer and collateral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub owner: Address,
    pub max_fuel_per_task: u64,
    /// Locked in escrow; slashes come out of it.
    pub collateral: Amount,
    pub endpoint: Url,
    /// Assignments in tasks not yet closed.
    pub open_slots: u32,
    pub slashed: Amount,
}
impl_struct_codec!(Provider {
    owner,
    max_fuel_per_task,
    collateral,
    endpoint,
    open_slots,
    slashed
});

/// A customer's job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub customer: Address,
    pub module_hash: [u8; 32],
    pub source: Url,
    pub fuel_limit: u64,
    pub max_credits_per_mfuel: u64,
    pub replication: u8,
    pub spot_check_bps: u16,
    pub tasks: u8,
    pub posted_at: u64,
    /// Tasks not yet closed.
    pub open_tasks: u8,
}
impl_struct_codec!(Job {
    customer,
    module_hash,
    source,
    fuel_limit,
    max_credits_per_mfuel,
    replication,
    spot_check_bps,
    tasks,
    posted_at,
    open_tasks
});

/// One provider's assignment to a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub device: DeviceId,
    pub owner: Address,
    pub round: Round,
    /// Its usage offer when it was drawn, in credits per million fuel.
    pub credits_per_mfuel: u64,
    pub committed: bool,
    pub commitment: [u8; 32],
    pub revealed: bool,
    pub outcome: TaskOutcome,
    pub verdict: Verdict,
    pub paid_credits: u64,
    pub slashed: Amount,
}
impl_struct_codec!(Slot {
    device,
    owner,
    round,
    credits_per_mfuel,
    committed,
    commitment,
    revealed,
    outcome,
    verdict,
    paid_credits,
    slashed
});

/// One draw from chain randomness: which round, the block whose hash it used, and for a spot
/// check the roll (below the job's `spot_check_bps`: checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub round: Round,
    pub height: u64,
    pub seed: Digest,
    /// The spot-check roll in basis points (0..10 000); 0 for an assignment.
    pub roll: u16,
    /// Whether the roll called a spot check (always `false` for an assignment).
    pub checked: bool,
}
impl_struct_codec!(Draw {
    round,
    height,
    seed,
    roll,
    checked
});

/// A list of at most [`MAX_SLOTS`] records, encoded with a count byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<T: Write> Write for List<T> {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        let n = self.0.len().min(MAX_SLOTS);
        (n as u8).write(buf);
        self.0.iter().take(n).for_each(|item| item.write(buf));
    }
}
impl<T: EncodeSize> EncodeSize for List<T> {
    fn encode_size(&self) -> usize {
        1 + self
            .0
            .iter()
            .take(MAX_SLOTS)
            .map(EncodeSize::encode_size)
            .sum::<usize>()
    }
}
impl<T: Read<Cfg = ()>> Read for List<T> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let n = usize::from(u8::read(buf)?);
        if n > MAX_SLOTS {
            return Err(CodecError::InvalidLength(n));
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(T::read(buf)?);
        }
        Ok(List(items))
    }
}

/// One task of a job: its assignments, draws, decision and payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub input_hash: [u8; 32],
    pub phase: Phase,
    pub round: Round,
    /// The height its current phase ends (the block step acts at its end).
    pub deadline: u64,
    pub escrow_credits: u64,
    pub paid_credits: u64,
    pub slots: List<Slot>,
    pub draws: List<Draw>,
    pub verification: Verification,
    /// The decided outcome, once there is one.
    pub decided: TaskOutcome,
    pub disputed: bool,
    pub closed_at: u64,
}
impl_struct_codec!(Task {
    input_hash,
    phase,
    round,
    deadline,
    escrow_credits,
    paid_credits,
    slots,
    draws,
    verification,
    decided,
    disputed,
    closed_at
});

impl Task {
    fn round_slots(&self) -> impl Iterator<Item = &Slot> {
        self.slots.0.iter().filter(move |s| s.round == self.round)
    }

    fn slot_of(&mut self, device: &DeviceId) -> Option<&mut Slot> {
        let round = self.round;
        self.slots
            .0
            .iter_mut()
            .find(|s| s.round == round && s.device == *device)
    }
}

const NO_OUTCOME: TaskOutcome = TaskOutcome {
    result: [0; 32],
    fuel_used: 0,
    out_of_fuel: false,
};

pair_key!(
    /// A job, then a task index.
    TaskKey(Digest, u8)
);
pair_key!(
    /// A height, then a task whose phase ends there.
    HeightTask(u64, TaskKey)
);
pair_key!(
    /// A customer, then one of its jobs.
    CustomerJob(Address, Digest)
);
pair_key!(
    /// A provider device, then a task it was assigned.
    ProviderTask(DeviceId, TaskKey)
);

/// Table prefixes of the compute module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const COMPUTE_PROVIDER: u8 = 0x90;
    pub const COMPUTE_JOB: u8 = 0x91;
    pub const COMPUTE_TASK: u8 = 0x92;
    pub const COMPUTE_DUE: u8 = 0x93;
    pub const CUSTOMER_JOB: u8 = 0x94;
    pub const PROVIDER_TASK: u8 = 0x95;
    pub const COMPUTE_PARAMS: u8 = 0x96;
}

#[derive(Clone, Debug)]
pub(crate) struct Compute {
    providers: Table<DeviceId, Provider>,
    jobs: Table<Digest, Job>,
    tasks: Table<TaskKey, Task>,
    /// Open tasks by the height their phase ends: the block step's walk.
    due: Table<HeightTask, u8>,
    by_customer: Table<CustomerJob, u64>,
    /// Each provider's assignments in tasks not yet closed: what its agent works on.
    open_by_provider: Table<ProviderTask, u64>,
    params: Table<Singleton, ComputeParams>,
}

impl Module for Compute {
    fn store_params(&mut self, params: &Params) {
        self.params.insert_committed(Singleton, params.compute);
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .copied()
            .map(|stored| params.compute = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "compute",
            prefixes: 0x90..=0x9F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.providers,
            &self.jobs,
            &self.tasks,
            &self.due,
            &self.by_customer,
            &self.open_by_provider,
            &self.params,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.providers,
            &mut self.jobs,
            &mut self.tasks,
            &mut self.due,
            &mut self.by_customer,
            &mut self.open_by_provider,
            &mut self.params,
        ]
    }

    /// Providers' locked collateral.
    fn held(&self) -> Result<Amount, InvariantViolation> {
        self.providers
            .committed()
            .values()
            .try_fold(Amount::ZERO, |sum, p| sum.checked_add(p.collateral))
            .ok_or(InvariantViolation::Overflow {
                what: "compute collateral",
            })
    }

    /// Credits in the escrow of open tasks.
    fn credits_held(&self) -> Result<u64, InvariantViolation> {
        self.tasks
            .committed()
            .values()
            .try_fold(0u64, |sum, t| sum.checked_add(t.escrow_credits))
            .ok_or(InvariantViolation::Overflow {
                what: "compute escrow",
            })
    }

    /// Each provider's open assignments are the open tasks' slots naming it.
    fn check(&self) -> Result<(), InvariantViolation> {
        let mut open: std::collections::BTreeMap<&DeviceId, u32> =
            std::collections::BTreeMap::new();
        for task in self.tasks.committed().values() {
            if task.phase == Phase::Closed {
                if task.escrow_credits != 0 {
                    return Err(InvariantViolation::CounterMismatch {
                        counter: "closed task escrow",
                        counted: Amount::ZERO,
                        recorded: Amount(u128::from(task.escrow_credits)),
                    });
                }
                continue;
            }
            for slot in &task.slots.0 {
                *open.entry(&slot.device).or_default() += 1;
            }
        }
        for (device, provider) in self.providers.committed() {
            let counted = open.get(device).copied().unwrap_or_default();
            if provider.open_slots != counted {
                return Err(InvariantViolation::CounterMismatch {
                    counter: "compute open assignments",
                    counted: Amount(u128::from(counted)),
                    recorded: Amount(u128::from(provider.open_slots)),
                });
            }
        }
        Ok(())
    }
}

/// What a compute call or report needs besides the module itself.
pub(crate) struct ComputeContext<'a> {
    pub core: &'a mut Core,
    pub params: &'a ComputeParams,
    pub height: u64,
}

fn short(what: &'static str) -> TxError {
    TxError::Core(crate::error::CoreError::AmountOverflow { what })
}

fn wrong_phase(job: Digest, task: u8, phase: Phase, needed: &'static str) -> TxError {
    ComputeError::WrongPhase {
        job,
        task,
        phase: phase.name(),
        needed,
    }
    .into()
}

/// A uniform draw below `n` from `seed`, the task and a counter: the first eight bytes of
/// `sha256("groundwork-compute-draw" ‖ seed ‖ task id ‖ round ‖ i)`, reduced mod `n`.
fn draw_below(seed: &Digest, task: &Digest, round: Round, i: u8, n: u64) -> u64 {
    let digest = hash_parts(&[
        b"groundwork-compute-draw",
        seed.as_ref(),
        task.as_ref(),
        &[round as u8, i],
    ]);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first) % n.max(1)
}

/// The spot-check roll of a task from `seed`, in basis points.
pub fn spot_roll(seed: &Digest, task: &Digest) -> u16 {
    let n = draw_below(
        seed,
        task,
        Round::Spot,
        u8::MAX,
        u64::from(BASIS_POINTS_TOTAL),
    );
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Compute {
    pub(crate) fn new() -> Self {
        Self {
            providers: Table::new(prefix::COMPUTE_PROVIDER, "compute providers"),
            jobs: Table::new(prefix::COMPUTE_JOB, "compute jobs"),
            tasks: Table::new(prefix::COMPUTE_TASK, "compute tasks"),
            due: Table::new(prefix::COMPUTE_DUE, "compute task deadlines"),
            by_customer: Table::new(prefix::CUSTOMER_JOB, "customer jobs"),
            open_by_provider: Table::new(prefix::PROVIDER_TASK, "open provider tasks"),
            params: Table::new(prefix::COMPUTE_PARAMS, "compute params"),
        }
    }

    /// Applies one of the module's calls, its fee already paid.
    pub(crate) fn apply_call(
        &mut self,
        cx: ComputeContext<'_>,
        sender: &Address,
        nonce: u64,
        call: &ComputeCall,
    ) -> Result<(), TxError> {
        match call {
            ComputeCall::Offer {
                device,
                max_fuel_per_task,
                collateral,
                endpoint,
            } => self.offer(
                cx,
                sender,
                device,
                *max_fuel_per_task,
                *collateral,
                endpoint,
            ),
            ComputeCall::Post {
                module_hash,
                inputs,
                fuel_limit,
                max_credits_per_mfuel,
                replication,
                spot_check_bps,
                source,
            } => {
                let job = Job {
                    customer: *sender,
                    module_hash: *module_hash,
                    source: source.clone(),
                    fuel_limit: *fuel_limit,
                    max_credits_per_mfuel: *max_credits_per_mfuel,
                    replication: *replication,
                    spot_check_bps: *spot_check_bps,
                    tasks: u8::try_from(inputs.len()).unwrap_or(u8::MAX),
                    posted_at: cx.height,
                    open_tasks: u8::try_from(inputs.len()).unwrap_or(u8::MAX),
                };
                self.post(cx, job_id(sender, nonce), job, inputs)
            }
            ComputeCall::Dispute { job, task } => self.dispute(cx, sender, *job, *task),
        }
    }

    fn offer(
        &mut self,
        cx: ComputeContext<'_>,
        sender: &Address,
        device: &DeviceId,
        max_fuel_per_task: u64,
        collateral: Amount,
        endpoint: &Url,
    ) -> Result<(), TxError> {
        // Max fuel 0 from the provider's own owner withdraws its collateral once no task could
        // slash it, whatever became of the device since (decommissioned, unbonding, sold), so
        // none is stranded.
        if max_fuel_per_task == 0
            && let Some(current) = self.providers.get(device).cloned()
            && current.owner == *sender
        {
            if current.open_slots > 0 {
                return Err(ComputeError::CollateralInUse {
                    device: device.clone(),
                    open: current.open_slots,
                }
                .into());
            }
            cx.core
                .release_escrow(sender, current.collateral, "compute collateral")
                .map_err(|_| short("collateral"))?;
            self.providers.delete(device.clone());
            return Ok(());
        }
        let record = cx.core.owned_active_device(sender, device)?;
        if record.kind != ResourceKind::Compute {
            return Err(ComputeError::NotCompute {
                device: device.clone(),
            }
            .into());
        }
        let mut current = self.providers.get(device).cloned();
        // The device changed hands: its collateral is the previous owner's. Once no task
        // could slash it, it goes back to them and the new owner starts afresh.
        if let Some(previous) = current.as_ref().filter(|p| p.owner != *sender) {
            if previous.open_slots > 0 {
                return Err(ComputeError::OfferedByAnother {
                    device: device.clone(),
                    owner: previous.owner,
                }
                .into());
            }
            cx.core
                .release_escrow(&previous.owner, previous.collateral, "compute collateral")
                .map_err(|_| short("collateral"))?;
            self.providers.delete(device.clone());
            current = None;
        }
        let (locked, open, slashed) = current
            .as_ref()
            .map(|p| (p.collateral, p.open_slots, p.slashed))
            .unwrap_or((Amount::ZERO, 0, Amount::ZERO));
        if max_fuel_per_task > cx.params.max_fuel_per_task {
            return Err(ComputeError::FuelAboveLimit {
                asked: max_fuel_per_task,
                max: cx.params.max_fuel_per_task,
            }
            .into());
        }
        let withdrawing = max_fuel_per_task == 0;
        let target = if withdrawing {
            Amount::ZERO
        } else {
            collateral
        };
        if !withdrawing && collateral < cx.params.min_collateral {
            return Err(ComputeError::CollateralBelowMinimum {
                offered: collateral,
                minimum: cx.params.min_collateral,
            }
            .into());
        }
        if target < locked && open > 0 {
            return Err(ComputeError::CollateralInUse {
                device: device.clone(),
                open,
            }
            .into());
        }
        if target > locked {
            let more = target
                .checked_sub(locked)
                .ok_or_else(|| short("collateral"))?;
            cx.core.escrow(sender, more)?;
        } else if target < locked {
            let less = locked
                .checked_sub(target)
                .ok_or_else(|| short("collateral"))?;
            cx.core
                .release_escrow(sender, less, "compute collateral")
                .map_err(|_| short("collateral"))?;
        }
        if withdrawing {
            self.providers.delete(device.clone());
            return Ok(());
        }
        self.providers.put(
            device.clone(),
            Provider {
                owner: *sender,
                max_fuel_per_task,
                collateral: target,
                endpoint: endpoint.clone(),
                open_slots: open,
                slashed,
            },
        );
        Ok(())
    }

    fn post(
        &mut self,
        cx: ComputeContext<'_>,
        id: Digest,
        job: Job,
        inputs: &[[u8; 32]],
    ) -> Result<(), TxError> {
        let bad = |reason| ComputeError::BadJob { reason };
        if inputs.is_empty() || inputs.len() > MAX_TASKS_PER_JOB {
            return Err(bad("a job has 1 to 16 tasks").into());
        }
        if !(1..=3).contains(&job.replication) {
            return Err(bad("replication must be 1, 2 or 3").into());
        }
        if u32::from(job.spot_check_bps) > BASIS_POINTS_TOTAL {
            return Err(bad("spot_check_bps must be at most 10000").into());
        }
        if job.fuel_limit == 0 {
            return Err(bad("the fuel limit is zero").into());
        }
        if job.fuel_limit > cx.params.max_fuel_per_task {
            return Err(ComputeError::FuelAboveLimit {
                asked: job.fuel_limit,
                max: cx.params.max_fuel_per_task,
            }
            .into());
        }
        let url = std::str::from_utf8(&job.source.0).unwrap_or("");
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("the source must be an http:// or https:// URL").into());
        }
        let runs = worst_case_runs(job.replication, cx.params.referees);
        let per_task = task_escrow(job.fuel_limit, job.max_credits_per_mfuel, runs)
            .ok_or_else(|| short("job escrow"))?;
        if per_task == 0 {
            return Err(ComputeError::NothingEscrowed.into());
        }
        let total = per_task
            .checked_mul(inputs.len() as u64)
            .ok_or_else(|| short("job escrow"))?;
        cx.core.escrow_credits(&job.customer, total)?;
        for (index, input) in inputs.iter().enumerate() {
            let index = u8::try_from(index).unwrap_or(u8::MAX);
            let key = TaskKey(id, index);
            self.tasks.put(
                key.clone(),
                Task {
                    input_hash: *input,
                    phase: Phase::Assigning,
                    round: Round::Primary,
                    deadline: cx.height,
                    escrow_credits: per_task,
                    paid_credits: 0,
                    slots: List::default(),
                    draws: List::default(),
                    verification: Verification::Pending,
                    decided: NO_OUTCOME,
                    disputed: false,
                    closed_at: 0,
                },
            );
            self.due.put(HeightTask(cx.height, key), 0);
        }
        self.by_customer
            .put(CustomerJob(job.customer, id), cx.height);
        self.jobs.put(id, job);
        Ok(())
    }

    fn dispute(
        &mut self,
        cx: ComputeContext<'_>,
        sender: &Address,
        job_id: Digest,
        index: u8,
    ) -> Result<(), TxError> {
        let job = self
            .jobs
            .get(&job_id)
            .cloned()
            .ok_or(ComputeError::Unknown {
                job: job_id,
                task: index,
            })?;
        if job.customer != *sender {
            return Err(ComputeError::NotTheCustomer { signer: *sender }.into());
        }
        let key = TaskKey(job_id, index);
        let mut task = self.tasks.get(&key).cloned().ok_or(ComputeError::Unknown {
            job: job_id,
            task: index,
        })?;
        if task.phase != Phase::Accepting {
            return Err(wrong_phase(
                job_id,
                index,
                task.phase,
                "accepting (unverified)",
            ));
        }
        // Referees are drawn at the end of this block, from its hash: the customer cannot
        // pick them by choosing when to dispute.
        self.due.delete(HeightTask(task.deadline, key.clone()));
        task.phase = Phase::Assigning;
        task.round = Round::Referee;
        task.deadline = cx.height;
        task.disputed = true;
        self.due.put(HeightTask(cx.height, key.clone()), 0);
        self.tasks.put(key, task);
        Ok(())
    }

    /// Applies one of the module's reports, from the active device `device`.
    pub(crate) fn apply_report(
        &mut self,
        cx: ComputeContext<'_>,
        device: &DeviceId,
        report: &ComputeReport,
    ) -> Result<(), TxError> {
        let (job_id, index) = report.task();
        let key = TaskKey(job_id, index);
        let unknown = ComputeError::Unknown {
            job: job_id,
            task: index,
        };
        let job = self.jobs.get(&job_id).cloned().ok_or(unknown.clone())?;
        let mut task = self.tasks.get(&key).cloned().ok_or(unknown)?;
        match report {
            ComputeReport::Commit { commitment, .. } => {
                if task.phase != Phase::Committing {
                    return Err(wrong_phase(job_id, index, task.phase, "committing"));
                }
                if task
                    .round_slots()
                    .any(|s| s.committed && s.commitment == *commitment && s.device != *device)
                {
                    return Err(ComputeError::CopiedCommitment { task: index }.into());
                }
                let slot = task.slot_of(device).ok_or(ComputeError::NotAssigned {
                    device: device.clone(),
                    task: index,
                })?;
                if slot.committed {
                    return Err(ComputeError::AlreadyCommitted {
                        device: device.clone(),
                        task: index,
                    }
                    .into());
                }
                slot.committed = true;
                slot.commitment = *commitment;
                // Everyone committed: the reveals open now rather than at the window's end.
                if task.round_slots().all(|s| s.committed) {
                    self.due.delete(HeightTask(task.deadline, key.clone()));
                    task.phase = Phase::Revealing;
                    task.deadline = cx.height.saturating_add(cx.params.reveal_window_blocks);
                    self.due.put(HeightTask(task.deadline, key.clone()), 0);
                }
            }
            ComputeReport::Reveal { outcome, .. } => {
                if task.phase != Phase::Revealing {
                    return Err(wrong_phase(job_id, index, task.phase, "revealing"));
                }
                let fuel_ok = outcome.fuel_used <= job.fuel_limit
                    && (!outcome.out_of_fuel
                        || (outcome.fuel_used == job.fuel_limit && outcome.result == [0; 32]));
                if !fuel_ok {
                    return Err(ComputeError::BadFuel {
                        fuel_used: outcome.fuel_used,
                        fuel_limit: job.fuel_limit,
                        out_of_fuel: outcome.out_of_fuel,
                    }
                    .into());
                }
                let slot = task.slot_of(device).ok_or(ComputeError::NotAssigned {
                    device: device.clone(),
                    task: index,
                })?;
                if slot.revealed {
                    return Err(ComputeError::AlreadyRevealed {
                        device: device.clone(),
                        task: index,
                    }
                    .into());
                }
                if !slot.committed
                    || slot.commitment != outcome_commitment(&job_id, index, device, outcome)
                {
                    return Err(ComputeError::CommitmentMismatch {
                        device: device.clone(),
                        task: index,
                    }
                    .into());
                }
                slot.revealed = true;
                slot.outcome = *outcome;
                // Every committed device revealed: the round is decided at this block's end.
                if task.round_slots().all(|s| s.revealed || !s.committed) {
                    self.due.delete(HeightTask(task.deadline, key.clone()));
                    task.deadline = cx.height;
                    self.due.put(HeightTask(task.deadline, key.clone()), 0);
                }
            }
        }
        self.tasks.put(key, task);
        Ok(())
    }

    /// The block step, after the block's hash is recorded: every task whose phase ends at
    /// this height moves on. Draws use this block's hash, which no transaction in it could
    /// know.
    pub(crate) fn end_block(
        &mut self,
        core: &mut Core,
        usage: &mut Usage,
        credits: &mut Credits,
        params: &ComputeParams,
        epoch: u64,
        height: u64,
    ) -> Result<(), BlockError> {
        let last = HeightTask(height, TaskKey(Digest::from([0xFF; 32]), u8::MAX));
        let due = self.due.keys_through(&last);
        if due.is_empty() {
            return Ok(());
        }
        let seed = core.recent_block(height).ok_or(BlockError::Invariant {
            context: "the block's own hash is not recorded",
        })?;
        let mut step = Step {
            core,
            usage,
            credits,
            params,
            epoch,
            height,
            seed,
        };
        for key in due {
            self.due.delete(key.clone());
            self.advance(&mut step, &key.1)?;
        }
        Ok(())
    }

    fn advance(&mut self, step: &mut Step<'_>, key: &TaskKey) -> Result<(), BlockError> {
        let (Some(job), Some(mut task)) =
            (self.jobs.get(&key.0).cloned(), self.tasks.get(key).cloned())
        else {
            return Err(BlockError::Invariant {
                context: "a due task without its record",
            });
        };
        match task.phase {
            Phase::Assigning => self.assign(step, key, &job, &mut task)?,
            Phase::Committing => {
                task.phase = Phase::Revealing;
                task.deadline = step.height.saturating_add(step.params.reveal_window_blocks);
            }
            Phase::Revealing => self.decide_round(step, key, &job, &mut task)?,
            Phase::Accepting => {
                let decided = task.decided;
                self.settle(
                    step,
                    key,
                    &job,
                    &mut task,
                    Verification::AutoAccepted,
                    Some(decided),
                )?;
            }
            Phase::Closed => {}
        }
        if task.phase != Phase::Closed {
            self.due.put(HeightTask(task.deadline, key.clone()), 0);
        }
        self.tasks.put(key.clone(), task);
        Ok(())
    }

    /// Draws the current round's providers and opens its commitments; a round nobody can
    /// serve closes the task (or, for a spot check, leaves it to be accepted).
    fn assign(
        &mut self,
        step: &mut Step<'_>,
        key: &TaskKey,
        job: &Job,
        task: &mut Task,
    ) -> Result<(), BlockError> {
        let wanted = match task.round {
            Round::Primary => job.replication,
            Round::Spot => 1,
            Round::Referee => step.params.referees,
        };
        let drawn = self.draw(step, key, job, task, wanted);
        task.draws.0.push(Draw {
            round: task.round,
            height: step.height,
            seed: step.seed,
            roll: 0,
            checked: false,
        });
        let enough = match task.round {
            Round::Primary => drawn.len() == usize::from(wanted),
            Round::Spot | Round::Referee => !drawn.is_empty(),
        };
        if !enough {
            return match task.round {
                Round::Primary => self.settle(step, key, job, task, Verification::NoProvider, None),
                // Nobody left to check: the outcome stands as it was before the roll.
                Round::Spot => {
                    let decided = task.decided;
                    if self.primary_agreement(task) >= 2 {
                        return self.settle(
                            step,
                            key,
                            job,
                            task,
                            Verification::Matched,
                            Some(decided),
                        );
                    }
                    task.phase = Phase::Accepting;
                    task.deadline = step.height.saturating_add(step.params.accept_window_blocks);
                    Ok(())
                }
                Round::Referee => self.settle(step, key, job, task, Verification::NoMajority, None),
            };
        }
        for (device, _, price) in drawn {
            let Some(mut provider) = self.providers.get(&device).cloned() else {
                return Err(BlockError::Invariant {
                    context: "a drawn provider without its record",
                });
            };
            provider.open_slots = provider.open_slots.saturating_add(1);
            self.providers.put(device.clone(), provider.clone());
            self.open_by_provider
                .put(ProviderTask(device.clone(), key.clone()), step.height);
            task.slots.0.push(Slot {
                device,
                owner: provider.owner,
                round: task.round,
                credits_per_mfuel: price,
                committed: false,
                commitment: [0; 32],
                revealed: false,
                outcome: NO_OUTCOME,
                verdict: Verdict::Pending,
                paid_credits: 0,
                slashed: Amount::ZERO,
            });
        }
        task.phase = Phase::Committing;
        task.deadline = step.height.saturating_add(step.params.commit_window_blocks);
        Ok(())
    }

    /// Up to `wanted` eligible providers drawn without replacement, none already assigned to
    /// the task and no two of one owner, in device-id order before the draw.
    fn draw(
        &self,
        step: &Step<'_>,
        key: &TaskKey,
        job: &Job,
        task: &Task,
        wanted: u8,
    ) -> Vec<(DeviceId, Provider, u64)> {
        // The walk is over committed providers; each record is read with this block's writes
        // (an offer withdrawn in this block is gone, an assignment earlier in it counted).
        let mut candidates: Vec<(DeviceId, Provider, u64)> = self
            .providers
            .committed()
            .keys()
            .filter_map(|d| self.providers.get(d).map(|p| (d, p)))
            .filter(|(_, p)| {
                p.collateral >= step.params.min_collateral && p.max_fuel_per_task >= job.fuel_limit
            })
            .filter(|(d, p)| {
                step.core.active_device(d).is_ok_and(|record| {
                    record.kind == ResourceKind::Compute && record.owner == p.owner
                })
            })
            .filter(|(d, p)| {
                !task
                    .slots
                    .0
                    .iter()
                    .any(|s| s.device == **d || s.owner == p.owner)
            })
            .filter_map(|(d, p)| {
                let price = step.usage.offer(d)?.credits_per_unit;
                (price <= job.max_credits_per_mfuel).then(|| (d.clone(), p.clone(), price))
            })
            .collect();
        let id = task_id(&key.0, key.1);
        let mut drawn: Vec<(DeviceId, Provider, u64)> = Vec::new();
        let mut i = 0u8;
        while drawn.len() < usize::from(wanted) && !candidates.is_empty() {
            let at = draw_below(&step.seed, &id, task.round, i, candidates.len() as u64);
            let pick = candidates.swap_remove(usize::try_from(at).unwrap_or(0));
            // No two of one owner in a task.
            candidates.retain(|(_, p, _)| p.owner != pick.1.owner);
            drawn.push(pick);
            i = i.saturating_add(1);
        }
        drawn
    }

    /// The reveals of the current round have closed: decide what comes next.
    fn decide_round(
        &mut self,
        step: &mut Step<'_>,
        key: &TaskKey,
        job: &Job,
        task: &mut Task,
    ) -> Result<(), BlockError> {
        let outcomes: Vec<TaskOutcome> = task
            .round_slots()
            .filter(|s| s.revealed)
            .map(|s| s.outcome)
            .collect();
        match task.round {
            Round::Primary => {
                let Some(first) = outcomes.first().copied() else {
                    return self.settle(step, key, job, task, Verification::NoOutcome, None);
                };
                if outcomes.iter().any(|o| *o != first) {
                    return self.call_referees(step, key, job, task);
                }
                // Agreeing outcomes: roll for a spot check from this block's hash, which did
                // not exist when they were revealed, so a pair that colludes is caught at the
                // job's rate when the chain assigns them together.
                let roll = spot_roll(&step.seed, &task_id(&key.0, key.1));
                let checked = roll < job.spot_check_bps;
                task.draws.0.push(Draw {
                    round: Round::Spot,
                    height: step.height,
                    seed: step.seed,
                    roll,
                    checked,
                });
                task.decided = first;
                if checked {
                    task.round = Round::Spot;
                    self.assign(step, key, job, task)
                } else if outcomes.len() >= 2 {
                    self.settle(step, key, job, task, Verification::Matched, Some(first))
                } else {
                    task.phase = Phase::Accepting;
                    task.deadline = step.height.saturating_add(step.params.accept_window_blocks);
                    Ok(())
                }
            }
            Round::Spot => {
                let primary = task.decided;
                match outcomes.first() {
                    Some(check) if *check == primary => self.settle(
                        step,
                        key,
                        job,
                        task,
                        Verification::SpotChecked,
                        Some(primary),
                    ),
                    Some(_) => self.call_referees(step, key, job, task),
                    // The checker stayed silent (it is slashed at the end): the outcome stands
                    // as it was before the roll.
                    None if self.primary_agreement(task) >= 2 => {
                        self.settle(step, key, job, task, Verification::Matched, Some(primary))
                    }
                    None => {
                        task.phase = Phase::Accepting;
                        task.deadline =
                            step.height.saturating_add(step.params.accept_window_blocks);
                        Ok(())
                    }
                }
            }
            Round::Referee => {
                // The referees' runs join the earlier ones, and the most common revealed
                // outcome decides if it is strictly ahead of every other: two colluders drawn
                // onto a committee of three cannot outvote the honest runs before them, only
                // stall the task, and several different wrong answers do not stall it.
                let all: Vec<TaskOutcome> = task
                    .slots
                    .0
                    .iter()
                    .filter(|s| s.revealed)
                    .map(|s| s.outcome)
                    .collect();
                let votes = |o: &TaskOutcome| all.iter().filter(|other| *other == o).count();
                let best = all.iter().map(votes).max().unwrap_or(0);
                let leaders: Vec<TaskOutcome> = all
                    .iter()
                    .copied()
                    .filter(|o| votes(o) == best)
                    .fold(Vec::new(), |mut distinct, o| {
                        if !distinct.contains(&o) {
                            distinct.push(o);
                        }
                        distinct
                    });
                let majority = match leaders.as_slice() {
                    [only] => Some(*only),
                    _ => None,
                };
                match majority {
                    Some(decided) => {
                        self.settle(step, key, job, task, Verification::Refereed, Some(decided))
                    }
                    None => self.settle(step, key, job, task, Verification::NoMajority, None),
                }
            }
        }
    }

    /// How many primary runs revealed the outcome the task holds.
    fn primary_agreement(&self, task: &Task) -> usize {
        task.slots
            .0
            .iter()
            .filter(|s| s.round == Round::Primary && s.revealed && s.outcome == task.decided)
            .count()
    }

    fn call_referees(
        &mut self,
        step: &mut Step<'_>,
        key: &TaskKey,
        job: &Job,
        task: &mut Task,
    ) -> Result<(), BlockError> {
        task.round = Round::Referee;
        self.assign(step, key, job, task)
    }

    /// Closes a task: pays every assignment whose outcome is `decided`, slashes every one
    /// whose outcome differs or that stayed silent, returns the rest of the escrow and frees
    /// the providers' assignments.
    fn settle(
        &mut self,
        step: &mut Step<'_>,
        key: &TaskKey,
        job: &Job,
        task: &mut Task,
        verification: Verification,
        decided: Option<TaskOutcome>,
    ) -> Result<(), BlockError> {
        let arithmetic = BlockError::Arithmetic {
            context: "compute settlement",
        };
        // Every slot belongs to a round whose reveals have closed.
        for slot in &mut task.slots.0 {
            slot.verdict = match (slot.revealed, decided) {
                (false, _) => Verdict::Silent,
                (true, Some(d)) if slot.outcome == d => Verdict::Agreed,
                (true, Some(_)) => Verdict::Disagreed,
                (true, None) => Verdict::Undecided,
            };
        }
        // Payments: each agreeing assignment at its own price, for the decided fuel.
        for slot in &mut task.slots.0 {
            if slot.verdict != Verdict::Agreed {
                continue;
            }
            let pay = fuel_credits(slot.outcome.fuel_used, slot.credits_per_mfuel)
                .ok_or(arithmetic.clone())?;
            task.escrow_credits =
                task.escrow_credits
                    .checked_sub(pay)
                    .ok_or(BlockError::Invariant {
                        context: "a task pays more than its escrow",
                    })?;
            task.paid_credits = task
                .paid_credits
                .checked_add(pay)
                .ok_or(arithmetic.clone())?;
            slot.paid_credits = pay;
            if pay > 0 {
                step.usage
                    .record_spent(step.credits, step.epoch, &slot.device, pay)?;
            }
        }
        // Slashes: the honest side is the owners who were right, else the customer.
        let honest: Vec<Address> = task
            .slots
            .0
            .iter()
            .filter(|s| s.verdict == Verdict::Agreed)
            .map(|s| s.owner)
            .collect();
        for slot in &mut task.slots.0 {
            if !matches!(slot.verdict, Verdict::Disagreed | Verdict::Silent) {
                continue;
            }
            // Nobody revealed anything: most likely the customer's source served no module or
            // input, which no provider can be blamed for. Nobody is paid or slashed.
            if verification == Verification::NoOutcome {
                continue;
            }
            let Some(mut provider) = self.providers.get(&slot.device).cloned() else {
                return Err(BlockError::Invariant {
                    context: "an assignment without its provider",
                });
            };
            let slash =
                bps_of(provider.collateral, step.params.slash_bps).ok_or(arithmetic.clone())?;
            let to_honest =
                bps_of(slash, step.params.slash_to_honest_bps).ok_or(arithmetic.clone())?;
            let mut paid = Amount::ZERO;
            if honest.is_empty() {
                if to_honest > Amount::ZERO {
                    step.core
                        .release_escrow(&job.customer, to_honest, "compute slash")?;
                }
                paid = to_honest;
            } else {
                let each = Amount(to_honest.0 / honest.len() as u128);
                if each > Amount::ZERO {
                    for owner in &honest {
                        step.core.release_escrow(owner, each, "compute slash")?;
                        paid = paid.checked_add(each).ok_or(arithmetic.clone())?;
                    }
                }
            }
            let burned = slash.checked_sub(paid).ok_or(arithmetic.clone())?;
            if burned > Amount::ZERO {
                step.core.burn_escrow(burned)?;
            }
            provider.collateral =
                provider
                    .collateral
                    .checked_sub(slash)
                    .ok_or(BlockError::Invariant {
                        context: "a slash above the provider's collateral",
                    })?;
            provider.slashed = provider
                .slashed
                .checked_add(slash)
                .ok_or(arithmetic.clone())?;
            self.providers.put(slot.device.clone(), provider);
            slot.slashed = slash;
        }
        // Free the assignments and return what is left.
        for slot in &task.slots.0 {
            self.open_by_provider
                .delete(ProviderTask(slot.device.clone(), key.clone()));
            if let Some(mut provider) = self.providers.get(&slot.device).cloned() {
                provider.open_slots = provider.open_slots.saturating_sub(1);
                self.providers.put(slot.device.clone(), provider);
            }
        }
        if task.escrow_credits > 0 {
            step.core
                .return_credits(&job.customer, task.escrow_credits)?;
            task.escrow_credits = 0;
        }
        task.phase = Phase::Closed;
        task.verification = verification;
        task.decided = decided.unwrap_or(NO_OUTCOME);
        task.closed_at = step.height;
        let mut job = job.clone();
        job.open_tasks = job.open_tasks.saturating_sub(1);
        self.jobs.put(key.0, job);
        Ok(())
    }

    // ---- queries -------------------------------------------------------------------------

    pub(crate) fn provider(&self, device: &DeviceId) -> Option<Provider> {
        self.providers.get(device).cloned()
    }

    pub(crate) fn providers(&self, limit: usize) -> Vec<(DeviceId, Provider)> {
        self.providers
            .committed()
            .iter()
            .take(limit)
            .map(|(d, p)| (d.clone(), p.clone()))
            .collect()
    }

    pub(crate) fn job(&self, id: &Digest) -> Option<Job> {
        self.jobs.get(id).cloned()
    }

    pub(crate) fn task(&self, job: &Digest, index: u8) -> Option<Task> {
        self.tasks.get(&TaskKey(*job, index)).cloned()
    }

    /// A job's tasks, in order.
    pub(crate) fn tasks_of(&self, id: &Digest) -> Vec<(u8, Task)> {
        let Some(job) = self.job(id) else {
            return Vec::new();
        };
        (0..job.tasks)
            .filter_map(|i| self.task(id, i).map(|t| (i, t)))
            .collect()
    }

    /// Up to `limit` of a customer's jobs in id order.
    pub(crate) fn jobs_of(&self, customer: &Address, limit: usize) -> Vec<(Digest, Job)> {
        let from = CustomerJob(*customer, Digest::from([0u8; 32]));
        let to = CustomerJob(*customer, Digest::from([0xFF; 32]));
        self.by_customer
            .committed()
            .range(from..=to)
            .filter_map(|(k, _)| self.job(&k.1).map(|j| (k.1, j)))
            .take(limit)
            .collect()
    }

    /// Up to `limit` of the open tasks a provider is assigned to, by job and index.
    pub(crate) fn open_tasks_of_provider(
        &self,
        device: &DeviceId,
        limit: usize,
    ) -> Vec<(Digest, u8, Task)> {
        let from = ProviderTask(device.clone(), TaskKey(Digest::from([0u8; 32]), 0));
        let to = ProviderTask(device.clone(), TaskKey(Digest::from([0xFF; 32]), u8::MAX));
        self.open_by_provider
            .committed()
            .range(from..=to)
            .filter_map(|(k, _)| {
                let key = &k.1;
                self.tasks.get(key).map(|t| (key.0, key.1, t.clone()))
            })
            .take(limit)
            .collect()
    }
}

/// What the block step carries through a task's moves.
struct Step<'a> {
    core: &'a mut Core,
    usage: &'a mut Usage,
    credits: &'a mut Credits,
    params: &'a ComputeParams,
    epoch: u64,
    height: u64,
    seed: Digest,
}
