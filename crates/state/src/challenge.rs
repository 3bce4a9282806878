//! Permissionless location challenges.
//!
//! Anyone may challenge a wireless device's asserted location by locking the genesis challenge
//! bond and citing on-chain evidence: retained beacons the device took part in, at its current
//! location, with a device held by neither its owner nor the challenger, whose signal over the
//! distance between the asserted places is far louder than a typical link delivers
//! (`groundwork_coverage::too_loud_for_distance`). That is what a device asserting a place far
//! from where it really is produces.
//!
//! The device's owner then has `answer_window_blocks` to answer with a beacon the device sends
//! after the challenge. When the beacon's witness window has closed, the challenge resolves,
//! deterministically, from that beacon's reports alone:
//!
//! - **rejected** if at least `min_answer_witnesses` witnesses held by neither the device's
//!   owner nor the challenger heard it, and the median of their signals' excess over the typical
//!   link at the asserted distance is within `groundwork_coverage::LOCATION_MARGIN_CDB`: the
//!   device is where it says. The challenger's bond goes to the device's owner;
//! - **upheld** otherwise (no answer, too few independent witnesses, or signals that still do
//!   not fit): `slash_bps` of the device bond is slashed; half goes to the challenger with its
//!   bond, half to the treasury. The device's location is then disputed: it may not beacon or
//!   witness until its owner asserts a different location.
//!
//! While a challenge is open the device cannot move, change hands or be decommissioned, so it
//! cannot dodge the answer or the slash.

use crate::error::{BlockError, TxError};
use crate::genesis::BASIS_POINTS_TOTAL;
use crate::machine::State;
use crate::records::DeviceStatus;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::hash::{Digest, digest_hex};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::limits::MAX_CHALLENGE_EVIDENCE;
use groundwork_primitives::{Address, Amount, Cell, DeviceId};
use std::collections::BTreeSet;

/// One cited link: the loudest report, for its distance, of the device in one beacon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub beacon: Digest,
    /// Whether the challenged device sent the beacon (else it reported it).
    pub as_beaconer: bool,
    /// The device at the other end of the link.
    pub other: DeviceId,
    /// Metres between the two asserted places.
    pub distance_m: u32,
    pub rssi_dbm: i16,
    /// What a typical link delivers over that distance, in centi-dBm
    /// (`groundwork_coverage::typical_rssi_cdbm`).
    pub typical_cdbm: i32,
    /// `100·rssi − typical`, in centi-dB.
    pub excess_cdb: i64,
}
impl_struct_codec!(Evidence {
    beacon,
    as_beaconer,
    other,
    distance_m,
    rssi_dbm,
    typical_cdbm,
    excess_cdb
});

/// Evidence links, 1 to [`MAX_CHALLENGE_EVIDENCE`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvidenceList(pub Vec<Evidence>);

impl Write for EvidenceList {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        // Built from a decoded transaction, so never more than MAX_CHALLENGE_EVIDENCE.
        let count = self.0.len().min(MAX_CHALLENGE_EVIDENCE);
        (count as u8).write(buf);
        for link in self.0.iter().take(count) {
            link.write(buf);
        }
    }
}

impl EncodeSize for EvidenceList {
    fn encode_size(&self) -> usize {
        1 + self
            .0
            .iter()
            .take(MAX_CHALLENGE_EVIDENCE)
            .map(EncodeSize::encode_size)
            .sum::<usize>()
    }
}

impl Read for EvidenceList {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let count = usize::from(u8::read(buf)?);
        if count > MAX_CHALLENGE_EVIDENCE {
            return Err(CodecError::InvalidLength(count));
        }
        let mut links = Vec::with_capacity(count);
        for _ in 0..count {
            links.push(Evidence::read(buf)?);
        }
        Ok(Self(links))
    }
}

/// Where a challenge is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeStatus {
    /// Waiting for its resolution height.
    Open,
    /// The device failed to show it is where it says: `slashed` was taken from its bond.
    Upheld { slashed: Amount },
    /// The device showed it is where it says; the challenger's bond went to its owner.
    Rejected,
}

impl ChallengeStatus {
    pub fn name(&self) -> &'static str {
        match self {
            ChallengeStatus::Open => "open",
            ChallengeStatus::Upheld { .. } => "upheld",
            ChallengeStatus::Rejected => "rejected",
        }
    }
}

