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

use crate::error::TxError;
use crate::machine::State;
use crate::records::DeviceStatus;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::{
    BeaconRadio, BeaconTransaction, Cell, DeviceId, ResourceKind, WitnessReading,
    WitnessTransaction,
};

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

/// Most devices in a group that [`State::closed_rings`] treats as a closed ring.
pub const MAX_CLOSED_RING: usize = 8;
/// Most distinct owners of a group that [`State::closed_rings`] treats as a closed ring.
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
    pub fn name(self) -> &'static str {
        match self {
            CollusionRule::ClosedRing => "closed ring",
            CollusionRule::ImplausibleSignal => "implausibly strong signal for the distance",
            CollusionRule::OutOfLine => "reports out of line with the other witnesses",
            CollusionRule::SteadySignal => "implausibly consistent RSSI for the pair",
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

/// What settlement works out once for all the beacons it closes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settlement {
    /// Height of the settling block (reciprocity is judged at it).
    pub height: u64,
    /// Density scale of every occupied location.
    pub scales: std::collections::BTreeMap<Cell, u32>,
    /// Devices in closed rings.
    pub rings: std::collections::BTreeSet<DeviceId>,
    /// Every reporting device's tally against its peers.
    pub tallies: std::collections::BTreeMap<DeviceId, PeerTally>,
    /// (beaconer, witness) pairs whose reports all carry one RSSI.
    pub steady_pairs: std::collections::BTreeSet<(DeviceId, DeviceId)>,
}

impl Settlement {
    fn out_of_line(&self, device: &DeviceId) -> bool {
        self.tallies.get(device).is_some_and(PeerTally::out_of_line)
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
}

/// Why a device got its coverage reward for an epoch: every beacon it took part in, with the
/// numbers behind each check and share, and the pool arithmetic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageExplanation {
    pub epoch: u64,
    pub reward: CoverageReward,
    pub summary: CoverageSummary,
    /// The device's part in each beacon settled in the epoch.
    pub shares: Vec<BeaconShare>,
    /// The amount worked out again from `shares` and `summary` alone.
    pub recomputed: groundwork_primitives::Amount,
}

impl State {
    /// Explains a device's coverage reward for an ended epoch (while its beacons are retained).
    pub fn explain_coverage(&self, device: &DeviceId, epoch: u64) -> Option<CoverageExplanation> {
        let reward = self.coverage_reward(epoch, device)?;
        let summary = self.coverage_summary(epoch)?;
        let empty = Settlement::default();
        let mut shares = Vec::new();
        for key in self
            .rewarded_beacons
            .keys()
            .into_iter()
            .filter(|k| k.0 == epoch)
        {
            let Some(settled) = self.rewarded_beacons.get(&key) else {
                continue;
            };
            let Some((_, all)) = self.beacon_shares(&key.1, &empty, Some(settled)) else {
                continue;
            };
            shares.extend(all.into_iter().filter(|(d, _)| d == device).map(|(_, s)| s));
        }
        let (beacon_units, witness_units) = shares.iter().fold((0u64, 0u64), |(b, w), s| {
            if s.as_beaconer {
                (b.saturating_add(s.units), w)
            } else {
                (b, w.saturating_add(s.units))
            }
        });
        let recomputed = groundwork_primitives::Amount(
            share_of(
                summary.beacon_pool.0,
                beacon_units,
                summary.total_beacon_units,
            )
            .saturating_add(share_of(
                summary.witness_pool.0,
                witness_units,
                summary.total_witness_units,
            )),
        );
        Some(CoverageExplanation {
            epoch,
            reward,
            summary,
            shares,
            recomputed,
        })
    }

    /// A device's coverage reward for an epoch.
    pub fn coverage_reward(&self, epoch: u64, device: &DeviceId) -> Option<CoverageReward> {
        self.coverage_rewards.get(&(epoch, device.clone())).cloned()
    }

    /// The totals of an epoch's coverage rewards.
    pub fn coverage_summary(&self, epoch: u64) -> Option<CoverageSummary> {
        self.coverage_epochs.get(&epoch).cloned()
    }

