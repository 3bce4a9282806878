//! Why the coverage module rejected a transaction. Codes are stable: never renumbered or reused.

use groundwork_primitives::DeviceId;
use groundwork_primitives::hash::Digest;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoverageError {
    /// Beacons and witness reports come from wireless devices only.
    #[error("device {device} is a {kind} device; only wireless devices beacon and witness")]
    NotWireless {
        device: DeviceId,
        kind: &'static str,
    },
    /// The device beaconed less than a beacon interval ago.
    #[error(
        "beacon too soon: last beacon at block {last_height}, next allowed at block {next_height}"
    )]
    BeaconTooSoon { last_height: u64, next_height: u64 },
    /// This device already beaconed on this entropy block.
    #[error("duplicate beacon: this device already beaconed on this block")]
    DuplicateBeacon,
    /// The witness report names a beacon the chain does not have.
    #[error("unknown beacon {beacon}")]
    UnknownBeacon { beacon: Digest },
    /// A device reported its own beacon.
    #[error("self-witness: a device cannot witness its own beacon")]
    SelfWitness,
    /// The witness report landed too long after the beacon.
    #[error("late witness: {blocks_after} blocks after the beacon, at most {max_blocks} allowed")]
    LateWitness { blocks_after: u64, max_blocks: u64 },
    /// This device already reported this beacon.
    #[error("duplicate witness: this device already reported this beacon")]
    DuplicateWitness,
    /// The witness heard the beacon on another frequency.
    #[error(
        "frequency mismatch: witness is {delta_hz} Hz off the beacon, at most {max_hz} allowed"
    )]
    FrequencyMismatch { delta_hz: u64, max_hz: u64 },
    /// The two asserted locations are too close for the report to show coverage.
    #[error(
        "witness too close: res-11 grid distance {grid_distance} between the asserted locations, at least {min} required"
    )]
    WitnessTooClose { grid_distance: u32, min: u32 },
    /// The two asserted locations are too far apart for a real reception.
    #[error("witness too far: {meters} m between the asserted locations, at most {max} m")]
    WitnessTooFar { meters: u32, max: u32 },
    /// The reported signal is stronger than free space allows between the asserted locations.
    #[error(
        "RSSI too strong: {rssi_dbm} dBm reported, free space allows at most {} dBm over {meters} m",
        hundredths(*.max_cdbm)
    )]
    RssiTooStrong {
        rssi_dbm: i16,
        max_cdbm: i32,
        meters: u32,
    },
    /// The beacon already has its full count of valid witnesses.
    #[error("witness limit reached: the beacon already has {max} valid witnesses")]
    WitnessLimitReached { max: u8 },
    /// The locations' geometry could not be computed (e.g. across an H3 pentagon).
    #[error("cannot compare the asserted locations: {cause}")]
    Geometry { cause: GeometryCause },
}

impl CoverageError {
    /// The stable numeric code, as stored with receipts and returned over RPC.
    pub fn code(&self) -> u16 {
        match self {
            CoverageError::NotWireless { .. } => 15,
            CoverageError::BeaconTooSoon { .. } => 16,
            CoverageError::DuplicateBeacon => 17,
            CoverageError::UnknownBeacon { .. } => 18,
            CoverageError::SelfWitness => 19,
            CoverageError::LateWitness { .. } => 20,
            CoverageError::DuplicateWitness => 21,
            CoverageError::FrequencyMismatch { .. } => 22,
            CoverageError::WitnessTooClose { .. } => 23,
            CoverageError::WitnessTooFar { .. } => 24,
            CoverageError::RssiTooStrong { .. } => 25,
            CoverageError::WitnessLimitReached { .. } => 26,
            CoverageError::Geometry { .. } => 27,
        }
    }
}

/// Why the asserted locations could not be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeometryCause {
    #[error(transparent)]
    Grid(#[from] groundwork_coverage::GeometryError),
    #[error(transparent)]
    Radio(#[from] groundwork_coverage::RfError),
}

/// `-6635` as `-66.35`: a value kept in hundredths, shown in its unit, with integers only.
fn hundredths(value: i32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}