impl Write for ChallengeStatus {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            ChallengeStatus::Open => 0u8.write(buf),
            ChallengeStatus::Upheld { slashed } => {
                1u8.write(buf);
                slashed.write(buf);
            }
            ChallengeStatus::Rejected => 2u8.write(buf),
        }
    }
}

impl EncodeSize for ChallengeStatus {
    fn encode_size(&self) -> usize {
        match self {
            ChallengeStatus::Upheld { slashed } => 1 + slashed.encode_size(),
            _ => 1,
        }
    }
}

impl Read for ChallengeStatus {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(ChallengeStatus::Open),
            1 => Ok(ChallengeStatus::Upheld {
                slashed: Amount::read(buf)?,
            }),
            2 => Ok(ChallengeStatus::Rejected),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

/// A location challenge, every step of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub device: DeviceId,
    /// The device's owner when the challenge landed (it cannot change while open).
    pub owner: Address,
    pub challenger: Address,
    /// The challenger's locked bond.
    pub bond: Amount,
    /// The asserted location under challenge.
    pub location: Cell,
    pub opened_at: u64,
    /// Last height at which the owner may answer.
    pub answer_by: u64,
    /// Height at which the challenge resolves: `answer_by` plus the witness window.
    pub resolves_at: u64,
    pub evidence: EvidenceList,
    /// The answering beacon, if the owner answered.
    pub answer: Option<Digest>,
    /// Independent witnesses of the answer counted at resolution.
    pub answer_witnesses: u8,
    /// Median excess of their signals over the typical link, in centi-dB.
    pub answer_median_excess_cdb: Option<i64>,
    pub status: ChallengeStatus,
    pub resolved_at: Option<u64>,
}
impl_struct_codec!(Challenge {
    device,
    owner,
    challenger,
    bond,
    location,
    opened_at,
    answer_by,
    resolves_at,
    evidence,
    answer,
    answer_witnesses,
    answer_median_excess_cdb,
    status,
    resolved_at
});

impl Challenge {
    /// Whether the answer, as counted, shows the device where it says.
    fn answered_well(&self, min_witnesses: u8) -> bool {
        self.answer_witnesses >= min_witnesses
            && self
                .answer_median_excess_cdb
                .is_some_and(|m| !groundwork_coverage::too_loud_for_distance(m))
    }
}

impl State {
    /// A challenge by id.
    pub fn challenge(&self, id: &Digest) -> Option<Challenge> {
        self.challenges.get(id).cloned()
    }

    /// The open or upheld challenge that currently binds a device, if any.
    pub fn device_challenge(&self, device: &DeviceId) -> Option<(Digest, Challenge)> {
        let id = *self.device_challenges.get(device)?;
        Some((id, self.challenge(&id)?))
    }

    /// Every challenge ever posted against a device, oldest first.
    pub fn challenges_of(&self, device: &DeviceId) -> Vec<(Digest, Challenge)> {
        let mut all: Vec<(Digest, Challenge)> = self
            .challenge_history
            .keys()
            .into_iter()
            .filter(|k| &k.0 == device)
            .filter_map(|k| Some((k.1, self.challenge(&k.1)?)))
            .collect();
        all.sort_by_key(|(id, c)| (c.opened_at, *id));
        all
    }

    /// Refuses a change to a device while a challenge of it is open.
    pub(crate) fn check_not_challenged(&self, device: &DeviceId) -> Result<(), TxError> {
        match self.device_challenge(device) {
            Some((id, c)) if c.status == ChallengeStatus::Open => Err(TxError::ChallengePending {
                challenge: digest_hex(&id),
            }),
            _ => Ok(()),
        }
    }

    /// Refuses coverage work from a device whose location a challenge has upheld.
    pub(crate) fn check_location_undisputed(&self, device: &DeviceId) -> Result<(), TxError> {
        match self.device_challenge(device) {
            Some((id, c)) if matches!(c.status, ChallengeStatus::Upheld { .. }) => {
                Err(TxError::LocationDisputed {
                    challenge: digest_hex(&id),
                })
            }
            _ => Ok(()),
        }
    }

