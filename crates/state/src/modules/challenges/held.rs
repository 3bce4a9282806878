//! Rewards held while a device's location is challenged.
//!
//! From the block a challenge lands until it resolves, whatever the device earns from the
//! emission (its kind's uptime pool, the coverage pool) goes into escrow instead of to its
//! owner. A rejected challenge releases it to the owner; an upheld one forfeits it to the
//! treasury: a spoofer who is caught keeps nothing it earned while under challenge. What is
//! held is recorded per epoch and device, so `explain` names the rule for every amount held.

use super::*;
use crate::core::Core;
use crate::error::BlockError;
use crate::rewards::{Program, RewardSink};

/// What became of rewards held for a challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldOutcome {
    /// In escrow until the challenge resolves.
    Held,
    /// The challenge was rejected: paid to the owner at this height.
    Released { height: u64 },
    /// The challenge was upheld: sent to the treasury at this height.
    Forfeited { height: u64 },
}

impl HeldOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            HeldOutcome::Held => "held",
            HeldOutcome::Released { .. } => "released",
            HeldOutcome::Forfeited { .. } => "forfeited",
        }
    }
}

impl Write for HeldOutcome {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            HeldOutcome::Held => 0u8.write(buf),
            HeldOutcome::Released { height } => {
                1u8.write(buf);
                height.write(buf);
            }
            HeldOutcome::Forfeited { height } => {
                2u8.write(buf);
                height.write(buf);
            }
        }
    }
}

impl EncodeSize for HeldOutcome {
    fn encode_size(&self) -> usize {
        match self {
            HeldOutcome::Held => 1,
            HeldOutcome::Released { height } | HeldOutcome::Forfeited { height } => {
                1 + height.encode_size()
            }
        }
    }
}

impl Read for HeldOutcome {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(HeldOutcome::Held),
            1 => Ok(HeldOutcome::Released {
                height: u64::read(buf)?,
            }),
            2 => Ok(HeldOutcome::Forfeited {
                height: u64::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

/// Everything held for one challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldRewards {
    /// Who is paid if the challenge is rejected.
    pub owner: Address,
    pub amount: Amount,
    pub outcome: HeldOutcome,
}
impl_struct_codec!(HeldRewards {
    owner,
    amount,
    outcome
});

/// What one device's epoch put in escrow, by program, and for which challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldNote {
    pub challenge: Digest,
    pub uptime: Amount,
    pub coverage: Amount,
}
impl_struct_codec!(HeldNote {
    challenge,
    uptime,
    coverage
});

pair_key!(
    /// An epoch, then a device.
    EpochDevice(u64, DeviceId)
);

impl RewardSink for Challenges {
    /// Pays the owner, or holds the reward if a challenge of the device is open.
    fn pay(
        &mut self,
        core: &mut Core,
        epoch: u64,
        device: &DeviceId,
        owner: &Address,
        program: Program,
        amount: Amount,
    ) -> Result<(), BlockError> {
        let open = self
            .device_challenge(device)
            .filter(|(_, c)| c.status == ChallengeStatus::Open);
        let Some((id, _)) = open else {
            return core.pay_reward(owner, amount);
        };
        if amount == Amount::ZERO {
            return Ok(());
        }
        core.pay_reward_into_escrow(amount)?;
        let overflow = || BlockError::Arithmetic {
            context: "held rewards",
        };
        let mut held = self.held.get(&id).cloned().unwrap_or(HeldRewards {
            owner: *owner,
            amount: Amount::ZERO,
            outcome: HeldOutcome::Held,
        });
        held.amount = held.amount.checked_add(amount).ok_or_else(overflow)?;
        self.held.put(id, held);
        let key = EpochDevice(epoch, device.clone());
        let mut note = self.held_notes.get(&key).cloned().unwrap_or(HeldNote {
            challenge: id,
            uptime: Amount::ZERO,
            coverage: Amount::ZERO,
        });
        let part = match program {
            Program::Uptime => &mut note.uptime,
            Program::Coverage => &mut note.coverage,
        };
        *part = part.checked_add(amount).ok_or_else(overflow)?;
        self.held_notes.put(key, note);
        Ok(())
    }
}

impl Challenges {
    /// Releases what was held for challenge `id` to the owner (rejected) or forfeits it to the
    /// treasury (upheld).
    pub(super) fn settle_held(
        &mut self,
        core: &mut Core,
        id: &Digest,
        upheld: bool,
        height: u64,
    ) -> Result<(), BlockError> {
        let Some(mut held) = self.held.get(id).cloned() else {
            return Ok(());
        };
        if upheld {
            core.forfeit_escrow(held.amount)?;
            held.outcome = HeldOutcome::Forfeited { height };
        } else {
            core.release_escrow(&held.owner, held.amount, "held rewards")?;
            held.outcome = HeldOutcome::Released { height };
        }
        self.held.put(*id, held);
        Ok(())
    }

    /// What was held for a challenge, and what became of it.
    pub(crate) fn held_for(&self, id: &Digest) -> Option<HeldRewards> {
        self.held.get(id).cloned()
    }

    /// What a device's epoch put in escrow, if anything.
    pub(crate) fn held_note(&self, epoch: u64, device: &DeviceId) -> Option<HeldNote> {
        self.held_notes
            .get(&EpochDevice(epoch, device.clone()))
            .cloned()
    }

    /// Tokens still held for open challenges.
    pub(super) fn still_held(&self) -> Result<Amount, InvariantViolation> {
        self.held
            .committed()
            .values()
            .filter(|h| h.outcome == HeldOutcome::Held)
            .try_fold(Amount::ZERO, |sum, h| sum.checked_add(h.amount))
            .ok_or(InvariantViolation::Overflow {
                what: "held rewards",
            })
    }
}
