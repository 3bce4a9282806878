//! Opening a challenge with evidence, and the owner's answer.

use super::*;
use crate::core::Core;
use crate::error::{ChallengeError, CoreError, CoverageError};
use crate::genesis::ChallengeParams;
use crate::modules::coverage::Coverage;
use std::collections::BTreeSet;

impl Challenges {
    /// The loudest link, for its distance, between `device` at its current asserted `location`
    /// and the other side of beacon `id`. Only links whose other end is held by neither the
    /// device's owner nor the challenger count: a challenger cannot make its own evidence, and
    /// a link from before the device last moved says nothing about where it is now.
    fn evidence_link(
        core: &Core,
        coverage: &Coverage,
        id: &Digest,
        device: &DeviceId,
        location: Cell,
        excluded_owners: [&Address; 2],
    ) -> Option<Evidence> {
        let record = coverage.beacon(id)?;
        let as_beaconer = &record.beaconer == device;
        if as_beaconer && record.location != location {
            return None;
        }
        let independent = |other: &DeviceId| {
            core.device(other)
                .is_some_and(|d| !excluded_owners.contains(&&d.owner))
        };
        if !as_beaconer && !independent(&record.beaconer) {
            return None;
        }
        let mut best: Option<Evidence> = None;
        for index in 0..record.witnesses {
            let Some(report) = coverage.witness_record(id, index) else {
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_challenge(
        &mut self,
        core: &mut Core,
        coverage: &Coverage,
        params: &ChallengeParams,
        witness_window_blocks: u64,
        challenger: &Address,
        nonce: u64,
        device_id: &DeviceId,
        cited: &[Digest],
        height: u64,
    ) -> Result<(), TxError> {
        if params.bond == Amount::ZERO {
            return Err(TxError::Challenges(ChallengeError::ChallengesDisabled));
        }
        let device = Coverage::coverage_device(core, device_id)?;
        if &device.owner == challenger {
            return Err(TxError::Challenges(ChallengeError::SelfChallenge));
        }
        if let Some((id, c)) = self.device_challenge(device_id) {
            return Err(if c.status == ChallengeStatus::Open {
                TxError::Challenges(ChallengeError::ChallengePending { challenge: id })
            } else {
                TxError::Challenges(ChallengeError::LocationDisputed { challenge: id })
            });
        }
        let links = Self::check_evidence(core, coverage, challenger, device_id, &device, cited)?;
        core.escrow(challenger, params.bond)?;

        let overflow = TxError::Core(CoreError::AmountOverflow {
            what: "challenge height",
        });
        let answer_by = height
            .checked_add(params.answer_window_blocks)
            .ok_or(overflow.clone())?;
        let resolves_at = answer_by
            .checked_add(witness_window_blocks)
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
        self.history
            .put(DeviceChallenge(device_id.clone(), id), height);
        self.open.put(HeightChallenge(resolves_at, id), 0);
        Ok(())
    }

    /// Checks the cited beacons: each once, each with an independent link of the device at
    /// its current location, the loudest of them too loud for its distance. Returns the links.
    fn check_evidence(
        core: &Core,
        coverage: &Coverage,
        challenger: &Address,
        device_id: &DeviceId,
        device: &crate::records::Device,
        cited: &[Digest],
    ) -> Result<Vec<Evidence>, TxError> {
        let mut seen = BTreeSet::new();
        let mut links = Vec::with_capacity(cited.len());
        for beacon in cited {
            if !seen.insert(*beacon) {
                return Err(TxError::Challenges(ChallengeError::DuplicateEvidence {
                    beacon: *beacon,
                }));
            }
            let link = Self::evidence_link(
                core,
                coverage,
                beacon,
                device_id,
                device.location,
                [&device.owner, challenger],
            )
            .ok_or(TxError::Challenges(ChallengeError::EvidenceNotFound {
                beacon: *beacon,
            }))?;
            links.push(link);
        }
        let loudest = links.iter().map(|l| l.excess_cdb).max().unwrap_or(i64::MIN);
        if !groundwork_coverage::too_loud_for_distance(loudest) {
            return Err(TxError::Challenges(ChallengeError::WeakEvidence {
                loudest_excess_cdb: loudest,
                min_cdb: groundwork_coverage::LOCATION_MARGIN_CDB,
            }));
        }
        Ok(links)
    }

    /// Records an owner's answer (the caller has charged the fee and checked the signature).
    pub(crate) fn answer_challenge(
        &mut self,
        coverage: &Coverage,
        sender: &Address,
        id: &Digest,
        beacon: &Digest,
        height: u64,
    ) -> Result<(), TxError> {
        let mut challenge =
            self.challenge(id)
                .ok_or(TxError::Challenges(ChallengeError::UnknownChallenge {
                    challenge: *id,
                }))?;
        if &challenge.owner != sender {
            return Err(TxError::Core(CoreError::NotDeviceOwner {
                device: challenge.device.clone(),
            }));
        }
        if challenge.status != ChallengeStatus::Open || height > challenge.answer_by {
            return Err(TxError::Challenges(ChallengeError::ChallengeClosed {
                answer_by: challenge.answer_by,
            }));
        }
        if challenge.answer.is_some() {
            return Err(TxError::Challenges(ChallengeError::AlreadyAnswered));
        }
        let record =
            coverage
                .beacon(beacon)
                .ok_or(TxError::Coverage(CoverageError::UnknownBeacon {
                    beacon: *beacon,
                }))?;
        if record.beaconer != challenge.device {
            return Err(TxError::Challenges(ChallengeError::BadAnswer {
                reason: "the beacon was not sent by the challenged device",
            }));
        }
        if record.height <= challenge.opened_at {
            return Err(TxError::Challenges(ChallengeError::BadAnswer {
                reason: "the beacon is not newer than the challenge",
            }));
        }
        challenge.answer = Some(*beacon);
        self.challenges.put(*id, challenge);
        Ok(())
    }
}