    /// Beacons whose rewards were settled in `epoch` (kept for [`BEACON_RETENTION_EPOCHS`]).
    pub fn rewarded_beacons(&self, epoch: u64) -> Vec<Digest> {
        self.rewarded_beacons
            .keys()
            .into_iter()
            .filter(|k| k.0 == epoch)
            .map(|k| k.1)
            .collect()
    }

    /// Whether reciprocity held at `height` for `device` in one role: a beaconer must have
    /// validly witnessed another's beacon, a witness must have had its own beacon validly
    /// witnessed, within `reciprocity_window_blocks` (HIP-106).
    fn reciprocal(&self, device: &DeviceId, as_beaconer: bool, height: u64) -> bool {
        let activity = self.coverage_activity(device);
        let last = if as_beaconer {
            activity.last_witness_height
        } else {
            activity.last_witnessed_height
        };
        let window = self.params.coverage.reciprocity_window_blocks;
        last.is_some_and(|h| h.saturating_add(window) >= height)
    }

    /// The valid reports of a beacon, in order, each with its deviation from the others.
    fn reports_with_deviations(
        &self,
        id: &Digest,
        record: &BeaconRecord,
    ) -> Vec<(WitnessRecord, Option<i64>)> {
        let reports: Vec<WitnessRecord> = (0..record.witnesses)
            .filter_map(|index| self.witness_record(id, index))
            .collect();
        let normalised: Vec<i64> = reports
            .iter()
            .map(|r| {
                groundwork_coverage::normalised_signal_cdbm(
                    i32::from(r.reading.rssi_dbm),
                    i32::from(r.reading.antenna_gain_ddbi),
                    r.distance_m,
                )
            })
            .collect();
        let deviations = groundwork_coverage::peer_deviations(&normalised);
        reports.into_iter().zip(deviations).collect()
    }

    /// The (beaconer, witness) pairs with at least [`MIN_STEADY_REPORTS`] reports among
    /// `beacons`, every one with the same RSSI.
    pub(crate) fn steady_pairs(
        &self,
        beacons: &[Digest],
    ) -> std::collections::BTreeSet<(DeviceId, DeviceId)> {
        // Per pair: the report count and the lowest and highest RSSI.
        let mut pairs: std::collections::BTreeMap<(DeviceId, DeviceId), (u32, i16, i16)> =
            Default::default();
        for id in beacons {
            let Some(record) = self.beacon(id) else {
                continue;
            };
            for index in 0..record.witnesses {
                let Some(report) = self.witness_record(id, index) else {
                    continue;
                };
                let rssi = report.reading.rssi_dbm;
                let entry = pairs
                    .entry((record.beaconer.clone(), report.witness))
                    .or_insert((0, rssi, rssi));
                entry.0 = entry.0.saturating_add(1);
                entry.1 = entry.1.min(rssi);
                entry.2 = entry.2.max(rssi);
            }
        }
        pairs
            .into_iter()
            .filter(|(_, (count, low, high))| *count >= MIN_STEADY_REPORTS && low == high)
            .map(|(pair, _)| pair)
            .collect()
    }

    /// Every reporting device's [`PeerTally`] over `beacons`.
    pub(crate) fn peer_tallies(
        &self,
        beacons: &[Digest],
    ) -> std::collections::BTreeMap<DeviceId, PeerTally> {
        let mut tallies: std::collections::BTreeMap<DeviceId, PeerTally> = Default::default();
        for id in beacons {
            let Some(record) = self.beacon(id) else {
                continue;
            };
            for (report, deviation) in self.reports_with_deviations(id, &record) {
                let Some(deviation) = deviation else {
                    continue;
                };
                let tally = tallies.entry(report.witness).or_default();
                tally.comparable = tally.comparable.saturating_add(1);
                if groundwork_coverage::deviates(deviation) {
                    tally.deviant = tally.deviant.saturating_add(1);
                }
            }
        }
        tallies
    }

