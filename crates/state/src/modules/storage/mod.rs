//! Storage: deals with escrowed credits, possession proofs over real bytes drawn from chain
//! randomness, faults that cost collateral, and payment for every proven period.
//!
//! - A storage device's owner **provides** capacity and locks collateral per GiB of it; the
//!   price is the device's usage offer, in credits per GiB-epoch ([`crate::modules::usage`]).
//! - A client **proposes** a deal set: one file as up to eight shards (erasure-coded or
//!   replicated), each with its provider, BLAKE3 root, size and price, for a number of
//!   proving periods. Every shard's whole price is escrowed from the client's credits.
//! - The provider's device **accepts** a shard once it holds the bytes and checked them
//!   against the root; that reserves the deal's collateral and capacity. A shard not accepted
//!   within `accept_window_blocks` expires and its escrow goes back.
//! - From the next period on, each period `p` covers heights `p·P + 1 ..= (p+1)·P`. Its
//!   challenges are [`groundwork_storage::challenged_leaves`] drawn from the hash of block
//!   `p·P`, which did not exist before the period began. The provider **proves** them in the
//!   period with each leaf's bytes and path; the chain verifies every one.
//! - When a period closes, a proven deal is paid its share of the escrow (spent credits,
//!   counted as the device's verified usage, so the usage mint pays for it). An unproven deal
//!   is at **fault**: nothing is paid, `fault_slash_bps` of its collateral is slashed (part to
//!   the client, the rest burned), and after `max_faults` faults in a row the deal ends and
//!   the rest of its escrow returns to the client.
//! - The client may **end** a deal set at any time; providers keep what they proved.
//!
//! Payment is cumulative, so rounding never loses or creates a credit: after `n` proven
//! periods a deal has been paid [`owed_credits`]`(n)`, and the escrow is `owed_credits(periods)`.

mod error;
mod genesis;

pub use error::StorageError;

use crate::core::{Core, Singleton};
use crate::error::{BlockError, InvariantViolation, TxError};
use crate::genesis::{BASIS_POINTS_TOTAL, Params};
use crate::module::{Module, ModuleInfo};
use crate::modules::credits::Credits;
use crate::modules::usage::{Usage, mul_div_floor};
use crate::table::{AnyTable, Table};
use groundwork_primitives::codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::limits::{MAX_LEAF_BYTES, MAX_PROOF_PATH, MAX_SHARDS_PER_SET};
use groundwork_primitives::tx::storage::{Endpoint, LeafAnswer, ShardDeal};
use groundwork_primitives::{
    Address, Amount, DeviceId, ResourceKind, StorageCall, StorageReport, deal_id, deal_set_id,
};
use groundwork_storage::{LeafProof, MAX_SHARD_BYTES, Root, challenged_leaves, leaf_count};

// The wire limits and the tree must agree.
const _: () = assert!(MAX_LEAF_BYTES == groundwork_storage::LEAF_BYTES);
const _: () = assert!(MAX_PROOF_PATH == groundwork_storage::MAX_TREE_HEIGHT);

/// Bytes in a GiB: prices and collateral are per GiB.
pub const GIB: u128 = 1 << 30;

/// The storage module's section of the chain parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageParams {
    /// Blocks in one proving period.
    pub period_blocks: u64,
    /// Leaves challenged per deal per period.
    pub challenges_per_period: u16,
    /// Blocks a provider has to accept a proposed deal.
    pub accept_window_blocks: u64,
    /// Share of a deal's collateral slashed per fault, in basis points.
    pub fault_slash_bps: u16,
    /// Share of a slash paid to the client; the rest is burned.
    pub slash_to_client_bps: u16,
    /// Consecutive faults that terminate a deal.
    pub max_faults: u32,
    /// Least collateral per GiB a provider may lock.
    pub min_collateral_per_gib: Amount,
    /// Longest deal, in periods.
    pub max_periods: u32,
    /// Retrieval checkers drawn per deal per period among the other storage providers
    /// (0: no checks).
    pub checkers_per_deal: u16,
    /// Least share of a period's posted checks that must succeed for the period to be paid,
    /// in basis points.
    pub min_retrieval_bps: u16,
}
impl_struct_codec!(StorageParams {
    period_blocks,
    challenges_per_period,
    accept_window_blocks,
    fault_slash_bps,
    slash_to_client_bps,
    max_faults,
    min_collateral_per_gib,
    max_periods,
    checkers_per_deal,
    min_retrieval_bps
});

impl StorageParams {
    /// A real network's defaults: daily periods of 1-second blocks and PDP's five challenges,
    /// 5 % of the collateral per fault, half of it to the client, three faults in a row end a
    /// deal; at least one token (6 decimals) per GiB; deals up to ten years.
    pub fn daily() -> Self {
        Self {
            period_blocks: 86_400,
            challenges_per_period: 5,
            accept_window_blocks: 3_600,
            fault_slash_bps: 500,
            slash_to_client_bps: 5_000,
            max_faults: 3,
            min_collateral_per_gib: Amount(1_000_000),
            max_periods: 3_650,
            checkers_per_deal: 3,
            min_retrieval_bps: 5_000,
        }
    }

    /// The period a height belongs to (height 0, genesis, is in none: it counts as 0).
    pub fn period_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.period_blocks
    }

    /// The block whose hash seeds period `period`'s challenges: the last one before it.
    pub fn seed_height(&self, period: u64) -> u64 {
        period.saturating_mul(self.period_blocks)
    }

    /// The last height of period `period`: proofs for it are taken up to here.
    pub fn deadline(&self, period: u64) -> u64 {
        period.saturating_add(1).saturating_mul(self.period_blocks)
    }
}

/// Credits owed for `periods` proven periods of a shard of `size_bytes` at
/// `credits_per_gib_epoch`: `floor(price × size × periods × P ÷ (2^30 × E))`, exact.
pub fn owed_credits(
    credits_per_gib_epoch: u64,
    size_bytes: u64,
    periods: u64,
    period_blocks: u64,
    epoch_blocks: u64,
) -> Option<u64> {
    let value = u128::from(credits_per_gib_epoch).checked_mul(u128::from(size_bytes))?;
    let time = u128::from(periods).checked_mul(u128::from(period_blocks))?;
    let per = GIB.checked_mul(u128::from(epoch_blocks))?;
    u64::try_from(mul_div_floor(value, time, per)?).ok()
}

/// Collateral a deal of `size_bytes` reserves at `per_gib`: rounded up, so any deal at a
/// non-zero rate reserves something.
pub fn collateral_for(size_bytes: u64, per_gib: Amount) -> Option<Amount> {
    let scaled = u128::from(size_bytes).checked_mul(per_gib.0)?;
    Some(Amount(scaled.div_ceil(GIB)))
}

