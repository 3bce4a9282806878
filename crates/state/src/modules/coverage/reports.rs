//! Beacons and witness reports: the checks each must pass, and what is stored for it.

use super::*;
use crate::core::Core;
use crate::error::TxError;
use crate::genesis::Params;
use crate::modules::challenges::Challenges;
use crate::records::Device;
use groundwork_primitives::{BeaconTransaction, ResourceKind, WitnessTransaction};

impl Coverage {
    /// The active wireless device `id`, or why it may not take part in coverage.
    pub(crate) fn coverage_device(core: &Core, id: &DeviceId) -> Result<Device, TxError> {
        let device = core.active_device(id)?;
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
        core: &Core,
        challenges: &Challenges,
        params: &Params,
        tx: &BeaconTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let device = Self::coverage_device(core, &tx.device)?;
        challenges.check_location_undisputed(&tx.device)?;
        if !preverified && !tx.verify_signature(&params.chain_id) {
            return Err(TxError::BadSignature);
        }
        core.check_recent_block(&tx.entropy_block, height, params.heartbeat_max_age_blocks)?;
        let id = tx.beacon_id();
        if self.beacon(&id).is_some() {
            // The same device and entropy block: the same payload again.
            return Err(TxError::DuplicateBeacon);
        }
        let mut activity = self.activity(&tx.device);
        let interval = params.coverage.beacon_interval_blocks;
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
        self.put_activity(tx.device.clone(), activity);
        self.pending_beacons.put(HeightBeacon(height, id), 0);
        self.beacons.put(
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
        core: &Core,
        challenges: &Challenges,
        params: &Params,
        tx: &WitnessTransaction,
        height: u64,
        preverified: bool,
    ) -> Result<(), TxError> {
        let witness = Self::coverage_device(core, &tx.witness)?;
        challenges.check_location_undisputed(&tx.witness)?;
        if !preverified && !tx.verify_signature(&params.chain_id) {
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
        let window = params.coverage.witness_window_blocks;
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
        let link = check_link(&beacon, &witness, tx)?;
        if beacon.witnesses >= MAX_REWARDED_WITNESSES {
            return Err(TxError::WitnessLimitReached {
                max: MAX_REWARDED_WITNESSES,
            });
        }
        let index = beacon.witnesses;
        self.witnesses.put(
            BeaconWitness(tx.beacon, index),
            WitnessRecord {
                witness: tx.witness.clone(),
                height,
                location: witness.location,
                reading: tx.reading,
                distance_m: link.distance_m,
                grid_distance_res11: link.grid_distance_res11,
                max_rssi_cdbm: link.max_rssi_cdbm,
            },
        );
        beacon.witnesses = index + 1;
        let beaconer = beacon.beaconer.clone();
        self.beacons.put(tx.beacon, beacon);
        let mut mine = self.activity(&tx.witness);
        mine.last_witness_height = Some(height);
        self.put_activity(tx.witness.clone(), mine);
        let mut theirs = self.activity(&beaconer);
        theirs.last_witnessed_height = Some(height);
        self.put_activity(beaconer, theirs);
        Ok(())
    }
}

/// The radio link a witness report claims, as the checks measured it.
struct Link {
    distance_m: u32,
    grid_distance_res11: u32,
    max_rssi_cdbm: i32,
}

/// Checks a report against its beacon with radio physics: frequency, distance both ways, and
/// a signal no stronger than free space allows at that distance.
fn check_link(
    beacon: &BeaconRecord,
    witness: &Device,
    tx: &WitnessTransaction,
) -> Result<Link, TxError> {
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
    Ok(Link {
        distance_m: distance,
        grid_distance_res11: grid,
        max_rssi_cdbm: max_rssi,
    })
}
