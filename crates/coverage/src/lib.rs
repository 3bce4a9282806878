//! Coverage math: the radio physics and reward arithmetic of wireless proof-of-coverage.
//!
//! A beacon is a radio packet one device sends; witnesses are the devices that hear it. This
//! crate answers the questions the state machine asks about them:
//! - how far apart two devices are ([`distance_m`], [`grid_distance_res11`]);
//! - how strong a witness's signal can honestly be ([`fspl_cdb`], [`expected_rssi_cdbm`],
//!   [`rssi_exceeds_free_space`], or all at once with [`geometry`]);
//! - what a beacon and each of its witnesses earn ([`beacon_unit`], [`witness_unit`], HIP-15);
//! - whether signals fit the asserted places ([`peer_deviations`], [`out_of_line`],
//!   [`typical_rssi_cdbm`]): the collusion and location rules settlement and challenges use;
//! - how much crowding shrinks a location's reward ([`hex_scales`], [`HexDensity`], HIP-17 as
//!   tuned by HIP-104).
//!
//! The rules follow the last public proof-of-coverage rules of Helium's IoT network, so their
//! numbers can be compared. `docs/coverage-math.md` states every formula, constant and
//! rounding rule with a worked example.
//!
//! # Determinism
//!
//! Every validator must compute the same numbers, bit for bit. So:
//! - results are integers in fixed point: centi-dB, centi-dBm, whole metres, and units and
//!   scales in 1/10 000 ([`UNIT_SCALE`]);
//! - reward units and density scales use integer arithmetic only: exact fractions rounded
//!   once, ties to even;
//! - the radio formulas need a logarithm and the distances need trigonometry. They run in
//!   `f64`, whose basic operations IEEE-754 fixes exactly, with the pure-Rust `libm` for
//!   everything else, also inside H3 (the workspace builds `h3o` without `std`, which makes it
//!   use `libm`). The platform's math library, which `f64::sin`, `f64::log10` and friends call,
//!   differs between systems and is never used here (the crate's `clippy.toml` forbids those
//!   methods);
//! - maps are ordered (`BTreeMap`); nothing iterates a hash map.
//!
//! # Precision
//!
//! | result | unit | rounding |
//! |---|---|---|
//! | [`distance_m`] | metre | nearest, ties away from zero |
//! | [`grid_distance_res11`] | hex steps | exact |
//! | [`fspl_cdb`] | 0.01 dB | up (towards more loss) |
//! | [`expected_rssi_cdbm`] | 0.01 dBm | gains floored to whole dB, then exact |
//! | [`beacon_unit`], [`witness_unit`] | 1/10 000 | nearest, ties to even |
//! | [`hex_scales`] | 1/10 000 | nearest, ties to even |
//!
//! Nothing here does I/O, reads a clock or panics on any input; memory grows linearly with
//! the input.

mod consistency;
mod density;
mod geometry;
mod rf;
mod rounding;
mod units;
mod witness;

pub use consistency::{
    LOCATION_MARGIN_CDB, MIN_COMPARABLE_REPORTS, MIN_PEERS, PEER_MARGIN_CDB, REFERENCE_DISTANCE_M,
    TYPICAL_SLOPE_CDB_PER_DECADE, deviates, excess_over_typical_cdb, median,
    normalised_signal_cdbm, out_of_line, peer_deviations, too_loud_for_distance, typical_rssi_cdbm,
};
pub use density::{
    DENSITY_RULES, DensityFactor, DensityRule, HexCount, HexDensity, hex_scale_of, hex_scales,
};
pub use geometry::{
    EARTH_RADIUS_M, GRID_DISTANCE_RESOLUTION, GeometryError, centre_distance_m, distance_m,
    grid_distance_res11,
};
pub use rf::{
    PLAUSIBLE_ALLOWANCE_CDB, PLAUSIBLE_EXCESS_CDB_PER_DECADE, PLAUSIBLE_REFERENCE_M, RfError,
    SPEED_OF_LIGHT_M_PER_S, expected_rssi_cdbm, fspl_cdb, gain_db, plausible_rssi_cdbm,
    rssi_exceeds_free_space,
};
pub use units::{
    BEACON_UNIT_CAP, EXACT_DECAY_STEPS, UNIT_SCALE, WITNESS_REDUNDANCY, beacon_unit, witness_unit,
};
pub use witness::{Geometry, WitnessCheckInput, geometry};