/// `floor(amount × bps ÷ 10 000)`.
fn bps_of(amount: Amount, bps: u16) -> Option<Amount> {
    mul_div_floor(amount.0, u128::from(bps), u128::from(BASIS_POINTS_TOTAL)).map(Amount)
}

/// A provider's capacity and collateral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub owner: Address,
    pub capacity_bytes: u64,
    /// Bytes its active deals hold.
    pub used_bytes: u64,
    pub collateral_per_gib: Amount,
    /// Collateral in escrow: what its deals reserve plus the free capacity's.
    pub locked: Amount,
    /// Of that, what active deals reserve.
    pub reserved: Amount,
    /// Where clients reach its agent.
    pub endpoint: Endpoint,
}
impl_struct_codec!(Provider {
    owner,
    capacity_bytes,
    used_bytes,
    collateral_per_gib,
    locked,
    reserved,
    endpoint
});

impl Provider {
    pub fn free_bytes(&self) -> u64 {
        self.capacity_bytes.saturating_sub(self.used_bytes)
    }

    pub fn free_collateral(&self) -> Amount {
        Amount(self.locked.0.saturating_sub(self.reserved.0))
    }
}

/// One file's deals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DealSet {
    pub client: Address,
    pub file_size: u64,
    pub file_hash: [u8; 32],
    pub data_shards: u8,
    pub shards: u8,
    pub periods: u32,
    pub proposed_at: u64,
    /// When the client ended it (0: it did not).
    pub ended_at: u64,
}
impl_struct_codec!(DealSet {
    client,
    file_size,
    file_hash,
    data_shards,
    shards,
    periods,
    proposed_at,
    ended_at
});

/// Where a deal is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DealStatus {
    /// Escrowed, waiting for the provider's acceptance.
    Proposed,
    /// Accepted: proving every period.
    Active,
    /// Ran all its periods.
    Completed,
    /// Ended by `max_faults` faults in a row.
    Terminated,
    /// Ended by the client.
    Ended,
    /// Never accepted in time.
    Expired,
}

impl DealStatus {
    pub fn name(self) -> &'static str {
        match self {
            DealStatus::Proposed => "proposed",
            DealStatus::Active => "active",
            DealStatus::Completed => "completed",
            DealStatus::Terminated => "terminated",
            DealStatus::Ended => "ended",
            DealStatus::Expired => "expired",
        }
    }

    fn tag(self) -> u8 {
        self as u8
    }
}

impl Write for DealStatus {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.tag().write(buf);
    }
}
impl EncodeSize for DealStatus {
    fn encode_size(&self) -> usize {
        1
    }
}
impl Read for DealStatus {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => DealStatus::Proposed,
            1 => DealStatus::Active,
            2 => DealStatus::Completed,
            3 => DealStatus::Terminated,
            4 => DealStatus::Ended,
            5 => DealStatus::Expired,
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// One shard's deal, every step of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deal {
    pub set: Digest,
    pub index: u8,
    pub client: Address,
    pub provider: DeviceId,
    pub root: [u8; 32],
    pub size_bytes: u64,
    pub credits_per_gib_epoch: u64,
    pub periods: u32,
    pub status: DealStatus,
    pub proposed_at: u64,
    /// Height of acceptance (0: not accepted).
    pub accepted_at: u64,
    /// The first period it proves (set at acceptance).
    pub first_period: u64,
    /// Credits still in escrow.
    pub escrow_credits: u64,
    pub paid_credits: u64,
    /// Collateral the deal still reserves.
    pub collateral: Amount,
    pub slashed: Amount,
    /// Periods proven and paid.
    pub proven: u32,
    /// Periods proven whose payment was withheld: too many retrieval checks failed.
    pub withheld: u32,
    pub faults: u32,
    pub consecutive_faults: u32,
    /// Height it stopped (0: it has not).
    pub closed_at: u64,
}
impl_struct_codec!(Deal {
    set,
    index,
    client,
    provider,
    root,
    size_bytes,
    credits_per_gib_epoch,
    periods,
    status,
    proposed_at,
    accepted_at,
    first_period,
    escrow_credits,
    paid_credits,
    collateral,
    slashed,
    proven,
    withheld,
    faults,
    consecutive_faults,
    closed_at
});

impl Deal {
    /// The last period it proves.
    pub fn last_period(&self) -> u64 {
        self.first_period
            .saturating_add(u64::from(self.periods))
            .saturating_sub(1)
    }

    fn holds_escrow(&self) -> bool {
        matches!(self.status, DealStatus::Proposed | DealStatus::Active)
    }
}

/// How one period of one deal went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeriodRecord {
    /// Height of the accepted proof (0: none, a fault).
    pub proven_at: u64,
    /// Settled at the period's end (`false` while the period is open).
    pub settled: bool,
    pub paid_credits: u64,
    pub slashed: Amount,
    pub to_client: Amount,
    pub burned: Amount,
    /// Retrieval checks posted for the period that succeeded and failed.
    pub checks_ok: u16,
    pub checks_failed: u16,
    /// Proven, but not paid: too few of the posted checks succeeded.
    pub withheld: bool,
}
impl_struct_codec!(PeriodRecord {
    proven_at,
    settled,
    paid_credits,
    slashed,
    to_client,
    burned,
    checks_ok,
    checks_failed,
    withheld
});

/// One retrieval checker's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRecord {
    pub checker: DeviceId,
    pub block: u64,
    pub ok: bool,
    pub at: u64,
}
impl_struct_codec!(CheckRecord {
    checker,
    block,
    ok,
    at
});

/// A retrieval check drawn when its period opened: who checks, and which block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrawnCheck {
    pub checker: DeviceId,
    pub block: u64,
}
impl_struct_codec!(DrawnCheck { checker, block });

impl PeriodRecord {
    pub fn faulted(&self) -> bool {
        self.settled && self.proven_at == 0
    }
}

pair_key!(
    /// A deal, then a period.
    DealPeriod(Digest, u64)
);
pair_key!(
    /// A deal's period, then a checker's position in the draw.
    CheckKey(DealPeriod, u16)
);
pair_key!(
    /// A height, then a deal.
    HeightDeal(u64, Digest)
);
pair_key!(
    /// A checker, then the deal, period and position it is drawn for.
    CheckerDraw(DeviceId, CheckKey)
);
pair_key!(
    /// A client, then one of its deal sets.
    ClientSet(Address, Digest)
);
pair_key!(
    /// A provider device, then one of its deals.
    ProviderDeal(DeviceId, Digest)
);

