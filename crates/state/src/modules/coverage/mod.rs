//! Wireless proof-of-coverage: beacons and witness reports.
//!
//! A wireless device beacons at most once per `beacon_interval_blocks`, naming a recent block
//! (chain entropy): the payload its radio sends is derived from that block and its key, so it
//! cannot be made ahead of time. Devices that hear it report what they measured. Each report
//! is checked against the asserted locations with radio physics (`groundwork-coverage`): a
//! report that fails a check is rejected with a [`TxError`] naming the check and the numbers
//! behind it; a report that passes is stored with those numbers, so `explain` can show them.
//! The first [`MAX_REWARDED_WITNESSES`] valid reports of a beacon, in the order they landed on
//! chain, count. (Helium ordered by the time its ingest server received them; on a chain the
//! order of arrival is the only order every validator sees the same way.)
//!
//! The module's files: [`reports`] checks and stores beacons and witness reports, [`settle`]
//! works out each beacon's shares and pays the coverage pool at an epoch's end, and
//! [`explain`] shows a device's coverage reward afterwards.

mod error;
mod explain;
mod genesis;
mod params;
mod reports;
mod settle;

pub use error::{CoverageError, GeometryCause};
pub use explain::CoverageExplanation;
pub use params::CoverageParams;
pub(crate) use settle::Settlement;

use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::table::{AnyTable, Table};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{BeaconRadio, Cell, DeviceId, WitnessReading};

pub use groundwork_coverage::{
    LOCATION_MARGIN_CDB, MIN_COMPARABLE_REPORTS, PEER_MARGIN_CDB, deviates,
};

/// Valid witness reports of one beacon that count; later valid ones are refused.
pub const MAX_REWARDED_WITNESSES: u8 = 14;
/// Largest accepted difference between beacon and witness frequency, in Hz.
pub const MAX_FREQUENCY_DELTA_HZ: u64 = 100_000;
/// Smallest H3 grid distance between the res-11 parents of beaconer and witness locations.
pub const MIN_GRID_DISTANCE_RES11: u32 = 8;
/// Largest distance between beaconer and witness, in metres.
pub const MAX_WITNESS_DISTANCE_M: u32 = 100_000;

/// A beacon as the chain recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconRecord {
    pub beaconer: DeviceId,
    /// Height of the block that included the beacon.
    pub height: u64,
    /// The beaconer's asserted location when it beaconed.
    pub location: Cell,
    pub radio: BeaconRadio,
    /// Valid witness reports stored so far (at most [`MAX_REWARDED_WITNESSES`]).
    pub witnesses: u8,
}
impl_struct_codec!(BeaconRecord {
    beaconer,
    height,
    location,
    radio,
    witnesses
});

/// A valid witness report, with the numbers its checks used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessRecord {
    pub witness: DeviceId,
    /// Height of the block that included the report.
    pub height: u64,
    /// The witness's asserted location when it reported.
    pub location: Cell,
    pub reading: WitnessReading,
    /// Great-circle distance between the two asserted cells' centres, in metres.
    pub distance_m: u32,
    /// H3 grid distance between the res-11 parents of the two asserted cells.
    pub grid_distance_res11: u32,
    /// The strongest RSSI free space allows at that distance, in hundredths of dBm.
    pub max_rssi_cdbm: i32,
}
impl_struct_codec!(WitnessRecord {
    witness,
    height,
    location,
    reading,
    distance_m,
    grid_distance_res11,
    max_rssi_cdbm
});

/// A wireless device's part in coverage, for the beacon interval and reciprocity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageActivity {
    /// Height of the device's last beacon.
    pub last_beacon_height: Option<u64>,
    /// Height of the device's last valid report of another device's beacon.
    pub last_witness_height: Option<u64>,
    /// Height of the last valid report of this device's beacons by another device.
    pub last_witnessed_height: Option<u64>,
}
impl_struct_codec!(CoverageActivity {
    last_beacon_height,
    last_witness_height,
    last_witnessed_height
});

pair_key!(
    /// The key of a stored witness report: its beacon and its position among the beacon's reports.
    BeaconWitness(Digest, u8)
);
pair_key!(
    /// The key of a beacon awaiting settlement: its height, then its id.
    HeightBeacon(u64, Digest)
);
pair_key!(
    /// The key of a beacon settled in an epoch: the epoch, then the beacon id.
    EpochBeacon(u64, Digest)
);

/// Most devices in a group that [`Coverage::closed_rings`] treats as a closed ring.
pub const MAX_CLOSED_RING: usize = 8;
/// Most distinct owners of a group that [`Coverage::closed_rings`] treats as a closed ring.
pub const MAX_RING_OWNERS: usize = 2;

