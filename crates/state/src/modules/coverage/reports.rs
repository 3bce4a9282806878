//! Beacons and witness reports: the checks each must pass, and what is stored for it.

use super::*;
use crate::core::Core;
use crate::error::CoverageError;
use crate::error::TxError;
use crate::genesis::Params;
use crate::modules::challenges::Challenges;
use crate::records::Device;
use groundwork_primitives::{CoverageReport, ResourceKind, beacon_id};

impl Coverage {
    /// A report from `device`, active and with its signature checked.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_report(
        &mut self,
        core: &Core,
        challenges: &Challenges,
        params: &Params,
        id: &DeviceId,
        device: &Device,
        report: &CoverageReport,
        height: u64,
    ) -> Result<(), TxError> {
        if device.kind != ResourceKind::Wireless {
            return Err(TxError::Coverage(CoverageError::NotWireless {
                device: id.clone(),
                kind: device.kind.name(),
            }));
        }
        challenges.check_location_undisputed(id)?;
        match report {
            CoverageReport::Beacon {
                entropy_block,
                radio,
            } => self.apply_beacon(core, params, id, device, entropy_block, radio, height),
            CoverageReport::Witness { beacon, reading } => {
                self.apply_witness(id, device, beacon, reading, params, height)
            }
        }
    }

    /// The active wireless device `id`, or why it may not take part in coverage.
    pub(crate) fn coverage_device(core: &Core, id: &DeviceId) -> Result<Device, TxError> {
        let device = core.active_device(id)?;
        if device.kind != ResourceKind::Wireless {
            return Err(TxError::Coverage(CoverageError::NotWireless {
                device: id.clone(),
                kind: device.kind.name(),
            }));
        }
        Ok(device)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_beacon(
        &mut self,
        core: &Core,
        params: &Params,
        beaconer: &DeviceId,
        device: &Device,
        entropy_block: &Digest,
        radio: &BeaconRadio,
        height: u64,
    ) -> Result<(), TxError> {
        core.check_recent_block(entropy_block, height, params.core.heartbeat_max_age_blocks)?;
        let id = beacon_id(beaconer, entropy_block);
        if self.beacon(&id).is_some() {
            // The same device and entropy block: the same payload again.
            return Err(TxError::Coverage(CoverageError::DuplicateBeacon));
        }
        let mut activity = self.activity(beaconer);
        let interval = params.coverage.beacon_interval_blocks;
        if let Some(last) = activity.last_beacon_height {
            let next = last.saturating_add(interval);
            if height < next {
                return Err(TxError::Coverage(CoverageError::BeaconTooSoon {
                    last_height: last,
                    next_height: next,
                }));
            }
        }
        activity.last_beacon_height = Some(height);
        self.put_activity(beaconer.clone(), activity);
        self.pending_beacons.put(HeightBeacon(height, id), 0);
        self.beacons.put(
            id,
            BeaconRecord {
                beaconer: beaconer.clone(),
                height,
                location: device.location,
                radio: *radio,
                witnesses: 0,
            },
        );
        Ok(())
    }

    fn apply_witness(
        &mut self,
        id: &DeviceId,
        witness: &Device,
        heard: &Digest,
        reading: &WitnessReading,
        params: &Params,
        height: u64,
    ) -> Result<(), TxError> {
        let mut beacon =
            self.beacon(heard)
                .ok_or(TxError::Coverage(CoverageError::UnknownBeacon {
                    beacon: *heard,
                }))?;
        if &beacon.beaconer == id {
            return Err(TxError::Coverage(CoverageError::SelfWitness));
        }
        let window = params.coverage.witness_window_blocks;
        let after = height.saturating_sub(beacon.height);
        if after > window {
            return Err(TxError::Coverage(CoverageError::LateWitness {
                blocks_after: after,
                max_blocks: window,
            }));
        }
        for index in 0..beacon.witnesses {
            if self
                .witness_record(heard, index)
                .is_some_and(|w| &w.witness == id)
            {
                return Err(TxError::Coverage(CoverageError::DuplicateWitness));
            }
        }
        let link = check_link(&beacon, witness, reading)?;
        if beacon.witnesses >= MAX_REWARDED_WITNESSES {
            return Err(TxError::Coverage(CoverageError::WitnessLimitReached {
                max: MAX_REWARDED_WITNESSES,
            }));
        }
        let index = beacon.witnesses;
        self.witnesses.put(
            BeaconWitness(*heard, index),
            WitnessRecord {
                witness: id.clone(),
                height,
                location: witness.location,
                reading: *reading,
                distance_m: link.distance_m,
                grid_distance_res11: link.grid_distance_res11,
                max_rssi_cdbm: link.max_rssi_cdbm,
            },
        );
        beacon.witnesses = index + 1;
        let beaconer = beacon.beaconer.clone();
        self.beacons.put(*heard, beacon);
        let mut mine = self.activity(id);
        mine.last_witness_height = Some(height);
        self.put_activity(id.clone(), mine);
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
    reading: &WitnessReading,
) -> Result<Link, TxError> {
    let delta = beacon.radio.frequency_hz.abs_diff(reading.frequency_hz);
    if delta > MAX_FREQUENCY_DELTA_HZ {
        return Err(TxError::Coverage(CoverageError::FrequencyMismatch {
            delta_hz: delta,
            max_hz: MAX_FREQUENCY_DELTA_HZ,
        }));
    }
    let distance = groundwork_coverage::distance_m(beacon.location, witness.location);
    if distance > MAX_WITNESS_DISTANCE_M {
        return Err(TxError::Coverage(CoverageError::WitnessTooFar {
            meters: distance,
            max: MAX_WITNESS_DISTANCE_M,
        }));
    }
    // A grid distance H3 cannot count (across a pentagon) makes the report invalid, as it
    // did in Helium's verifier.
    let grid = groundwork_coverage::grid_distance_res11(beacon.location, witness.location)
        .map_err(|e| TxError::Coverage(CoverageError::Geometry { cause: e.into() }))?;
    if grid < MIN_GRID_DISTANCE_RES11 {
        return Err(TxError::Coverage(CoverageError::WitnessTooClose {
            grid_distance: grid,
            min: MIN_GRID_DISTANCE_RES11,
        }));
    }
    let max_rssi = groundwork_coverage::expected_rssi_cdbm(
        i32::from(beacon.radio.tx_power_dbm),
        beacon.radio.frequency_hz,
        distance,
        i32::from(beacon.radio.antenna_gain_ddbi),
        i32::from(reading.antenna_gain_ddbi),
    )
    .map_err(|e| TxError::Coverage(CoverageError::Geometry { cause: e.into() }))?;
    if groundwork_coverage::rssi_exceeds_free_space(i32::from(reading.rssi_dbm), max_rssi) {
        return Err(TxError::Coverage(CoverageError::RssiTooStrong {
            rssi_dbm: reading.rssi_dbm,
            max_cdbm: max_rssi,
            meters: distance,
        }));
    }
    Ok(Link {
        distance_m: distance,
        grid_distance_res11: grid,
        max_rssi_cdbm: max_rssi,
    })
}