    /// Refuses asserting the very location an upheld challenge disputed.
    pub(crate) fn check_new_location(
        &self,
        device: &DeviceId,
        location: Cell,
    ) -> Result<(), TxError> {
        match self.device_challenge(device) {
            Some((id, c))
                if matches!(c.status, ChallengeStatus::Upheld { .. }) && c.location == location =>
            {
                Err(TxError::LocationDisputed {
                    challenge: digest_hex(&id),
                })
            }
            _ => Ok(()),
        }
    }

    /// A different asserted location settles an upheld dispute.
    pub(crate) fn clear_dispute(&mut self, device: &DeviceId) {
        if self
            .device_challenge(device)
            .is_some_and(|(_, c)| matches!(c.status, ChallengeStatus::Upheld { .. }))
        {
            self.device_challenges.delete(device.clone());
        }
    }

    /// The loudest link, for its distance, between `device` at its current asserted `location`
    /// and the other side of beacon `id`. Only links whose other end is held by neither the
    /// device's owner nor the challenger count: a challenger cannot make its own evidence, and
    /// a link from before the device last moved says nothing about where it is now.
    fn evidence_link(
        &self,
        id: &Digest,
        device: &DeviceId,
        location: Cell,
        excluded_owners: [&Address; 2],
    ) -> Option<Evidence> {
        let record = self.beacon(id)?;
        let as_beaconer = &record.beaconer == device;
        if as_beaconer && record.location != location {
            return None;
        }
        let independent = |other: &DeviceId| {
            self.device(other)
                .is_some_and(|d| !excluded_owners.contains(&&d.owner))
        };
        if !as_beaconer && !independent(&record.beaconer) {
            return None;
        }
        let mut best: Option<Evidence> = None;
        for index in 0..record.witnesses {
            let Some(report) = self.witness_record(id, index) else {
                continue;
            };
            if as_beaconer {
                if !independent(&report.witness) {
                    continue;
                }
            } else if &report.witness != device || report.location != location {
                continue;
            }
            let Ok(typical) = groundwork_coverage::typical_rssi_cdbm(
                i32::from(record.radio.tx_power_dbm),
                record.radio.frequency_hz,
                report.distance_m,
                i32::from(record.radio.antenna_gain_ddbi),
                i32::from(report.reading.antenna_gain_ddbi),
            ) else {
                continue;
            };
            let excess = groundwork_coverage::excess_over_typical_cdb(
                report.reading.rssi_dbm.into(),
                typical,
            );
            if best.as_ref().is_some_and(|b| b.excess_cdb >= excess) {
                continue;
            }
            best = Some(Evidence {
                beacon: *id,
                as_beaconer,
                other: if as_beaconer {
                    report.witness.clone()
                } else {
                    record.beaconer.clone()
                },
                distance_m: report.distance_m,
                rssi_dbm: report.reading.rssi_dbm,
                typical_cdbm: typical,
                excess_cdb: excess,
            });
        }
        best
    }