    /// The shares one beacon pays: the beaconer's first, then each valid witness's. At
    /// settlement `settled` is `None` and the scale, reciprocity and collusion verdicts are
    /// worked out now from `now`; afterwards they are read from what settlement fixed.
    pub(crate) fn beacon_shares(
        &self,
        id: &Digest,
        now: &Settlement,
        settled: Option<&SettledBeacon>,
    ) -> Option<(BeaconRecord, Vec<(DeviceId, BeaconShare)>)> {
        let record = self.beacon(id)?;
        let scale = match settled {
            Some(fixed) => fixed.hex_scale,
            None => groundwork_coverage::hex_scale_of(record.location, &now.scales).unwrap_or(0),
        };
        let verdict = |bit: u8, device: &DeviceId, as_beaconer: bool| match settled {
            Some(fixed) => fixed.reciprocity & (1 << bit) != 0,
            None => self.reciprocal(device, as_beaconer, now.height),
        };
        let out_of_line = |bit: u8, device: &DeviceId| match settled {
            Some(fixed) => fixed.out_of_line & (1 << bit) != 0,
            None => now.out_of_line(device),
        };
        let (reports, deviations): (Vec<WitnessRecord>, Vec<Option<i64>>) = self
            .reports_with_deviations(id, &record)
            .into_iter()
            .unzip();
        // A report inside a closed ring shows nothing but the ring; one from a device out of
        // line with its peers, or from a pair whose signal never varies, shows fabrication;
        // one implausibly strong for its distance a spoofed place or an inflated signal. None
        // counts.
        let excluded: Vec<Option<CollusionRule>> = reports
            .iter()
            .enumerate()
            .map(|(index, report)| match settled {
                Some(fixed) if fixed.excluded & (1 << index) != 0 => {
                    Some(CollusionRule::ClosedRing)
                }
                Some(fixed) if fixed.out_of_line & (1 << (index + 1)) != 0 => {
                    Some(CollusionRule::OutOfLine)
                }
                Some(fixed) if fixed.steady & (1 << index) != 0 => {
                    Some(CollusionRule::SteadySignal)
                }
                Some(fixed) if fixed.implausible & (1 << index) != 0 => {
                    Some(CollusionRule::ImplausibleSignal)
                }
                Some(_) => None,
                None if now.rings.contains(&report.witness)
                    && now.rings.contains(&record.beaconer) =>
                {
                    Some(CollusionRule::ClosedRing)
                }
                None if now.out_of_line(&report.witness) => Some(CollusionRule::OutOfLine),
                None if now
                    .steady_pairs
                    .contains(&(record.beaconer.clone(), report.witness.clone())) =>
                {
                    Some(CollusionRule::SteadySignal)
                }
                None => {
                    let plausible = groundwork_coverage::plausible_rssi_cdbm(
                        i32::from(record.radio.tx_power_dbm),
                        record.radio.frequency_hz,
                        report.distance_m,
                        i32::from(record.radio.antenna_gain_ddbi),
                        i32::from(report.reading.antenna_gain_ddbi),
                    );
                    plausible
                        .is_ok_and(|max| i32::from(report.reading.rssi_dbm) * 100 > max)
                        .then_some(CollusionRule::ImplausibleSignal)
                }
            })
            .collect();
        let counted = excluded.iter().filter(|e| e.is_none()).count();
        let counted = u8::try_from(counted).unwrap_or(u8::MAX);
        let units = |unit: u32, ok: bool| {
            if ok {
                u64::from(unit) * u64::from(scale)
            } else {
                0
            }
        };
        let mut shares = Vec::with_capacity(reports.len() + 1);
        let unit = groundwork_coverage::beacon_unit(u32::from(counted));
        let reciprocity = verdict(0, &record.beaconer, true);
        let beaconer_excluded =
            out_of_line(0, &record.beaconer).then_some(CollusionRule::OutOfLine);
        shares.push((
            record.beaconer.clone(),
            BeaconShare {
                beacon: *id,
                as_beaconer: true,
                witnesses: counted,
                unit,
                hex_scale: scale,
                witness_scale: None,
                reciprocity,
                excluded: beaconer_excluded,
                units: units(unit, reciprocity && beaconer_excluded.is_none()),
                report: None,
                peer_deviation_cdb: None,
            },
        ));
        let unit = groundwork_coverage::witness_unit(u32::from(counted));
        for (index, ((report, excluded), deviation)) in reports
            .into_iter()
            .zip(excluded)
            .zip(deviations)
            .enumerate()
        {
            let bit = u8::try_from(index + 1).unwrap_or(u8::MAX);
            let reciprocity = verdict(bit, &report.witness, false);
            let own_scale = match settled {
                Some(fixed) => fixed.witness_scales.get(index).copied().unwrap_or(0),
                None => {
                    groundwork_coverage::hex_scale_of(report.location, &now.scales).unwrap_or(0)
                }
            };
            let full = units(unit, reciprocity && excluded.is_none());
            shares.push((
                report.witness.clone(),
                BeaconShare {
                    beacon: *id,
                    as_beaconer: false,
                    witnesses: counted,
                    unit,
                    hex_scale: scale,
                    witness_scale: Some(own_scale),
                    reciprocity,
                    excluded,
                    units: full * u64::from(own_scale) / u64::from(groundwork_coverage::UNIT_SCALE),
                    report: Some(report),
                    peer_deviation_cdb: deviation,
                },
            ));
        }
        Some((record, shares))
    }