/// A rule that leaves valid witness reports out at settlement, as collusion or spoofing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollusionRule {
    /// Beaconer and witness belong to a small group that only witnesses itself.
    ClosedRing,
    /// The signal is stronger than any plausible real link over the asserted distance
    /// (`groundwork_coverage::plausible_rssi_cdbm`): a spoofed location or an inflated RSSI.
    ImplausibleSignal,
    /// Most of the device's comparable reports in the epoch were far louder than the other
    /// witnesses of the same beacons heard them at their distances
    /// (`groundwork_coverage::out_of_line`): its asserted place does not fit what it hears
    /// (fabricated geometry), or it inflates what it measured. All its coverage shares for the
    /// epoch are left out, its beacons' too.
    OutOfLine,
    /// A beaconer and witness pair whose reports in the epoch, at least
    /// [`MIN_STEADY_REPORTS`] of them, all carry the same RSSI: real links fade from one
    /// beacon to the next by several dB; copied or made-up numbers do not.
    SteadySignal,
}

/// Fewest reports of one pair in an epoch before [`CollusionRule::SteadySignal`] judges it.
/// Four identical whole-dBm readings of a link fading with σ = 3 dB happen about once in
/// 850 pairs; with the 6 dB of urban shadowing, once in 7 000.
pub const MIN_STEADY_REPORTS: u32 = 4;

impl CollusionRule {
    /// Whether the rule judges the device itself (a ring it belongs to, its own reports out of
    /// line, a pair's copied numbers), not one link whose two ends the chain cannot tell apart:
    /// a device excluded by such a rule earns no wireless uptime share for the epoch either.
    pub fn judges_the_device(self) -> bool {
        !matches!(self, CollusionRule::ImplausibleSignal)
    }

    fn tag(self) -> u8 {
        match self {
            CollusionRule::ClosedRing => 0,
            CollusionRule::ImplausibleSignal => 1,
            CollusionRule::OutOfLine => 2,
            CollusionRule::SteadySignal => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CollusionRule::ClosedRing => "closed ring",
            CollusionRule::ImplausibleSignal => "implausibly strong signal for the distance",
            CollusionRule::OutOfLine => "reports out of line with the other witnesses",
            CollusionRule::SteadySignal => "implausibly consistent RSSI for the pair",
        }
    }
}

impl commonware_codec::Write for CollusionRule {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        commonware_codec::Write::write(&self.tag(), buf);
    }
}

impl commonware_codec::FixedSize for CollusionRule {
    const SIZE: usize = 1;
}

impl commonware_codec::Read for CollusionRule {
    type Cfg = ();
    fn read_cfg(
        buf: &mut impl commonware_codec::Buf,
        _: &(),
    ) -> Result<Self, commonware_codec::Error> {
        match <u8 as commonware_codec::ReadExt>::read(buf)? {
            0 => Ok(CollusionRule::ClosedRing),
            1 => Ok(CollusionRule::ImplausibleSignal),
            2 => Ok(CollusionRule::OutOfLine),
            3 => Ok(CollusionRule::SteadySignal),
            other => Err(commonware_codec::Error::InvalidEnum(other)),
        }
    }
}

/// What settling a beacon fixed, so `explain` can show it later exactly as it was paid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettledBeacon {
    /// Density scale of the beaconer's location at settlement, in 1/10 000.
    pub hex_scale: u32,
    /// Reciprocity verdicts: bit 0 the beaconer, bit `i + 1` the `i`-th witness.
    pub reciprocity: u16,
    /// Witness reports left out as a closed ring: bit `i` the `i`-th witness.
    pub excluded: u16,
    /// Witness reports left out as implausibly strong: bit `i` the `i`-th witness.
    pub implausible: u16,
    /// Shares left out because the device was out of line with its peers in the epoch
    /// ([`CollusionRule::OutOfLine`]): bit 0 the beaconer, bit `i + 1` the `i`-th witness.
    pub out_of_line: u16,
    /// Witness reports left out as a steady pair ([`CollusionRule::SteadySignal`]): bit `i`
    /// the `i`-th witness.
    pub steady: u16,
    /// Density scale of each witness's own location at settlement, in 1/10 000.
    pub witness_scales: [u32; MAX_REWARDED_WITNESSES as usize],
}
impl_struct_codec!(SettledBeacon {
    hex_scale,
    reciprocity,
    excluded,
    implausible,
    out_of_line,
    steady,
    witness_scales
});

/// One device's reports compared with their peers over an epoch's settled beacons.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerTally {
    /// Reports that had at least `groundwork_coverage::MIN_PEERS` other reports to compare with.
    pub comparable: u32,
    /// Of those, reports louder than the median of the others by more than
    /// `groundwork_coverage::PEER_MARGIN_CDB`.
    pub deviant: u32,
}