    /// Opens a challenge (the caller has charged the fee and checked the signature and nonce).
    pub(crate) fn open_challenge(
        &mut self,
        challenger: &Address,
        nonce: u64,
        device_id: &DeviceId,
        cited: &[Digest],
        height: u64,
    ) -> Result<(), TxError> {
        let params = self.params.challenges;
        if params.bond == Amount::ZERO {
            return Err(TxError::ChallengesDisabled);
        }
        let device = self.coverage_device(device_id)?;
        if &device.owner == challenger {
            return Err(TxError::SelfChallenge);
        }
        if let Some((id, c)) = self.device_challenge(device_id) {
            return Err(if c.status == ChallengeStatus::Open {
                TxError::ChallengePending {
                    challenge: digest_hex(&id),
                }
            } else {
                TxError::LocationDisputed {
                    challenge: digest_hex(&id),
                }
            });
        }
        let mut seen = BTreeSet::new();
        let mut links = Vec::with_capacity(cited.len());
        for beacon in cited {
            if !seen.insert(*beacon) {
                return Err(TxError::DuplicateEvidence {
                    beacon: digest_hex(beacon),
                });
            }
            let link = self
                .evidence_link(
                    beacon,
                    device_id,
                    device.location,
                    [&device.owner, challenger],
                )
                .ok_or_else(|| TxError::EvidenceNotFound {
                    beacon: digest_hex(beacon),
                })?;
            links.push(link);
        }
        let loudest = links.iter().map(|l| l.excess_cdb).max().unwrap_or(i64::MIN);
        if !groundwork_coverage::too_loud_for_distance(loudest) {
            return Err(TxError::WeakEvidence {
                loudest_excess_cdb: loudest,
                min_cdb: groundwork_coverage::LOCATION_MARGIN_CDB,
            });
        }
        let mut account = self.account(challenger);
        account.balance =
            account
                .balance
                .checked_sub(params.bond)
                .ok_or(TxError::InsufficientBalance {
                    needed: params.bond,
                    available: account.balance,
                })?;
        self.accounts.put(*challenger, account);
        let mut info = self.chain_info();
        info.escrowed = info
            .escrowed
            .checked_add(params.bond)
            .ok_or(TxError::AmountOverflow { what: "escrowed" })?;
        self.info.put(crate::machine::Singleton, info);

        let overflow = TxError::AmountOverflow {
            what: "challenge height",
        };
        let answer_by = height
            .checked_add(params.answer_window_blocks)
            .ok_or(overflow.clone())?;
        let resolves_at = answer_by
            .checked_add(self.params.coverage.witness_window_blocks)
            .ok_or(overflow)?;
        let id = groundwork_primitives::challenge_id(challenger, nonce);
        let challenge = Challenge {
            device: device_id.clone(),
            owner: device.owner,
            challenger: *challenger,
            bond: params.bond,
            location: device.location,
            opened_at: height,
            answer_by,
            resolves_at,
            evidence: EvidenceList(links),
            answer: None,
            answer_witnesses: 0,
            answer_median_excess_cdb: None,
            status: ChallengeStatus::Open,
            resolved_at: None,
        };
        self.challenges.put(id, challenge);
        self.device_challenges.put(device_id.clone(), id);
        self.challenge_history
            .put(DeviceChallenge(device_id.clone(), id), height);
        self.open_challenges
            .put(HeightChallenge(resolves_at, id), 0);
        Ok(())
    }

    /// Records an owner's answer (the caller has charged the fee and checked the signature).
    pub(crate) fn answer_challenge(
        &mut self,
        sender: &Address,
        id: &Digest,
        beacon: &Digest,
        height: u64,
    ) -> Result<(), TxError> {
        let mut challenge = self
            .challenge(id)
            .ok_or_else(|| TxError::UnknownChallenge {
                challenge: digest_hex(id),
            })?;
        if &challenge.owner != sender {
            return Err(TxError::NotDeviceOwner {
                device: challenge.device.clone(),
            });
        }
        if challenge.status != ChallengeStatus::Open || height > challenge.answer_by {
            return Err(TxError::ChallengeClosed {
                answer_by: challenge.answer_by,
            });
        }
        if challenge.answer.is_some() {
            return Err(TxError::AlreadyAnswered);
        }
        let record = self.beacon(beacon).ok_or_else(|| TxError::UnknownBeacon {
            beacon: digest_hex(beacon),
        })?;
        if record.beaconer != challenge.device {
            return Err(TxError::BadAnswer {
                reason: "the beacon was not sent by the challenged device",
            });
        }
        if record.height <= challenge.opened_at {
            return Err(TxError::BadAnswer {
                reason: "the beacon is not newer than the challenge",
            });
        }
        challenge.answer = Some(*beacon);
        self.challenges.put(*id, challenge);
        Ok(())
    }