    /// Devices in closed rings among `beacons`: groups of at most [`MAX_CLOSED_RING`] devices,
    /// held by at most [`MAX_RING_OWNERS`] owners, whose valid reports all stay inside the
    /// group — they witness only one another and nobody outside witnesses them. Such a group
    /// proves nothing about coverage beyond itself, which is what one operator fabricating
    /// reports for its own devices looks like. (A small isolated group of independent owners is
    /// left alone; an operator who spreads a ring over many accounts evades this rule, which is
    /// what challenges are for.)
    pub(crate) fn closed_rings(&self, beacons: &[Digest]) -> std::collections::BTreeSet<DeviceId> {
        use std::collections::BTreeMap;
        // Union-find over the devices that appear, in id order (deterministic).
        let mut index: BTreeMap<DeviceId, usize> = BTreeMap::new();
        let mut parent: Vec<usize> = Vec::new();
        fn find(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let mut id_of = |device: &DeviceId, parent: &mut Vec<usize>| -> usize {
            *index.entry(device.clone()).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            })
        };
        let mut edges = Vec::new();
        for id in beacons {
            let Some(record) = self.beacon(id) else {
                continue;
            };
            let b = id_of(&record.beaconer, &mut parent);
            for i in 0..record.witnesses {
                if let Some(report) = self.witness_record(id, i) {
                    let w = id_of(&report.witness, &mut parent);
                    edges.push((b, w));
                }
            }
        }
        for (a, b) in edges {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut sizes: BTreeMap<usize, usize> = BTreeMap::new();
        let mut owners: BTreeMap<
            usize,
            std::collections::BTreeSet<groundwork_primitives::Address>,
        > = BTreeMap::new();
        let roots: Vec<(DeviceId, usize)> = index
            .iter()
            .map(|(d, &i)| (d.clone(), find(&mut parent, i)))
            .collect();
        for (device, root) in &roots {
            *sizes.entry(*root).or_default() += 1;
            if let Some(record) = self.device(device) {
                owners.entry(*root).or_default().insert(record.owner);
            }
        }
        roots
            .into_iter()
            .filter(|(_, root)| {
                let size = sizes.get(root).copied().unwrap_or(0);
                let owner_count = owners.get(root).map_or(0, |o| o.len());
                (2..=MAX_CLOSED_RING).contains(&size) && owner_count <= MAX_RING_OWNERS
            })
            .map(|(d, _)| d)
            .collect()
    }

    /// The density scales of every active wireless device's location now.
    pub(crate) fn wireless_scales(&self) -> std::collections::BTreeMap<Cell, u32> {
        let cells: Vec<Cell> = self
            .devices()
            .filter(|(_, d)| d.kind == ResourceKind::Wireless && d.status == DeviceStatus::Active)
            .map(|(_, d)| d.location)
            .collect();
        groundwork_coverage::hex_scales(&cells)
    }

