//! Everything the radio rules need to know about one witness report, in one call.

use crate::geometry::{GeometryError, distance_m, grid_distance_res11};
use crate::rf::{RfError, expected_rssi_cdbm, fspl_cdb, rssi_exceeds_free_space};
use groundwork_primitives::cell::Cell;

/// One witness report's radio facts: the beacon's transmitter and the witness's receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WitnessCheckInput {
    pub beacon_cell: Cell,
    pub witness_cell: Cell,
    /// The beaconer's conducted transmit power, dBm.
    pub tx_power_dbm: i32,
    pub freq_hz: u64,
    /// The beaconer's antenna gain, tenths of a dBi.
    pub tx_gain_ddbi: i32,
    /// The witness's antenna gain, tenths of a dBi.
    pub rx_gain_ddbi: i32,
    /// The signal strength the witness reports, dBm.
    pub reported_rssi_dbm: i32,
}

/// The geometry and radio budget of one witness report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Metres between the two cell centres ([`distance_m`]).
    pub distance_m: u32,
    /// Hex steps between the resolution-11 parents ([`grid_distance_res11`]), or why it cannot
    /// be computed.
    pub grid_distance_res11: Result<u32, GeometryError>,
    /// Free-space path loss, centi-dB ([`fspl_cdb`]).
    pub fspl_cdb: i32,
    /// Strongest honest signal, centi-dBm ([`expected_rssi_cdbm`]).
    pub expected_rssi_cdbm: i32,
    /// Whether the reported signal is stronger than free space allows.
    pub rssi_exceeds_free_space: bool,
}

/// Computes a witness report's [`Geometry`].
///
/// Fails only where the path loss is undefined: beacon and witness in the same cell (zero
/// distance) or a zero frequency; or for an absurd transmit power. A grid distance that cannot
/// be computed is reported inside the result, not as a failure.
pub fn geometry(input: &WitnessCheckInput) -> Result<Geometry, RfError> {
    let distance = distance_m(input.beacon_cell, input.witness_cell);
    let fspl = fspl_cdb(distance, input.freq_hz)?;
    let expected = expected_rssi_cdbm(
        input.tx_power_dbm,
        input.freq_hz,
        distance,
        input.tx_gain_ddbi,
        input.rx_gain_ddbi,
    )?;
    Ok(Geometry {
        distance_m: distance,
        grid_distance_res11: grid_distance_res11(input.beacon_cell, input.witness_cell),
        fspl_cdb: fspl,
        expected_rssi_cdbm: expected,
        rssi_exceeds_free_space: rssi_exceeds_free_space(input.reported_rssi_dbm, expected),
    })
}
