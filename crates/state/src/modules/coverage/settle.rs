//! Settlement: what each beacon pays, the collusion rules that leave reports out, and the
//! epoch's payout of the coverage pool.

use super::*;
use crate::core::Core;
use crate::error::BlockError;
use crate::genesis::Params;
use crate::records::DeviceStatus;
use crate::rewards::{Program, RewardSink};
use groundwork_primitives::{Amount, ResourceKind};

/// What settlement works out once for all the beacons it closes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Settlement {
    /// Height of the settling block (reciprocity is judged at it).
    pub height: u64,
    /// `coverage.reciprocity_window_blocks`.
    pub reciprocity_window_blocks: u64,
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

    /// The collusion rule that leaves `report` of the beacon `record` out, worked out now. A
    /// report inside a closed ring shows nothing but the ring; one from a device out of line
    /// with its peers, or from a pair whose signal never varies, shows fabrication; one
    /// implausibly strong for its distance a spoofed place or an inflated signal. None counts.
    fn exclusion(&self, record: &BeaconRecord, report: &WitnessRecord) -> Option<CollusionRule> {
        if self.rings.contains(&report.witness) && self.rings.contains(&record.beaconer) {
            return Some(CollusionRule::ClosedRing);
        }
        if self.out_of_line(&report.witness) {
            return Some(CollusionRule::OutOfLine);
        }
        let pair = (record.beaconer.clone(), report.witness.clone());
        if self.steady_pairs.contains(&pair) {
            return Some(CollusionRule::SteadySignal);
        }
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
}

impl SettledBeacon {
    /// The collusion rule settlement fixed for the `index`-th witness report, if any.
    fn exclusion(&self, index: usize) -> Option<CollusionRule> {
        let bit = |mask: u16, at: usize| at < 16 && mask & (1 << at) != 0;
        if bit(self.excluded, index) {
            Some(CollusionRule::ClosedRing)
        } else if bit(self.out_of_line, index + 1) {
            Some(CollusionRule::OutOfLine)
        } else if bit(self.steady, index) {
            Some(CollusionRule::SteadySignal)
        } else if bit(self.implausible, index) {
            Some(CollusionRule::ImplausibleSignal)
        } else {
            None
        }
    }
}