/// Table prefixes of the storage module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const PROVIDER: u8 = 0x80;
    pub const DEAL_SET: u8 = 0x81;
    pub const DEAL: u8 = 0x82;
    pub const ACTIVE_DEAL: u8 = 0x83;
    pub const ACCEPT_DEADLINE: u8 = 0x84;
    pub const DEAL_PERIOD: u8 = 0x85;
    pub const CLIENT_SET: u8 = 0x86;
    pub const PROVIDER_DEAL: u8 = 0x87;
    pub const PERIOD_SEED: u8 = 0x88;
    pub const STORAGE_PARAMS: u8 = 0x89;
    pub const RETRIEVAL_CHECK: u8 = 0x8A;
    pub const DRAWN_CHECK: u8 = 0x8B;
    pub const CHECKER_DRAW: u8 = 0x8C;
}

#[derive(Clone, Debug)]
pub(crate) struct Storage {
    providers: Table<DeviceId, Provider>,
    sets: Table<Digest, DealSet>,
    deals: Table<Digest, Deal>,
    /// Deals accepted and not yet closed: the walk at each period's end.
    active: Table<Digest, u8>,
    /// Proposed deals by the last height they may be accepted.
    accept_by: Table<HeightDeal, u8>,
    periods: Table<DealPeriod, PeriodRecord>,
    by_client: Table<ClientSet, u64>,
    by_provider: Table<ProviderDeal, u64>,
    /// Each period's challenge seed, recorded when the period opens.
    seeds: Table<u64, Digest>,
    params: Table<Singleton, StorageParams>,
    checks: Table<CheckKey, CheckRecord>,
    /// The open period's retrieval checkers, drawn and frozen when it opened.
    drawn: Table<CheckKey, DrawnCheck>,
    /// The same draws by checker, so an agent's checks are found without a walk of deals.
    by_checker: Table<CheckerDraw, u8>,
}

impl Module for Storage {
    fn store_params(&mut self, params: &Params) {
        self.params.insert_committed(Singleton, params.storage);
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .copied()
            .map(|stored| params.storage = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "storage",
            prefixes: 0x80..=0x8F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.providers,
            &self.sets,
            &self.deals,
            &self.active,
            &self.accept_by,
            &self.periods,
            &self.by_client,
            &self.by_provider,
            &self.seeds,
            &self.params,
            &self.checks,
            &self.drawn,
            &self.by_checker,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.providers,
            &mut self.sets,
            &mut self.deals,
            &mut self.active,
            &mut self.accept_by,
            &mut self.periods,
            &mut self.by_client,
            &mut self.by_provider,
            &mut self.seeds,
            &mut self.params,
            &mut self.checks,
            &mut self.drawn,
            &mut self.by_checker,
        ]
    }

    /// Providers' locked collateral.
    fn held(&self) -> Result<Amount, InvariantViolation> {
        self.providers
            .committed()
            .values()
            .try_fold(Amount::ZERO, |sum, p| sum.checked_add(p.locked))
            .ok_or(InvariantViolation::Overflow {
                what: "storage collateral",
            })
    }

    /// Credits in the escrow of deals proposed or active.
    fn credits_held(&self) -> Result<u64, InvariantViolation> {
        self.deals
            .committed()
            .values()
            .filter(|d| d.holds_escrow())
            .try_fold(0u64, |sum, d| sum.checked_add(d.escrow_credits))
            .ok_or(InvariantViolation::Overflow {
                what: "storage escrow",
            })
    }

    /// Each provider's reserved collateral and used bytes are its active deals'.
    fn check(&self) -> Result<(), InvariantViolation> {
        let mut reserved: std::collections::BTreeMap<&DeviceId, (u128, u64)> =
            std::collections::BTreeMap::new();
        for deal in self.deals.committed().values() {
            if deal.status == DealStatus::Active {
                let entry = reserved.entry(&deal.provider).or_default();
                entry.0 = entry.0.saturating_add(deal.collateral.0);
                entry.1 = entry.1.saturating_add(deal.size_bytes);
            }
        }
        for (device, provider) in self.providers.committed() {
            let (collateral, bytes) = reserved.get(device).copied().unwrap_or_default();
            if provider.reserved.0 != collateral || provider.used_bytes != bytes {
                return Err(InvariantViolation::CounterMismatch {
                    counter: "storage reserved collateral",
                    counted: Amount(collateral),
                    recorded: provider.reserved,
                });
            }
            if provider.reserved > provider.locked {
                return Err(InvariantViolation::CounterMismatch {
                    counter: "storage locked collateral",
                    counted: provider.reserved,
                    recorded: provider.locked,
                });
            }
        }
        Ok(())
    }
}

/// Refuses a report on `deal` for `period` unless the deal is active and proves in `period`,
/// and `period` is the one open at `height`.
fn check_open_period(
    params: &StorageParams,
    height: u64,
    id: &Digest,
    deal: &Deal,
    period: u64,
) -> Result<(), TxError> {
    if deal.status != DealStatus::Active {
        return Err(StorageError::WrongStatus {
            deal: *id,
            status: deal.status.name(),
            needed: "active",
        }
        .into());
    }
    let current = params.period_of(height);
    let (first, last) = (deal.first_period, deal.last_period());
    if period != current || period < first || period > last {
        return Err(StorageError::WrongPeriod {
            period,
            current,
            first,
            last,
        }
        .into());
    }
    Ok(())
}

/// Refuses new deals on a device whose provider record belongs to an owner it no longer has:
/// its collateral is the previous owner's.
fn provided_by_owner(core: &Core, device: &DeviceId, provider: &Provider) -> Result<(), TxError> {
    match core.device(device) {
        Some(record) if record.owner != provider.owner => Err(StorageError::ProvidedByAnother {
            device: device.clone(),
            owner: provider.owner,
        }
        .into()),
        _ => Ok(()),
    }
}

/// What a storage call or report needs besides the module itself.
pub(crate) struct StorageContext<'a> {
    pub core: &'a mut Core,
    pub usage: &'a Usage,
    pub params: &'a StorageParams,
    pub height: u64,
}

fn short(what: &'static str) -> TxError {
    TxError::Core(crate::error::CoreError::AmountOverflow { what })
}

impl Storage {
    pub(crate) fn new() -> Self {
        Self {
            providers: Table::new(prefix::PROVIDER, "storage providers"),
            sets: Table::new(prefix::DEAL_SET, "deal sets"),
            deals: Table::new(prefix::DEAL, "deals"),
            active: Table::new(prefix::ACTIVE_DEAL, "active deals"),
            accept_by: Table::new(prefix::ACCEPT_DEADLINE, "deal accept deadlines"),
            periods: Table::new(prefix::DEAL_PERIOD, "deal periods"),
            by_client: Table::new(prefix::CLIENT_SET, "client deal sets"),
            by_provider: Table::new(prefix::PROVIDER_DEAL, "provider deals"),
            seeds: Table::new(prefix::PERIOD_SEED, "period seeds"),
            params: Table::new(prefix::STORAGE_PARAMS, "storage params"),
            checks: Table::new(prefix::RETRIEVAL_CHECK, "retrieval checks"),
            drawn: Table::new(prefix::DRAWN_CHECK, "drawn retrieval checks"),
            by_checker: Table::new(prefix::CHECKER_DRAW, "retrieval checks by checker"),
        }
    }