impl PeerTally {
    /// Whether the device is out of line as a whole (`groundwork_coverage::out_of_line`).
    pub fn out_of_line(&self) -> bool {
        groundwork_coverage::out_of_line(self.comparable, self.deviant)
    }
}

/// Epochs a rewarded beacon and its witness reports stay in state for `explain`.
pub const BEACON_RETENTION_EPOCHS: u64 = 2;

/// What one rewarded beacon paid one device, in `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconShare {
    pub beacon: Digest,
    /// Whether the device was the beaconer (else a witness).
    pub as_beaconer: bool,
    /// Valid witnesses of the beacon.
    pub witnesses: u8,
    /// The HIP-15 unit for that many witnesses, in 1/10 000.
    pub unit: u32,
    /// The density scale of the beaconer's location, in 1/10 000.
    pub hex_scale: u32,
    /// For a witness: the density scale of its own location, in 1/10 000. Witnesses piled
    /// into one spot share one witness's reward, as beaconers there do.
    pub witness_scale: Option<u32>,
    /// Whether reciprocity held; if not, the share is zero.
    pub reciprocity: bool,
    /// The collusion rule that excluded this witness report, if any; its share is then zero.
    pub excluded: Option<CollusionRule>,
    /// `unit × hex_scale` (× `witness_scale` / 10 000 for a witness), in 1e-8 units, if
    /// reciprocity held and no collusion rule excluded it; else 0.
    pub units: u64,
    /// For a witness: its report's numbers.
    pub report: Option<WitnessRecord>,
    /// For a witness: how much louder its report was than the median of the beacon's other
    /// reports, in centi-dB, with every signal brought to 100 m along the typical slope
    /// (`groundwork_coverage::peer_deviations`); `None` with too few other reports.
    pub peer_deviation_cdb: Option<i64>,
    /// For a witness, in `explain`: each check its report passed, with its numbers.
    pub checks: Vec<ReportCheck>,
}

/// One check a witness report passed, as `explain` shows it: what was checked, the measured
/// value and the limit it was held to, each under a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportCheck {
    pub check: String,
    pub measured: Option<(&'static str, i64)>,
    pub limit: Option<(&'static str, i64)>,
}

/// Table prefixes of the coverage module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const BEACON: u8 = 0x20;
    pub const WITNESS: u8 = 0x21;
    pub const COVERAGE_ACTIVITY: u8 = 0x22;
    pub const PENDING_BEACON: u8 = 0x23;
    pub const REWARDED_BEACON: u8 = 0x24;
    pub const COVERAGE_REWARD: u8 = 0x25;
    pub const COVERAGE_EPOCH: u8 = 0x26;
    pub const COVERAGE_PARAMS: u8 = 0x27;
}

#[derive(Clone, Debug)]
pub(crate) struct Coverage {
    beacons: Table<Digest, BeaconRecord>,
    witnesses: Table<BeaconWitness, WitnessRecord>,
    activity: Table<DeviceId, CoverageActivity>,
    /// Beacons whose witness window has not closed, by height.
    pending_beacons: Table<HeightBeacon, u8>,
    rewarded_beacons: Table<EpochBeacon, SettledBeacon>,
    rewards: Table<(u64, DeviceId), CoverageReward>,
    epochs: Table<u64, CoverageSummary>,
    /// The module's section of the chain parameters.
    params: Table<crate::core::Singleton, CoverageParams>,
}

impl Module for Coverage {
    fn store_params(&mut self, params: &Params) {
        self.params
            .insert_committed(crate::core::Singleton, params.coverage);
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&crate::core::Singleton)
            .copied()
            .map(|stored| params.coverage = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "coverage",
            prefixes: 0x20..=0x2F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.beacons,
            &self.witnesses,
            &self.activity,
            &self.pending_beacons,
            &self.rewarded_beacons,
            &self.rewards,
            &self.epochs,
            &self.params,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.beacons,
            &mut self.witnesses,
            &mut self.activity,
            &mut self.pending_beacons,
            &mut self.rewarded_beacons,
            &mut self.rewards,
            &mut self.epochs,
            &mut self.params,
        ]
    }
}

impl Coverage {
    pub(crate) fn new() -> Self {
        Self {
            beacons: Table::new(prefix::BEACON, "beacons"),
            witnesses: Table::new(prefix::WITNESS, "witness reports"),
            activity: Table::new(prefix::COVERAGE_ACTIVITY, "coverage activity"),
            pending_beacons: Table::new(prefix::PENDING_BEACON, "pending beacons"),
            rewarded_beacons: Table::new(prefix::REWARDED_BEACON, "rewarded beacons"),
            rewards: Table::new(prefix::COVERAGE_REWARD, "coverage rewards"),
            epochs: Table::new(prefix::COVERAGE_EPOCH, "coverage epochs"),
            params: Table::new(prefix::COVERAGE_PARAMS, "coverage params"),
        }
    }