    /// Settles every beacon whose witness window has closed by `height` (the epoch's last
    /// block): splits `pool` between beaconers and witnesses by their units, pays owners,
    /// records a [`CoverageReward`] per device and a [`CoverageSummary`], and drops beacons
    /// settled [`BEACON_RETENTION_EPOCHS`] ago. Returns what was paid.
    pub(crate) fn pay_coverage(
        &mut self,
        epoch: u64,
        height: u64,
        pool: groundwork_primitives::Amount,
    ) -> Result<groundwork_primitives::Amount, crate::error::BlockError> {
        use crate::error::BlockError;
        use groundwork_primitives::Amount;
        let window = self.params.coverage.witness_window_blocks;
        let closed: Vec<HeightBeacon> = self
            .pending_beacons
            .keys()
            .into_iter()
            .take_while(|k| k.0.saturating_add(window) <= height)
            .collect();
        let ids: Vec<Digest> = closed.iter().map(|k| k.1).collect();
        let now = Settlement {
            height,
            scales: if closed.is_empty() {
                Default::default()
            } else {
                self.wireless_scales()
            },
            rings: self.closed_rings(&ids),
            tallies: self.peer_tallies(&ids),
            steady_pairs: self.steady_pairs(&ids),
        };
        let mut rewards: std::collections::BTreeMap<DeviceId, CoverageReward> = Default::default();
        let (mut total_beacon, mut total_witness) = (0u64, 0u64);
        for key in &closed {
            self.pending_beacons.delete(key.clone());
            let Some((_, shares)) = self.beacon_shares(&key.1, &now, None) else {
                continue;
            };
            let settled = SettledBeacon {
                hex_scale: shares.first().map(|(_, s)| s.hex_scale).unwrap_or(0),
                reciprocity: shares
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, s))| s.reciprocity)
                    .fold(0u16, |bits, (i, _)| bits | (1 << i)),
                excluded: shares
                    .iter()
                    .skip(1)
                    .enumerate()
                    .filter(|(_, (_, s))| s.excluded == Some(CollusionRule::ClosedRing))
                    .fold(0u16, |bits, (i, _)| bits | (1 << i)),
                implausible: shares
                    .iter()
                    .skip(1)
                    .enumerate()
                    .filter(|(_, (_, s))| s.excluded == Some(CollusionRule::ImplausibleSignal))
                    .fold(0u16, |bits, (i, _)| bits | (1 << i)),
                out_of_line: shares
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, s))| s.excluded == Some(CollusionRule::OutOfLine))
                    .fold(0u16, |bits, (i, _)| bits | (1 << i)),
                steady: shares
                    .iter()
                    .skip(1)
                    .enumerate()
                    .filter(|(_, (_, s))| s.excluded == Some(CollusionRule::SteadySignal))
                    .fold(0u16, |bits, (i, _)| bits | (1 << i)),
                witness_scales: {
                    let mut scales = [0u32; MAX_REWARDED_WITNESSES as usize];
                    for (slot, (_, share)) in scales.iter_mut().zip(shares.iter().skip(1)) {
                        *slot = share.witness_scale.unwrap_or(0);
                    }
                    scales
                },
            };
            self.rewarded_beacons
                .put(EpochBeacon(epoch, key.1), settled);
            for (device, share) in shares {
                let Some(record) = self.device(&device) else {
                    continue;
                };
                let peers = now.tallies.get(&device).copied().unwrap_or_default();
                let entry = rewards.entry(device).or_insert(CoverageReward {
                    owner: record.owner,
                    beacons: 0,
                    witnesses: 0,
                    beacon_units: 0,
                    witness_units: 0,
                    reciprocity_misses: 0,
                    collusion_exclusions: 0,
                    peers,
                    amount: Amount::ZERO,
                });
                let overflow = BlockError::Arithmetic {
                    context: "coverage units",
                };
                if share.excluded.is_some() {
                    entry.collusion_exclusions = entry.collusion_exclusions.saturating_add(1);
                } else if !share.reciprocity {
                    entry.reciprocity_misses = entry.reciprocity_misses.saturating_add(1);
                } else if share.as_beaconer {
                    entry.beacons = entry.beacons.saturating_add(1);
                    entry.beacon_units = entry
                        .beacon_units
                        .checked_add(share.units)
                        .ok_or(overflow.clone())?;
                    total_beacon = total_beacon.checked_add(share.units).ok_or(overflow)?;
                } else {
                    entry.witnesses = entry.witnesses.saturating_add(1);
                    entry.witness_units = entry
                        .witness_units
                        .checked_add(share.units)
                        .ok_or(overflow.clone())?;
                    total_witness = total_witness.checked_add(share.units).ok_or(overflow)?;
                }
            }
        }
        let witness_share = u128::from(self.params.coverage.witness_share_bps);
        let witness_pool = Amount(
            pool.0
                .checked_mul(witness_share)
                .ok_or(BlockError::Arithmetic {
                    context: "witness pool",
                })?
                / u128::from(crate::genesis::BASIS_POINTS_TOTAL),
        );
        let beacon_pool = pool
            .checked_sub(witness_pool)
            .ok_or(BlockError::Invariant {
                context: "witness pool exceeds the coverage pool",
            })?;
        let mut paid = Amount::ZERO;
        for (device, mut reward) in rewards {
            let amount = share_of(beacon_pool.0, reward.beacon_units, total_beacon)
                .checked_add(share_of(
                    witness_pool.0,
                    reward.witness_units,
                    total_witness,
                ))
                .ok_or(BlockError::Arithmetic {
                    context: "coverage reward",
                })?;
            reward.amount = Amount(amount);
            let mut owner = self.account(&reward.owner);
            owner.balance = owner
                .balance
                .checked_add(reward.amount)
                .ok_or(BlockError::Arithmetic { context: "reward" })?;
            self.accounts.put(reward.owner, owner);
            paid = paid
                .checked_add(reward.amount)
                .ok_or(BlockError::Arithmetic {
                    context: "coverage paid",
                })?;
            self.coverage_rewards.put((epoch, device), reward);
        }
        if paid > pool {
            return Err(BlockError::Invariant {
                context: "coverage rewards exceed the pool",
            });
        }
        self.coverage_epochs.put(
            epoch,
            CoverageSummary {
                pool,
                beacon_pool,
                witness_pool,
                beacons: closed.len() as u64,
                total_beacon_units: total_beacon,
                total_witness_units: total_witness,
                paid,
            },
        );
        // Forget beacons settled long enough ago.
        if let Some(old) = epoch.checked_sub(BEACON_RETENTION_EPOCHS) {
            for key in self
                .rewarded_beacons
                .keys()
                .into_iter()
                .take_while(|k| k.0 <= old)
            {
                if let Some(record) = self.beacon(&key.1) {
                    for index in 0..record.witnesses {
                        self.witnesses.delete(BeaconWitness(key.1, index));
                    }
                }
                self.beacons.delete(key.1);
                self.rewarded_beacons.delete(key);
            }
        }
        Ok(paid)
    }

    /// The active wireless device `id`, or why it may not take part in coverage.
    pub(crate) fn coverage_device(&self, id: &DeviceId) -> Result<crate::records::Device, TxError> {
        let device = self
            .device(id)
            .ok_or_else(|| TxError::UnknownDevice { device: id.clone() })?;
        if device.status != DeviceStatus::Active {
            return Err(TxError::DeviceNotActive {
                device: id.clone(),
                status: device.status.name(),
            });
        }
        if device.kind != ResourceKind::Wireless {
            return Err(TxError::NotWireless {
                device: id.clone(),
                kind: device.kind.name(),
            });
        }
        Ok(device)
    }

    pub(crate) fn apply_beacon(
        &mut self,
        tx: &BeaconTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let device = self.coverage_device(&tx.device)?;
        self.check_location_undisputed(&tx.device)?;
        if !preverified && !tx.verify_signature(&self.params().chain_id) {
            return Err(TxError::BadSignature);
        }
        self.check_recent_block(&tx.entropy_block, height)?;
        let id = tx.beacon_id();
        if self.beacon(&id).is_some() {
            // The same device and entropy block: the same payload again.
            return Err(TxError::DuplicateBeacon);
        }
        let mut activity = self.coverage_activity(&tx.device);
        let interval = self.params().coverage.beacon_interval_blocks;
        if let Some(last) = activity.last_beacon_height {
            let next = last.saturating_add(interval);
            if height < next {
                return Err(TxError::BeaconTooSoon {
                    last_height: last,
                    next_height: next,
                });
            }
        }
        activity.last_beacon_height = Some(height);
        self.put_coverage_activity(tx.device.clone(), activity);
        self.pending_beacons.put(HeightBeacon(height, id), 0);
        self.put_beacon(
            id,
            BeaconRecord {
                beaconer: tx.device.clone(),
                height,
                location: device.location,
                radio: tx.radio,
                witnesses: 0,
            },
        );
        Ok(())
    }

    pub(crate) fn apply_witness(
        &mut self,
        tx: &WitnessTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let witness = self.coverage_device(&tx.witness)?;
        self.check_location_undisputed(&tx.witness)?;
        if !preverified && !tx.verify_signature(&self.params().chain_id) {
            return Err(TxError::BadSignature);
        }
        let mut beacon = self
            .beacon(&tx.beacon)
            .ok_or_else(|| TxError::UnknownBeacon {
                beacon: groundwork_primitives::hash::digest_hex(&tx.beacon),
            })?;
        if beacon.beaconer == tx.witness {
            return Err(TxError::SelfWitness);
        }
        let window = self.params().coverage.witness_window_blocks;
        let after = height.saturating_sub(beacon.height);
        if after > window {
            return Err(TxError::LateWitness {
                blocks_after: after,
                max_blocks: window,
            });
        }
        for index in 0..beacon.witnesses {
            if self
                .witness_record(&tx.beacon, index)
                .is_some_and(|w| w.witness == tx.witness)
            {
                return Err(TxError::DuplicateWitness);
            }
        }
        let delta = beacon.radio.frequency_hz.abs_diff(tx.reading.frequency_hz);
        if delta > MAX_FREQUENCY_DELTA_HZ {
            return Err(TxError::FrequencyMismatch {
                delta_hz: delta,
                max_hz: MAX_FREQUENCY_DELTA_HZ,
            });
        }
        let distance = groundwork_coverage::distance_m(beacon.location, witness.location);
        if distance > MAX_WITNESS_DISTANCE_M {
            return Err(TxError::WitnessTooFar {
                meters: distance,
                max: MAX_WITNESS_DISTANCE_M,
            });
        }
        // A grid distance H3 cannot count (across a pentagon) makes the report invalid, as it
        // did in Helium's verifier.
        let grid = groundwork_coverage::grid_distance_res11(beacon.location, witness.location)
            .map_err(|e| TxError::Geometry {
                reason: e.to_string(),
            })?;
        if grid < MIN_GRID_DISTANCE_RES11 {
            return Err(TxError::WitnessTooClose {
                grid_distance: grid,
                min: MIN_GRID_DISTANCE_RES11,
            });
        }
        let max_rssi = groundwork_coverage::expected_rssi_cdbm(
            i32::from(beacon.radio.tx_power_dbm),
            beacon.radio.frequency_hz,
            distance,
            i32::from(beacon.radio.antenna_gain_ddbi),
            i32::from(tx.reading.antenna_gain_ddbi),
        )
        .map_err(|e| TxError::Geometry {
            reason: e.to_string(),
        })?;
        if groundwork_coverage::rssi_exceeds_free_space(i32::from(tx.reading.rssi_dbm), max_rssi) {
            return Err(TxError::RssiTooStrong {
                rssi_dbm: tx.reading.rssi_dbm,
                max_cdbm: max_rssi,
                meters: distance,
            });
        }
        if beacon.witnesses >= MAX_REWARDED_WITNESSES {
            return Err(TxError::WitnessLimitReached {
                max: MAX_REWARDED_WITNESSES,
            });
        }
        let index = beacon.witnesses;
        self.put_witness_record(
            tx.beacon,
            index,
            WitnessRecord {
                witness: tx.witness.clone(),
                height,
                location: witness.location,
                reading: tx.reading,
                distance_m: distance,
                grid_distance_res11: grid,
                max_rssi_cdbm: max_rssi,
            },
        );
        beacon.witnesses = index + 1;
        let beaconer = beacon.beaconer.clone();
        self.put_beacon(tx.beacon, beacon);
        let mut mine = self.coverage_activity(&tx.witness);
        mine.last_witness_height = Some(height);
        self.put_coverage_activity(tx.witness.clone(), mine);
        let mut theirs = self.coverage_activity(&beaconer);
        theirs.last_witnessed_height = Some(height);
        self.put_coverage_activity(beaconer, theirs);
        Ok(())
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