    /// Applies one of the module's calls, its fee already paid.
    pub(crate) fn apply_call(
        &mut self,
        cx: StorageContext<'_>,
        sender: &Address,
        nonce: u64,
        epoch_blocks: u64,
        call: &StorageCall,
    ) -> Result<(), TxError> {
        match call {
            StorageCall::Provide {
                device,
                capacity_bytes,
                collateral_per_gib,
                endpoint,
            } => self.provide(
                cx,
                sender,
                device,
                *capacity_bytes,
                *collateral_per_gib,
                endpoint,
            ),
            StorageCall::Propose {
                file_size,
                file_hash,
                data_shards,
                periods,
                shards,
            } => {
                let set = DealSet {
                    client: *sender,
                    file_size: *file_size,
                    file_hash: *file_hash,
                    data_shards: *data_shards,
                    shards: u8::try_from(shards.len()).unwrap_or(u8::MAX),
                    periods: *periods,
                    proposed_at: cx.height,
                    ended_at: 0,
                };
                self.propose(cx, deal_set_id(sender, nonce), set, shards, epoch_blocks)
            }
            StorageCall::End { set } => self.end(cx, sender, set),
        }
    }

    fn provide(
        &mut self,
        cx: StorageContext<'_>,
        sender: &Address,
        device: &DeviceId,
        capacity_bytes: u64,
        collateral_per_gib: Amount,
        endpoint: &Endpoint,
    ) -> Result<(), TxError> {
        // Capacity 0 from the provider's own owner withdraws the collateral no deal holds,
        // whatever became of the device since (decommissioned, unbonding, sold), so none is
        // stranded.
        if capacity_bytes == 0
            && let Some(current) = self.providers.get(device).cloned()
            && current.owner == *sender
        {
            if current.used_bytes > 0 || current.reserved > Amount::ZERO {
                return Err(StorageError::CapacityInUse {
                    capacity_bytes,
                    used_bytes: current.used_bytes,
                }
                .into());
            }
            cx.core
                .release_escrow(sender, current.locked, "storage collateral")
                .map_err(|_| short("collateral"))?;
            self.providers.delete(device.clone());
            return Ok(());
        }
        let record = cx.core.owned_active_device(sender, device)?;
        let url = std::str::from_utf8(&endpoint.0).unwrap_or("");
        if capacity_bytes > 0 && !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(StorageError::BadEndpoint.into());
        }
        if record.kind != ResourceKind::Storage {
            return Err(StorageError::NotStorage {
                device: device.clone(),
            }
            .into());
        }
        let mut current = self.providers.get(device).cloned();
        // The device changed hands: its collateral is the previous owner's. Once no deal
        // holds any of it, it goes back to them and the new owner starts afresh.
        if let Some(previous) = current.as_ref().filter(|p| p.owner != *sender) {
            if previous.reserved > Amount::ZERO || previous.used_bytes > 0 {
                return Err(StorageError::ProvidedByAnother {
                    device: device.clone(),
                    owner: previous.owner,
                }
                .into());
            }
            cx.core
                .release_escrow(&previous.owner, previous.locked, "storage collateral")
                .map_err(|_| short("collateral"))?;
            self.providers.delete(device.clone());
            current = None;
        }
        let (used, reserved, locked) = current
            .map(|p| (p.used_bytes, p.reserved, p.locked))
            .unwrap_or((0, Amount::ZERO, Amount::ZERO));
        if capacity_bytes < used {
            return Err(StorageError::CapacityInUse {
                capacity_bytes,
                used_bytes: used,
            }
            .into());
        }
        if capacity_bytes > 0 && collateral_per_gib < cx.params.min_collateral_per_gib {
            return Err(StorageError::CollateralBelowMinimum {
                offered: collateral_per_gib,
                minimum: cx.params.min_collateral_per_gib,
            }
            .into());
        }
        // Locked: what deals reserve, plus the free capacity's collateral at the new rate.
        let free = collateral_for(capacity_bytes - used, collateral_per_gib)
            .ok_or_else(|| short("collateral"))?;
        let target = reserved
            .checked_add(free)
            .ok_or_else(|| short("collateral"))?;
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
                .release_escrow(sender, less, "storage collateral")
                .map_err(|_| short("collateral"))?;
        }
        if capacity_bytes == 0 && used == 0 {
            self.providers.delete(device.clone());
            return Ok(());
        }
        self.providers.put(
            device.clone(),
            Provider {
                owner: *sender,
                capacity_bytes,
                used_bytes: used,
                collateral_per_gib,
                locked: target,
                reserved,
                endpoint: endpoint.clone(),
            },
        );
        Ok(())
    }

    fn check_set(
        &self,
        set: &DealSet,
        shards: &[ShardDeal],
        max_periods: u32,
    ) -> Result<(), StorageError> {
        let bad = |reason| StorageError::BadSet { reason };
        if shards.is_empty() || shards.len() > MAX_SHARDS_PER_SET {
            return Err(bad("a set has 1 to 8 shards"));
        }
        if set.data_shards == 0 || usize::from(set.data_shards) > shards.len() {
            return Err(bad(
                "data_shards must be between 1 and the number of shards",
            ));
        }
        if set.file_size == 0 {
            return Err(bad("the file is empty"));
        }
        if set.periods == 0 || set.periods > max_periods {
            return Err(bad("periods must be between 1 and storage.max_periods"));
        }
        for (i, shard) in shards.iter().enumerate() {
            if shards[..i].iter().any(|s| s.provider == shard.provider) {
                return Err(bad("two shards of one set with the same provider"));
            }
            if shard.size_bytes == 0 || shard.size_bytes > MAX_SHARD_BYTES {
                return Err(StorageError::BadShardSize {
                    size_bytes: shard.size_bytes,
                    max: MAX_SHARD_BYTES,
                });
            }
        }
        Ok(())
    }

    fn propose(
        &mut self,
        cx: StorageContext<'_>,
        id: Digest,
        set: DealSet,
        shards: &[ShardDeal],
        epoch_blocks: u64,
    ) -> Result<(), TxError> {
        self.check_set(&set, shards, cx.params.max_periods)?;
        let mut escrows = Vec::with_capacity(shards.len());
        for shard in shards {
            let device = cx.core.active_device(&shard.provider)?;
            if device.kind != ResourceKind::Storage {
                return Err(StorageError::NotStorage {
                    device: shard.provider.clone(),
                }
                .into());
            }
            let provider = self
                .providers
                .get(&shard.provider)
                .cloned()
                .ok_or_else(|| StorageError::NotProviding {
                    device: shard.provider.clone(),
                })?;
            provided_by_owner(cx.core, &shard.provider, &provider)?;
            let offered = cx.usage.offer(&shard.provider).map(|o| o.credits_per_unit);
            if offered != Some(shard.credits_per_gib_epoch) {
                return Err(StorageError::PriceNotOffered {
                    device: shard.provider.clone(),
                    asked: shard.credits_per_gib_epoch,
                    offered,
                }
                .into());
            }
            if shard.size_bytes > provider.free_bytes() {
                return Err(StorageError::DealFull {
                    device: shard.provider.clone(),
                    size_bytes: shard.size_bytes,
                    free_bytes: provider.free_bytes(),
                }
                .into());
            }
            let escrow = owed_credits(
                shard.credits_per_gib_epoch,
                shard.size_bytes,
                u64::from(set.periods),
                cx.params.period_blocks,
                epoch_blocks,
            )
            .ok_or_else(|| short("deal escrow"))?;
            escrows.push(escrow);
        }
        let total = escrows
            .iter()
            .try_fold(0u64, |sum, e| sum.checked_add(*e))
            .ok_or_else(|| short("deal escrow"))?;
        if total == 0 {
            return Err(StorageError::NothingEscrowed.into());
        }
        cx.core.escrow_credits(&set.client, total)?;
        let accept_by = cx.height.saturating_add(cx.params.accept_window_blocks);
        for (index, (shard, escrow)) in shards.iter().zip(escrows).enumerate() {
            let index = u8::try_from(index).unwrap_or(u8::MAX);
            let deal = deal_id(&id, index);
            self.deals.put(
                deal,
                Deal {
                    set: id,
                    index,
                    client: set.client,
                    provider: shard.provider.clone(),
                    root: shard.root,
                    size_bytes: shard.size_bytes,
                    credits_per_gib_epoch: shard.credits_per_gib_epoch,
                    periods: set.periods,
                    status: DealStatus::Proposed,
                    proposed_at: cx.height,
                    accepted_at: 0,
                    first_period: 0,
                    escrow_credits: escrow,
                    paid_credits: 0,
                    collateral: Amount::ZERO,
                    slashed: Amount::ZERO,
                    proven: 0,
                    withheld: 0,
                    faults: 0,
                    consecutive_faults: 0,
                    closed_at: 0,
                },
            );
            self.accept_by.put(HeightDeal(accept_by, deal), 0);
            self.by_provider
                .put(ProviderDeal(shard.provider.clone(), deal), cx.height);
        }
        self.by_client.put(ClientSet(set.client, id), cx.height);
        self.sets.put(id, set);
        Ok(())
    }

    fn end(
        &mut self,
        cx: StorageContext<'_>,
        sender: &Address,
        id: &Digest,
    ) -> Result<(), TxError> {
        let mut set = self
            .sets
            .get(id)
            .copied()
            .ok_or(StorageError::Unknown { id: *id })?;
        if set.client != *sender {
            return Err(StorageError::NotTheClient { signer: *sender }.into());
        }
        if set.ended_at != 0 {
            return Err(StorageError::WrongStatus {
                deal: *id,
                status: "ended",
                needed: "open",
            }
            .into());
        }
        // A shard already proven in the open period keeps that proof: it runs to the period's
        // end and is settled there like any proven period, then closes as ended. The others
        // close now.
        let open = cx.params.period_of(cx.height);
        for index in 0..set.shards {
            let deal = deal_id(id, index);
            if let Some(mut record) = self.deals.get(&deal).cloned()
                && record.status == DealStatus::Active
                && (record.first_period..=record.last_period()).contains(&open)
                && self.periods.get(&DealPeriod(deal, open)).is_some()
            {
                let through = open
                    .checked_sub(record.first_period)
                    .and_then(|n| n.checked_add(1))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(short("ending a deal"))?;
                record.periods = through;
                self.deals.put(deal, record);
                continue;
            }
            self.close(cx.core, &deal, DealStatus::Ended, cx.height)
                .map_err(|_| short("ending a deal"))?;
            self.forget_draws(cx.params, &deal, open);
        }
        set.ended_at = cx.height;
        self.sets.put(*id, set);
        Ok(())
    }

    /// Closes a deal that is proposed or active with `status`: its escrow goes back to the
    /// client, its collateral and capacity back to the provider. A deal already closed is
    /// left alone.
    fn close(
        &mut self,
        core: &mut Core,
        id: &Digest,
        status: DealStatus,
        height: u64,
    ) -> Result<(), BlockError> {
        let Some(mut deal) = self.deals.get(id).cloned() else {
            return Err(BlockError::Invariant {
                context: "closing an unknown deal",
            });
        };
        if !deal.holds_escrow() {
            return Ok(());
        }
        core.return_credits(&deal.client, deal.escrow_credits)?;
        if deal.status == DealStatus::Active {
            let mut provider = self.provider_of(&deal)?;
            let invariant = BlockError::Invariant {
                context: "a provider reserves less than its deals",
            };
            provider.reserved = provider
                .reserved
                .checked_sub(deal.collateral)
                .ok_or(invariant.clone())?;
            provider.used_bytes = provider
                .used_bytes
                .checked_sub(deal.size_bytes)
                .ok_or(invariant)?;
            self.providers.put(deal.provider.clone(), provider);
            self.active.delete(*id);
        }
        deal.escrow_credits = 0;
        deal.status = status;
        deal.closed_at = height;
        self.deals.put(*id, deal);
        Ok(())
    }

    /// Applies one of the module's reports, from the active device `device`.
    pub(crate) fn apply_report(
        &mut self,
        cx: StorageContext<'_>,
        device: &DeviceId,
        report: &StorageReport,
    ) -> Result<(), TxError> {
        let id = report.deal();
        let deal = self
            .deals
            .get(&id)
            .cloned()
            .ok_or(StorageError::Unknown { id })?;
        if let StorageReport::Check {
            period,
            position,
            block,
            ok,
            ..
        } = report
        {
            return self.check(cx, device, id, &deal, *period, *position, *block, *ok);
        }
        if deal.provider != *device {
            return Err(StorageError::NotTheProvider {
                device: device.clone(),
            }
            .into());
        }
        match report {
            StorageReport::Accept { .. } => self.accept(cx, id, deal),
            StorageReport::Prove { period, leaves, .. } => {
                self.prove(cx, id, &deal, *period, leaves)
            }
            StorageReport::Check { .. } => Ok(()),
        }
    }

    /// Who checks `deal`'s retrieval in `period` and which block each fetches, once the
    /// period's seed is known: drawn among the other active storage providers, by device id.
    /// The retrieval checks drawn for `deal` in `period`, by position, as frozen when the
    /// period opened; `None` if the period has no seed.
    pub(crate) fn checkers(
        &self,
        params: &StorageParams,
        id: &Digest,
        period: u64,
    ) -> Option<Vec<(DeviceId, u64)>> {
        self.seeds.get(&period)?;
        Some(
            (0..params.checkers_per_deal)
                .map_while(|position| self.drawn.get(&CheckKey(DealPeriod(*id, period), position)))
                .map(|d| (d.checker.clone(), d.block))
                .collect(),
        )
    }

    /// Draws and stores the checkers of every active deal proving in `period`, from its seed,
    /// among the providers active now (never the deal's own). Frozen here, so a provider that
    /// adds or removes spare providers later in the period cannot shift its draw.
    fn draw_checkers(&mut self, core: &Core, params: &StorageParams, period: u64) {
        let Some(seed) = self.seeds.get(&period).copied() else {
            return;
        };
        if params.checkers_per_deal == 0 {
            return;
        }
        let candidates: Vec<DeviceId> = self
            .providers
            .committed()
            .keys()
            .filter(|d| core.active_device(d).is_ok())
            .cloned()
            .collect();
        let mut seed_bytes = [0u8; 32];
        seed_bytes.copy_from_slice(seed.as_ref());
        for id in self.active.keys() {
            let Some(deal) = self.deals.get(&id) else {
                continue;
            };
            if period < deal.first_period || period > deal.last_period() {
                continue;
            }
            // The others, in order: index i past the deal's own provider is shifted by one.
            let own = candidates.binary_search(&deal.provider).ok();
            let others = candidates.len().saturating_sub(usize::from(own.is_some()));
            let mut deal_bytes = [0u8; 32];
            deal_bytes.copy_from_slice(id.as_ref());
            let blocks = deal
                .size_bytes
                .div_ceil(groundwork_storage::BLOCK_BYTES as u64);
            let draws = groundwork_storage::retrieval_checks(
                &seed_bytes,
                &deal_bytes,
                period,
                params.checkers_per_deal,
                others as u64,
                blocks,
            );
            for (position, (who, block)) in (0u16..).zip(draws) {
                let at = who as usize;
                let at = match own {
                    Some(own) if at >= own => at.saturating_add(1),
                    _ => at,
                };
                if let Some(checker) = candidates.get(at) {
                    let key = CheckKey(DealPeriod(id, period), position);
                    self.by_checker
                        .put(CheckerDraw(checker.clone(), key.clone()), 0);
                    self.drawn.put(
                        key,
                        DrawnCheck {
                            checker: checker.clone(),
                            block,
                        },
                    );
                }
            }
        }
    }

    /// Forgets the drawn checks of `deal` for `period`: they matter only while it is open.
    fn forget_draws(&mut self, params: &StorageParams, id: &Digest, period: u64) {
        for position in 0..params.checkers_per_deal {
            let key = CheckKey(DealPeriod(*id, period), position);
            if let Some(drawn) = self.drawn.get(&key).cloned() {
                self.by_checker
                    .delete(CheckerDraw(drawn.checker, key.clone()));
                self.drawn.delete(key);
            }
        }
    }

    /// The retrieval checks `checker` is drawn for in `period`: deal, position and block.
    pub(crate) fn checks_for(
        &self,
        checker: &DeviceId,
        period: u64,
        limit: usize,
    ) -> Vec<(Digest, u16, u64)> {
        let from = CheckerDraw(
            checker.clone(),
            CheckKey(DealPeriod(Digest::from([0; 32]), 0), 0),
        );
        let to = CheckerDraw(
            checker.clone(),
            CheckKey(DealPeriod(Digest::from([0xFF; 32]), u64::MAX), u16::MAX),
        );
        self.by_checker
            .committed()
            .range(from..=to)
            .map(|(k, _)| &k.1)
            .filter(|key| key.0.1 == period)
            .filter_map(|key| {
                self.drawn
                    .get(key)
                    .map(|drawn| (key.0.0, key.1, drawn.block))
            })
            .take(limit)
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        cx: StorageContext<'_>,
        device: &DeviceId,
        id: Digest,
        deal: &Deal,
        period: u64,
        position: u16,
        block: u64,
        ok: bool,
    ) -> Result<(), TxError> {
        check_open_period(cx.params, cx.height, &id, deal, period)?;
        // The period settles at its last block from committed checks: one in that block
        // would be stored and never counted.
        if cx.height >= cx.params.deadline(period) {
            return Err(StorageError::WrongPeriod {
                period,
                current: period.saturating_add(1),
                first: deal.first_period,
                last: deal.last_period(),
            }
            .into());
        }
        let drawn = self.drawn.get(&CheckKey(DealPeriod(id, period), position));
        if drawn
            != Some(&DrawnCheck {
                checker: device.clone(),
                block,
            })
        {
            return Err(StorageError::NotAChecker {
                device: device.clone(),
                position,
            }
            .into());
        }
        let key = CheckKey(DealPeriod(id, period), position);
        if self.checks.get(&key).is_some() {
            return Err(StorageError::AlreadyChecked { deal: id, period }.into());
        }
        self.checks.put(
            key,
            CheckRecord {
                checker: device.clone(),
                block,
                ok,
                at: cx.height,
            },
        );
        Ok(())
    }

    /// The retrieval checks posted for a deal's period: (succeeded, failed).
    fn check_counts(&self, id: &Digest, period: u64) -> (u16, u16) {
        let from = CheckKey(DealPeriod(*id, period), 0);
        let to = CheckKey(DealPeriod(*id, period), u16::MAX);
        self.checks
            .committed()
            .range(from..=to)
            .fold((0u16, 0u16), |(ok, failed), (_, c)| {
                if c.ok {
                    (ok.saturating_add(1), failed)
                } else {
                    (ok, failed.saturating_add(1))
                }
            })
    }

    /// A deal's posted checks for a period, by position.
    pub(crate) fn checks_of(&self, id: &Digest, period: u64) -> Vec<(u16, CheckRecord)> {
        let from = CheckKey(DealPeriod(*id, period), 0);
        let to = CheckKey(DealPeriod(*id, period), u16::MAX);
        self.checks
            .committed()
            .range(from..=to)
            .map(|(k, c)| (k.1, c.clone()))
            .collect()
    }

    fn accept(
        &mut self,
        cx: StorageContext<'_>,
        id: Digest,
        mut deal: Deal,
    ) -> Result<(), TxError> {
        if deal.status != DealStatus::Proposed {
            return Err(StorageError::WrongStatus {
                deal: id,
                status: deal.status.name(),
                needed: "proposed",
            }
            .into());
        }
        let mut provider = self.providers.get(&deal.provider).cloned().ok_or_else(|| {
            StorageError::NotProviding {
                device: deal.provider.clone(),
            }
        })?;
        provided_by_owner(cx.core, &deal.provider, &provider)?;
        if deal.size_bytes > provider.free_bytes() {
            return Err(StorageError::DealFull {
                device: deal.provider.clone(),
                size_bytes: deal.size_bytes,
                free_bytes: provider.free_bytes(),
            }
            .into());
        }
        let needed = collateral_for(deal.size_bytes, provider.collateral_per_gib)
            .ok_or_else(|| short("collateral"))?;
        if needed > provider.free_collateral() {
            return Err(StorageError::CollateralShort {
                device: deal.provider.clone(),
                needed,
                free: provider.free_collateral(),
            }
            .into());
        }
        provider.used_bytes = provider
            .used_bytes
            .checked_add(deal.size_bytes)
            .ok_or_else(|| short("used bytes"))?;
        provider.reserved = provider
            .reserved
            .checked_add(needed)
            .ok_or_else(|| short("collateral"))?;
        self.providers.put(deal.provider.clone(), provider);
        self.accept_by.delete(HeightDeal(
            deal.proposed_at
                .saturating_add(cx.params.accept_window_blocks),
            id,
        ));
        deal.status = DealStatus::Active;
        deal.accepted_at = cx.height;
        deal.first_period = cx.params.period_of(cx.height).saturating_add(1);
        deal.collateral = needed;
        self.active.put(id, 0);
        self.deals.put(id, deal);
        Ok(())
    }

    /// The leaves challenged for `deal` in `period`, if the period's seed is known.
    pub(crate) fn challenges(
        &self,
        params: &StorageParams,
        id: &Digest,
        deal: &Deal,
        period: u64,
    ) -> Option<Vec<u64>> {
        let seed = self.seeds.get(&period)?;
        let mut seed_bytes = [0u8; 32];
        seed_bytes.copy_from_slice(seed.as_ref());
        let mut deal_bytes = [0u8; 32];
        deal_bytes.copy_from_slice(id.as_ref());
        Some(challenged_leaves(
            &seed_bytes,
            &deal_bytes,
            period,
            leaf_count(deal.size_bytes),
            params.challenges_per_period,
        ))
    }

    fn prove(
        &mut self,
        cx: StorageContext<'_>,
        id: Digest,
        deal: &Deal,
        period: u64,
        leaves: &[LeafAnswer],
    ) -> Result<(), TxError> {
        check_open_period(cx.params, cx.height, &id, deal, period)?;
        if self.periods.get(&DealPeriod(id, period)).is_some() {
            return Err(StorageError::AlreadyProven { deal: id, period }.into());
        }
        let expected =
            self.challenges(cx.params, &id, deal, period)
                .ok_or(StorageError::NoSeed {
                    period,
                    height: cx.params.seed_height(period),
                })?;
        if leaves.len() != expected.len() {
            return Err(StorageError::WrongChallengeCount {
                expected: expected.len(),
                got: leaves.len(),
            }
            .into());
        }
        let root = Root(deal.root);
        for (position, (answer, want)) in leaves.iter().zip(&expected).enumerate() {
            if answer.index != *want {
                return Err(StorageError::WrongLeaf {
                    position,
                    expected: *want,
                    got: answer.index,
                }
                .into());
            }
            let proof = LeafProof {
                index: answer.index,
                leaf: answer.leaf.clone(),
                path: answer.path.clone(),
            };
            proof
                .verify(&root, deal.size_bytes)
                .map_err(|reason| StorageError::BadProof {
                    index: answer.index,
                    reason,
                })?;
        }
        self.periods.put(
            DealPeriod(id, period),
            PeriodRecord {
                proven_at: cx.height,
                settled: false,
                paid_credits: 0,
                slashed: Amount::ZERO,
                to_client: Amount::ZERO,
                burned: Amount::ZERO,
                checks_ok: 0,
                checks_failed: 0,
                withheld: false,
            },
        );
        Ok(())
    }

    /// The block step, after the block's hash is recorded: proposals not accepted in time
    /// expire; at a period's last block every active deal is paid or faulted for it, deals
    /// past their last period complete, and the next period's seed is this block's hash.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn end_block(
        &mut self,
        core: &mut Core,
        usage: &mut Usage,
        credits: &mut Credits,
        params: &StorageParams,
        epoch_blocks: u64,
        epoch: u64,
        height: u64,
    ) -> Result<(), BlockError> {
        let last = HeightDeal(height, Digest::from([0xFF; 32]));
        for key in self.accept_by.keys_through(&last) {
            self.accept_by.delete(key.clone());
            self.close(core, &key.1, DealStatus::Expired, height)?;
        }
        if !height.is_multiple_of(params.period_blocks) {
            return Ok(());
        }
        let active = self.active.keys();
        // Only a chain with active deals keeps seeds (a deal accepted in this period is
        // active by now, and proves from the next).
        if !active.is_empty()
            && let Some(digest) = core.recent_block(height)
        {
            self.seeds.put(height / params.period_blocks, digest);
        }
        let closing = (height / params.period_blocks).saturating_sub(1);
        for id in &active {
            self.settle_period(
                core,
                usage,
                credits,
                params,
                epoch_blocks,
                epoch,
                id,
                closing,
                height,
            )?;
        }
        // The closed period's seed and draws are needed no more; the new period's checkers
        // are drawn now, before any of its transactions.
        self.seeds.delete(closing);
        for id in &active {
            self.forget_draws(params, id, closing);
        }
        self.draw_checkers(core, params, height / params.period_blocks);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn settle_period(
        &mut self,
        core: &mut Core,
        usage: &mut Usage,
        credits: &mut Credits,
        params: &StorageParams,
        epoch_blocks: u64,
        epoch: u64,
        id: &Digest,
        period: u64,
        height: u64,
    ) -> Result<(), BlockError> {
        let Some(mut deal) = self.deals.get(id).cloned() else {
            return Err(BlockError::Invariant {
                context: "an active deal without its record",
            });
        };
        if period < deal.first_period || period > deal.last_period() {
            return Ok(());
        }
        let arithmetic = BlockError::Arithmetic {
            context: "storage period",
        };
        let key = DealPeriod(*id, period);
        let mut record = self.periods.get(&key).copied().unwrap_or(PeriodRecord {
            proven_at: 0,
            settled: false,
            paid_credits: 0,
            slashed: Amount::ZERO,
            to_client: Amount::ZERO,
            burned: Amount::ZERO,
            checks_ok: 0,
            checks_failed: 0,
            withheld: false,
        });
        record.settled = true;
        let (checks_ok, checks_failed) = self.check_counts(id, period);
        record.checks_ok = checks_ok;
        record.checks_failed = checks_failed;
        let posted = u32::from(checks_ok) + u32::from(checks_failed);
        // Too few of the posted retrieval checks succeeded: possession was proven, so no
        // slash, but the period is not paid (its share returns to the client at the end).
        let unretrievable = posted > 0
            && u32::from(checks_ok) * BASIS_POINTS_TOTAL
                < u32::from(params.min_retrieval_bps) * posted;
        if record.proven_at != 0 && unretrievable {
            record.withheld = true;
            deal.withheld = deal.withheld.saturating_add(1);
            deal.consecutive_faults = 0;
        } else if record.proven_at != 0 {
            let owed = |n: u32| {
                owed_credits(
                    deal.credits_per_gib_epoch,
                    deal.size_bytes,
                    u64::from(n),
                    params.period_blocks,
                    epoch_blocks,
                )
            };
            let next = deal.proven.checked_add(1).ok_or(arithmetic.clone())?;
            let pay = owed(next)
                .zip(owed(deal.proven))
                .and_then(|(a, b)| a.checked_sub(b))
                .ok_or(arithmetic.clone())?;
            deal.escrow_credits =
                deal.escrow_credits
                    .checked_sub(pay)
                    .ok_or(BlockError::Invariant {
                        context: "a deal pays more than its escrow",
                    })?;
            deal.paid_credits = deal
                .paid_credits
                .checked_add(pay)
                .ok_or(arithmetic.clone())?;
            deal.proven = next;
            deal.consecutive_faults = 0;
            record.paid_credits = pay;
            if pay > 0 {
                usage.record_spent(credits, epoch, &deal.provider, pay)?;
            }
        } else {
            let slash =
                bps_of(deal.collateral, params.fault_slash_bps).ok_or(arithmetic.clone())?;
            let to_client = bps_of(slash, params.slash_to_client_bps).ok_or(arithmetic.clone())?;
            let burned = slash.checked_sub(to_client).ok_or(arithmetic.clone())?;
            let mut provider = self.provider_of(&deal)?;
            let invariant = BlockError::Invariant {
                context: "a slash above the deal's collateral",
            };
            provider.locked = provider
                .locked
                .checked_sub(slash)
                .ok_or(invariant.clone())?;
            provider.reserved = provider
                .reserved
                .checked_sub(slash)
                .ok_or(invariant.clone())?;
            self.providers.put(deal.provider.clone(), provider);
            deal.collateral = deal.collateral.checked_sub(slash).ok_or(invariant)?;
            deal.slashed = deal.slashed.checked_add(slash).ok_or(arithmetic.clone())?;
            if to_client > Amount::ZERO {
                core.release_escrow(&deal.client, to_client, "storage slash")?;
            }
            if burned > Amount::ZERO {
                core.burn_escrow(burned)?;
            }
            deal.faults = deal.faults.saturating_add(1);
            deal.consecutive_faults = deal.consecutive_faults.saturating_add(1);
            record.slashed = slash;
            record.to_client = to_client;
            record.burned = burned;
        }
        self.periods.put(key, record);
        self.deals.put(*id, deal.clone());
        if deal.consecutive_faults >= params.max_faults {
            self.close(core, id, DealStatus::Terminated, height)?;
        } else if period == deal.last_period() {
            let ended = self
                .sets
                .get(&deal.set)
                .is_some_and(|set| set.ended_at != 0);
            let status = if ended {
                DealStatus::Ended
            } else {
                DealStatus::Completed
            };
            self.close(core, id, status, height)?;
        }
        Ok(())
    }

    // ---- queries -------------------------------------------------------------------------

    pub(crate) fn provider(&self, device: &DeviceId) -> Option<Provider> {
        self.providers.get(device).cloned()
    }

    /// The provider of an active deal: a block step that finds none has found corrupt state.
    fn provider_of(&self, deal: &Deal) -> Result<Provider, BlockError> {
        self.providers
            .get(&deal.provider)
            .cloned()
            .ok_or(BlockError::Invariant {
                context: "an active deal without its provider",
            })
    }

    pub(crate) fn providers(&self, limit: usize) -> Vec<(DeviceId, Provider)> {
        self.providers
            .committed()
            .iter()
            .take(limit)
            .map(|(d, p)| (d.clone(), p.clone()))
            .collect()
    }

    pub(crate) fn active_deals(&self, limit: usize) -> Vec<(Digest, Deal)> {
        self.active
            .committed()
            .keys()
            .take(limit)
            .filter_map(|id| self.deal(id).map(|d| (*id, d)))
            .collect()
    }

    pub(crate) fn set(&self, id: &Digest) -> Option<DealSet> {
        self.sets.get(id).copied()
    }

    pub(crate) fn deal(&self, id: &Digest) -> Option<Deal> {
        self.deals.get(id).cloned()
    }

    /// A set's deals, in shard order.
    pub(crate) fn deals_of_set(&self, id: &Digest) -> Vec<(Digest, Deal)> {
        let Some(set) = self.set(id) else {
            return Vec::new();
        };
        (0..set.shards)
            .map(|i| deal_id(id, i))
            .filter_map(|d| self.deal(&d).map(|deal| (d, deal)))
            .collect()
    }

    /// Up to `limit` of a client's deal sets in id order.
    pub(crate) fn sets_of(&self, client: &Address, limit: usize) -> Vec<(Digest, DealSet)> {
        let from = ClientSet(*client, Digest::from([0u8; 32]));
        let to = ClientSet(*client, Digest::from([0xFF; 32]));
        self.by_client
            .committed()
            .range(from..=to)
            .filter_map(|(k, _)| self.set(&k.1).map(|s| (k.1, s)))
            .take(limit)
            .collect()
    }

    /// Up to `limit` of a provider's deals in id order.
    pub(crate) fn deals_of_provider(&self, device: &DeviceId, limit: usize) -> Vec<(Digest, Deal)> {
        let from = ProviderDeal(device.clone(), Digest::from([0u8; 32]));
        let to = ProviderDeal(device.clone(), Digest::from([0xFF; 32]));
        self.by_provider
            .committed()
            .range(from..=to)
            .filter_map(|(k, _)| self.deal(&k.1).map(|d| (k.1, d)))
            .take(limit)
            .collect()
    }

    /// A deal's period records, oldest first.
    pub(crate) fn periods_of(&self, id: &Digest) -> Vec<(u64, PeriodRecord)> {
        self.periods_between(id, 0, u64::MAX)
    }

    /// A deal's period records from `first` to `last`, both included.
    pub(crate) fn periods_between(
        &self,
        id: &Digest,
        first: u64,
        last: u64,
    ) -> Vec<(u64, PeriodRecord)> {
        if first > last {
            return Vec::new();
        }
        let from = DealPeriod(*id, first);
        let to = DealPeriod(*id, last);
        self.periods
            .committed()
            .range(from..=to)
            .map(|(k, r)| (k.1, *r))
            .collect()
    }
}