    /// A beacon by its id (the payload its radio sent).
    pub(crate) fn beacon(&self, id: &Digest) -> Option<BeaconRecord> {
        self.beacons.get(id).cloned()
    }

    /// The `index`-th valid witness report of a beacon.
    pub(crate) fn witness_record(&self, beacon: &Digest, index: u8) -> Option<WitnessRecord> {
        self.witnesses.get(&BeaconWitness(*beacon, index)).cloned()
    }

    /// A wireless device's beacon and witness history (empty for other devices).
    pub(crate) fn activity(&self, device: &DeviceId) -> CoverageActivity {
        self.activity.get(device).cloned().unwrap_or_default()
    }

    fn put_activity(&mut self, device: DeviceId, activity: CoverageActivity) {
        self.activity.put(device, activity);
    }

    /// A device's coverage reward for an epoch.
    pub(crate) fn reward(&self, epoch: u64, device: &DeviceId) -> Option<CoverageReward> {
        self.rewards.get(&(epoch, device.clone())).cloned()
    }

    /// The totals of an epoch's coverage rewards.
    pub(crate) fn summary(&self, epoch: u64) -> Option<CoverageSummary> {
        self.epochs.get(&epoch).cloned()
    }

    /// Beacons whose rewards were settled in `epoch` (kept for [`BEACON_RETENTION_EPOCHS`]).
    pub(crate) fn rewarded_beacons(&self, epoch: u64) -> Vec<Digest> {
        self.rewarded_beacons
            .keys()
            .into_iter()
            .filter(|k| k.0 == epoch)
            .map(|k| k.1)
            .collect()
    }
}

/// One device's coverage reward for one epoch, with the inputs to recompute it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageReward {
    /// Who was paid (the owner at the epoch's end).
    pub owner: groundwork_primitives::Address,
    /// Rewarded beacons of this device, and its rewarded witness reports.
    pub beacons: u32,
    pub witnesses: u32,
    /// Σ beacon unit × hex scale over its rewarded beacons, in 1e-8 units.
    pub beacon_units: u64,
    /// Σ witness unit × hex scale over its rewarded reports, in 1e-8 units.
    pub witness_units: u64,
    /// Beacons or reports left out because the device failed reciprocity.
    pub reciprocity_misses: u32,
    /// Beacons and witness reports left out by a collusion rule.
    pub collusion_exclusions: u32,
    /// The device's reports compared with their peers in the epoch.
    pub peers: PeerTally,
    pub amount: groundwork_primitives::Amount,
}
impl_struct_codec!(CoverageReward {
    owner,
    beacons,
    witnesses,
    beacon_units,
    witness_units,
    reciprocity_misses,
    collusion_exclusions,
    peers,
    amount
});
impl_struct_codec!(PeerTally {
    comparable,
    deviant
});

/// The totals of one epoch's coverage rewards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageSummary {
    /// `emission × coverage.share_bps / 10 000`.
    pub pool: groundwork_primitives::Amount,
    /// The beaconers' and the witnesses' parts of the pool.
    pub beacon_pool: groundwork_primitives::Amount,
    pub witness_pool: groundwork_primitives::Amount,
    /// Beacons whose witness window closed in this epoch.
    pub beacons: u64,
    pub total_beacon_units: u64,
    pub total_witness_units: u64,
    pub paid: groundwork_primitives::Amount,
}
impl_struct_codec!(CoverageSummary {
    pool,
    beacon_pool,
    witness_pool,
    beacons,
    total_beacon_units,
    total_witness_units,
    paid
});

impl CoverageSummary {
    /// What a device with these units gets of the epoch's pools: its share of the beaconers'
    /// pool plus its share of the witnesses'. The one formula settlement, `explain` and a
    /// client checking an explanation all use.
    pub fn amount_for(
        &self,
        beacon_units: u64,
        witness_units: u64,
    ) -> groundwork_primitives::Amount {
        groundwork_primitives::Amount(
            share_of(self.beacon_pool.0, beacon_units, self.total_beacon_units).saturating_add(
                share_of(self.witness_pool.0, witness_units, self.total_witness_units),
            ),
        )
    }
}

/// `floor(pool × units / total)`, exact while `total < 2^31`; beyond that both are scaled down
/// by the same power of two first, so the product always fits in 128 bits (pools are below
/// 2^97). Deterministic either way; the rounding loss is below one part in 2^30.
pub fn share_of(pool: u128, units: u64, total: u64) -> u128 {
    if total == 0 || units == 0 {
        return 0;
    }
    let shift = (64 - total.leading_zeros()).saturating_sub(31);
    let (units, total) = (units >> shift, total >> shift);
    if total == 0 {
        return 0;
    }
    pool.saturating_mul(u128::from(units)) / u128::from(total)
}