impl Coverage {
    /// Whether reciprocity held at `height` for `device` in one role: a beaconer must have
    /// validly witnessed another's beacon, a witness must have had its own beacon validly
    /// witnessed, within `reciprocity_window_blocks` (HIP-106).
    fn reciprocal(&self, device: &DeviceId, as_beaconer: bool, now: &Settlement) -> bool {
        let activity = self.activity(device);
        let last = if as_beaconer {
            activity.last_witness_height
        } else {
            activity.last_witnessed_height
        };
        let window = now.reciprocity_window_blocks;
        last.is_some_and(|h| h.saturating_add(window) >= now.height)
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
            None => self.reciprocal(device, as_beaconer, now),
        };
        let out_of_line = |bit: u8, device: &DeviceId| match settled {
            Some(fixed) => fixed.out_of_line & (1 << bit) != 0,
            None => now.out_of_line(device),
        };
        let (reports, deviations): (Vec<WitnessRecord>, Vec<Option<i64>>) = self
            .reports_with_deviations(id, &record)
            .into_iter()
            .unzip();
        let excluded: Vec<Option<CollusionRule>> = reports
            .iter()
            .enumerate()
            .map(|(index, report)| match settled {
                Some(fixed) => fixed.exclusion(index),
                None => now.exclusion(&record, report),
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
                checks: Vec::new(),
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
                    checks: Vec::new(),
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
    pub(crate) fn closed_rings(
        &self,
        core: &Core,
        beacons: &[Digest],
    ) -> std::collections::BTreeSet<DeviceId> {
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
            if let Some(record) = core.device(device) {
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
    pub(crate) fn wireless_scales(core: &Core) -> std::collections::BTreeMap<Cell, u32> {
        let cells: Vec<Cell> = core
            .devices()
            .filter(|(_, d)| d.kind == ResourceKind::Wireless && d.status == DeviceStatus::Active)
            .map(|(_, d)| d.location)
            .collect();
        groundwork_coverage::hex_scales(&cells)
    }

    /// Settles every beacon whose witness window has closed by `height` (the epoch's last
    /// block): splits `pool` between beaconers and witnesses by their units, pays owners,
    /// records a [`CoverageReward`] per device and a [`CoverageSummary`], and drops beacons
    /// settled [`BEACON_RETENTION_EPOCHS`] ago. Returns what was paid, and the devices a rule
    /// that judges the device excluded.
    pub(crate) fn end_epoch(
        &mut self,
        core: &mut Core,
        sink: &mut impl RewardSink,
        params: &Params,
        epoch: u64,
        height: u64,
        pool: Amount,
    ) -> Result<CoveragePayout, BlockError> {
        let window = params.coverage.witness_window_blocks;
        let closed: Vec<HeightBeacon> = self
            .pending_beacons
            .keys()
            .into_iter()
            .take_while(|k| k.0.saturating_add(window) <= height)
            .collect();
        let ids: Vec<Digest> = closed.iter().map(|k| k.1).collect();
        let now = Settlement {
            height,
            reciprocity_window_blocks: params.coverage.reciprocity_window_blocks,
            scales: if closed.is_empty() {
                Default::default()
            } else {
                Self::wireless_scales(core)
            },
            rings: self.closed_rings(core, &ids),
            tallies: self.peer_tallies(&ids),
            steady_pairs: self.steady_pairs(&ids),
        };
        let mut tally = RewardTally::default();
        for key in &closed {
            self.pending_beacons.delete(key.clone());
            let Some((_, shares)) = self.beacon_shares(&key.1, &now, None) else {
                continue;
            };
            self.rewarded_beacons
                .put(EpochBeacon(epoch, key.1), SettledBeacon::fixed_by(&shares));
            tally.add(core, &now, shares)?;
        }
        let witness_pool = Amount(
            pool.0
                .checked_mul(u128::from(params.coverage.witness_share_bps))
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
        let mut summary = CoverageSummary {
            pool,
            beacon_pool,
            witness_pool,
            beacons: closed.len() as u64,
            total_beacon_units: tally.total_beacon,
            total_witness_units: tally.total_witness,
            paid: Amount::ZERO,
        };
        summary.paid = self.pay(core, sink, epoch, &summary, tally.rewards)?;
        let paid = summary.paid;
        self.epochs.put(epoch, summary);
        self.forget_settled_before(epoch);
        Ok(CoveragePayout {
            paid,
            judged: tally.judged,
        })
    }

    /// Pays each device its share of the beaconers' and the witnesses' pools.
    fn pay(
        &mut self,
        core: &mut Core,
        sink: &mut impl RewardSink,
        epoch: u64,
        summary: &CoverageSummary,
        rewards: std::collections::BTreeMap<DeviceId, CoverageReward>,
    ) -> Result<Amount, BlockError> {
        let mut paid = Amount::ZERO;
        for (device, mut reward) in rewards {
            // Each pool is below 2^97, so the sum of two shares cannot overflow.
            reward.amount = summary.amount_for(reward.beacon_units, reward.witness_units);
            let (owner, amount) = (reward.owner, reward.amount);
            sink.pay(core, epoch, &device, &owner, Program::Coverage, amount)?;
            paid = paid
                .checked_add(reward.amount)
                .ok_or(BlockError::Arithmetic {
                    context: "coverage paid",
                })?;
            self.rewards.put((epoch, device), reward);
        }
        if paid > summary.pool {
            return Err(BlockError::Invariant {
                context: "coverage rewards exceed the pool",
            });
        }
        Ok(paid)
    }

    /// Forgets beacons, and their reports, settled [`BEACON_RETENTION_EPOCHS`] before `epoch`.
    fn forget_settled_before(&mut self, epoch: u64) {
        let Some(old) = epoch.checked_sub(BEACON_RETENTION_EPOCHS) else {
            return;
        };
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
}

/// What the coverage program paid in an epoch, and whom its rules judged.
pub(crate) struct CoveragePayout {
    pub paid: Amount,
    /// Devices excluded by a rule that judges the device
    /// ([`CollusionRule::judges_the_device`]), with the first such rule: they earn no
    /// wireless uptime share for the epoch.
    pub judged: std::collections::BTreeMap<DeviceId, CollusionRule>,
}

/// The coverage rewards of an epoch as its beacons settle, before the pool is split.
#[derive(Default)]
struct RewardTally {
    rewards: std::collections::BTreeMap<DeviceId, CoverageReward>,
    /// Devices a rule that judges the device excluded from coverage, with the first such rule.
    judged: std::collections::BTreeMap<DeviceId, CollusionRule>,
    total_beacon: u64,
    total_witness: u64,
}

impl RewardTally {
    /// Counts one beacon's shares towards each device's reward.
    fn add(
        &mut self,
        core: &Core,
        now: &Settlement,
        shares: Vec<(DeviceId, BeaconShare)>,
    ) -> Result<(), BlockError> {
        let overflow = BlockError::Arithmetic {
            context: "coverage units",
        };
        for (device, share) in shares {
            let Some(record) = core.device(&device) else {
                continue;
            };
            let peers = now.tallies.get(&device).copied().unwrap_or_default();
            let entry = self
                .rewards
                .entry(device.clone())
                .or_insert(CoverageReward {
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
            if let Some(rule) = share.excluded {
                entry.collusion_exclusions = entry.collusion_exclusions.saturating_add(1);
                if rule.judges_the_device() {
                    self.judged.entry(device.clone()).or_insert(rule);
                }
            } else if !share.reciprocity {
                entry.reciprocity_misses = entry.reciprocity_misses.saturating_add(1);
            } else if share.as_beaconer {
                entry.beacons = entry.beacons.saturating_add(1);
                entry.beacon_units = entry
                    .beacon_units
                    .checked_add(share.units)
                    .ok_or(overflow.clone())?;
                self.total_beacon = self
                    .total_beacon
                    .checked_add(share.units)
                    .ok_or(overflow.clone())?;
            } else {
                entry.witnesses = entry.witnesses.saturating_add(1);
                entry.witness_units = entry
                    .witness_units
                    .checked_add(share.units)
                    .ok_or(overflow.clone())?;
                self.total_witness = self
                    .total_witness
                    .checked_add(share.units)
                    .ok_or(overflow.clone())?;
            }
        }
        Ok(())
    }
}

impl SettledBeacon {
    /// What settlement fixes of a beacon's shares (the beaconer's first), as bit masks over
    /// the shares, so `explain` shows them later exactly as they were paid.
    fn fixed_by(shares: &[(DeviceId, BeaconShare)]) -> Self {
        // Bit i for share i, over all shares or (`witnesses_only`) over the witnesses' alone.
        let mask = |witnesses_only: bool, pick: &dyn Fn(&BeaconShare) -> bool| -> u16 {
            let skip = usize::from(witnesses_only);
            shares
                .iter()
                .skip(skip)
                .enumerate()
                .filter(|(_, (_, s))| pick(s))
                .fold(0u16, |bits, (i, _)| bits | (1 << i))
        };
        let rule = |rule: CollusionRule| move |s: &BeaconShare| s.excluded == Some(rule);
        let mut witness_scales = [0u32; MAX_REWARDED_WITNESSES as usize];
        for (slot, (_, share)) in witness_scales.iter_mut().zip(shares.iter().skip(1)) {
            *slot = share.witness_scale.unwrap_or(0);
        }
        SettledBeacon {
            hex_scale: shares.first().map(|(_, s)| s.hex_scale).unwrap_or(0),
            reciprocity: mask(false, &|s| s.reciprocity),
            excluded: mask(true, &rule(CollusionRule::ClosedRing)),
            implausible: mask(true, &rule(CollusionRule::ImplausibleSignal)),
            out_of_line: mask(false, &rule(CollusionRule::OutOfLine)),
            steady: mask(true, &rule(CollusionRule::SteadySignal)),
            witness_scales,
        }
    }
}