    /// Resolves every challenge due at `height` (see the module documentation).
    pub(crate) fn resolve_challenges(&mut self, height: u64) -> Result<(), BlockError> {
        let due: Vec<HeightChallenge> = self
            .open_challenges
            .keys()
            .into_iter()
            .take_while(|k| k.0 <= height)
            .collect();
        for key in due {
            self.open_challenges.delete(key.clone());
            let id = key.1;
            let mut challenge = self.challenge(&id).ok_or(BlockError::Invariant {
                context: "an open challenge without its record",
            })?;
            if let Some(beacon) = challenge.answer {
                let (count, median) = self.independent_answer(&beacon, &challenge);
                challenge.answer_witnesses = count;
                challenge.answer_median_excess_cdb = median;
            }
            let arithmetic = |context| BlockError::Arithmetic { context };
            let mut info = self.chain_info();
            info.escrowed =
                info.escrowed
                    .checked_sub(challenge.bond)
                    .ok_or(BlockError::Invariant {
                        context: "escrow below zero",
                    })?;
            if challenge.answered_well(self.params.challenges.min_answer_witnesses) {
                let mut owner = self.account(&challenge.owner);
                owner.balance = owner
                    .balance
                    .checked_add(challenge.bond)
                    .ok_or(arithmetic("forfeited bond"))?;
                self.accounts.put(challenge.owner, owner);
                challenge.status = ChallengeStatus::Rejected;
                self.device_challenges.delete(challenge.device.clone());
            } else {
                let mut device = self
                    .device(&challenge.device)
                    .ok_or(BlockError::Invariant {
                        context: "a challenge of an unknown device",
                    })?;
                // An open challenge keeps the device active; were it ever not, its bond is
                // already promised back to the owner, so nothing is slashed rather than the
                // chain stopping.
                let slashed = if device.status == DeviceStatus::Active {
                    Amount(
                        device
                            .bond
                            .0
                            .checked_mul(u128::from(self.params.challenges.slash_bps))
                            .ok_or(arithmetic("slash"))?
                            / u128::from(BASIS_POINTS_TOTAL),
                    )
                } else {
                    Amount::ZERO
                };
                device.bond = device
                    .bond
                    .checked_sub(slashed)
                    .ok_or(BlockError::Invariant {
                        context: "slash exceeds the bond",
                    })?;
                info.bonded = info
                    .bonded
                    .checked_sub(slashed)
                    .ok_or(BlockError::Invariant {
                        context: "bonded below zero",
                    })?;
                self.devices.put(challenge.device.clone(), device);
                // Half the slash to the challenger, half to the treasury: an owner who
                // challenges its own device from another account loses half of what it
                // slashes, so a self-challenge is no cheap way to unbond or to block others.
                let to_challenger = Amount(slashed.0 / 2);
                let to_treasury = slashed
                    .checked_sub(to_challenger)
                    .ok_or(arithmetic("slash split"))?;
                info.treasury = info
                    .treasury
                    .checked_add(to_treasury)
                    .ok_or(arithmetic("treasury"))?;
                let paid = challenge
                    .bond
                    .checked_add(to_challenger)
                    .ok_or(arithmetic("challenge payout"))?;
                let mut challenger = self.account(&challenge.challenger);
                challenger.balance = challenger
                    .balance
                    .checked_add(paid)
                    .ok_or(arithmetic("challenge payout"))?;
                self.accounts.put(challenge.challenger, challenger);
                challenge.status = ChallengeStatus::Upheld { slashed };
            }
            self.info.put(crate::machine::Singleton, info);
            challenge.resolved_at = Some(height);
            self.challenges.put(id, challenge);
        }
        Ok(())
    }

    /// The answer beacon's witnesses held by neither the owner nor the challenger: how many,
    /// and the median excess of their signals over the typical link at the asserted distance.
    fn independent_answer(&self, beacon: &Digest, challenge: &Challenge) -> (u8, Option<i64>) {
        let Some(record) = self.beacon(beacon) else {
            return (0, None);
        };
        let mut excesses = Vec::new();
        for index in 0..record.witnesses {
            let Some(report) = self.witness_record(beacon, index) else {
                continue;
            };
            let independent = self
                .device(&report.witness)
                .is_some_and(|w| w.owner != challenge.owner && w.owner != challenge.challenger);
            if !independent {
                continue;
            }
            if let Ok(typical) = groundwork_coverage::typical_rssi_cdbm(
                i32::from(record.radio.tx_power_dbm),
                record.radio.frequency_hz,
                report.distance_m,
                i32::from(record.radio.antenna_gain_ddbi),
                i32::from(report.reading.antenna_gain_ddbi),
            ) {
                excesses.push(groundwork_coverage::excess_over_typical_cdb(
                    report.reading.rssi_dbm.into(),
                    typical,
                ));
            }
        }
        let count = u8::try_from(excesses.len()).unwrap_or(u8::MAX);
        (count, groundwork_coverage::median(&excesses))
    }
}

pair_key!(
    /// The key of an open challenge: its resolution height, then its id.
    HeightChallenge(u64, Digest)
);
pair_key!(
    /// The key of a device's challenge history: the device, then the challenge id.
    DeviceChallenge(DeviceId, Digest)
);
