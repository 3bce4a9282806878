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
//!
//! Files: [`open`] checks a challenge's evidence and an owner's answer, [`resolve`] settles
//! each challenge when it is due.

mod error;
mod genesis;
mod held;
mod open;
mod params;
mod resolve;

pub use error::ChallengeError;
pub use held::{HeldNote, HeldOutcome, HeldRewards};
pub use params::ChallengeParams;

use crate::core::DeviceGuard;
use crate::error::{InvariantViolation, TxError};
use crate::genesis::Params;
use crate::module::{Module, ModuleInfo};
use crate::table::{AnyTable, Table};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::hash::Digest;
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::limits::MAX_CHALLENGE_EVIDENCE;
use groundwork_primitives::{Address, Amount, Cell, DeviceId};

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

pair_key!(
    /// The key of an open challenge: its resolution height, then its id.
    HeightChallenge(u64, Digest)
);
pair_key!(
    /// The key of a device's challenge history: the device, then the challenge id.
    DeviceChallenge(DeviceId, Digest)
);

/// Table prefixes of the challenges module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const CHALLENGE: u8 = 0x30;
    pub const OPEN_CHALLENGE: u8 = 0x31;
    pub const DEVICE_CHALLENGE: u8 = 0x32;
    pub const CHALLENGE_HISTORY: u8 = 0x33;
    pub const CHALLENGE_PARAMS: u8 = 0x34;
    pub const HELD_REWARDS: u8 = 0x35;
    pub const HELD_NOTES: u8 = 0x36;
}

#[derive(Clone, Debug)]
pub(crate) struct Challenges {
    challenges: Table<Digest, Challenge>,
    /// Open challenges by the height they resolve at.
    open: Table<HeightChallenge, u8>,
    /// The open or upheld challenge that binds each device.
    device_challenges: Table<DeviceId, Digest>,
    /// Every challenge of each device, with the height it was posted.
    history: Table<DeviceChallenge, u64>,
    /// The module's section of the chain parameters.
    params: Table<crate::core::Singleton, ChallengeParams>,
    /// Rewards held for each challenge while it was open (`held.rs`).
    held: Table<Digest, HeldRewards>,
    /// What each device's epoch put in escrow, for `explain`.
    held_notes: Table<held::EpochDevice, HeldNote>,
}

impl Module for Challenges {
    fn store_params(&mut self, params: &Params) {
        self.params
            .insert_committed(crate::core::Singleton, params.challenges);
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&crate::core::Singleton)
            .copied()
            .map(|stored| params.challenges = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "challenges",
            prefixes: 0x30..=0x3F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![
            &self.challenges,
            &self.open,
            &self.device_challenges,
            &self.history,
            &self.params,
            &self.held,
            &self.held_notes,
        ]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![
            &mut self.challenges,
            &mut self.open,
            &mut self.device_challenges,
            &mut self.history,
            &mut self.params,
            &mut self.held,
            &mut self.held_notes,
        ]
    }

    /// The bonds of open challenges and the rewards held for them, in escrow until they
    /// resolve.
    fn held(&self) -> Result<Amount, InvariantViolation> {
        let mut escrow = self.still_held()?;
        for challenge in self.challenges.committed().values() {
            if challenge.status == ChallengeStatus::Open {
                escrow =
                    escrow
                        .checked_add(challenge.bond)
                        .ok_or(InvariantViolation::Overflow {
                            what: "challenge escrow",
                        })?;
            }
        }
        Ok(escrow)
    }
}

/// An open challenge pins its device; an upheld one disputes its location until it moves.
impl DeviceGuard for Challenges {
    fn check_device_change(&self, device: &DeviceId) -> Result<(), TxError> {
        self.check_not_challenged(device)
    }

    fn check_new_location(&self, device: &DeviceId, location: Cell) -> Result<(), TxError> {
        Challenges::check_new_location(self, device, location)
    }

    fn device_moved(&mut self, device: &DeviceId) {
        self.clear_dispute(device);
    }
}

impl Challenges {
    pub(crate) fn new() -> Self {
        Self {
            challenges: Table::new(prefix::CHALLENGE, "challenges"),
            open: Table::new(prefix::OPEN_CHALLENGE, "open challenges"),
            device_challenges: Table::new(prefix::DEVICE_CHALLENGE, "device challenges"),
            history: Table::new(prefix::CHALLENGE_HISTORY, "challenge history"),
            params: Table::new(prefix::CHALLENGE_PARAMS, "challenge params"),
            held: Table::new(prefix::HELD_REWARDS, "held rewards"),
            held_notes: Table::new(prefix::HELD_NOTES, "held reward notes"),
        }
    }

    /// A challenge by id.
    pub(crate) fn challenge(&self, id: &Digest) -> Option<Challenge> {
        self.challenges.get(id).cloned()
    }

    /// The open or upheld challenge that currently binds a device, if any.
    pub(crate) fn device_challenge(&self, device: &DeviceId) -> Option<(Digest, Challenge)> {
        let id = *self.device_challenges.get(device)?;
        Some((id, self.challenge(&id)?))
    }

    /// Every challenge ever posted against a device, oldest first.
    pub(crate) fn challenges_of(&self, device: &DeviceId) -> Vec<(Digest, Challenge)> {
        let mut all: Vec<(Digest, Challenge)> = self
            .history
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
            Some((id, c)) if c.status == ChallengeStatus::Open => {
                Err(TxError::Challenges(ChallengeError::ChallengePending {
                    challenge: id,
                }))
            }
            _ => Ok(()),
        }
    }

    /// Refuses work (heartbeats, beacons, witness reports) from a device whose location a
    /// challenge has upheld.
    pub(crate) fn check_location_undisputed(&self, device: &DeviceId) -> Result<(), TxError> {
        match self.device_challenge(device) {
            Some((id, c)) if matches!(c.status, ChallengeStatus::Upheld { .. }) => {
                Err(TxError::Challenges(ChallengeError::LocationDisputed {
                    challenge: id,
                }))
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
                Err(TxError::Challenges(ChallengeError::LocationDisputed {
                    challenge: id,
                }))
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
}
