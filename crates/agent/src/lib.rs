//! The device side of the protocol: what a device proves, and when.
//!
//! One prover per kind of proof, each a small state machine with no I/O, no clock and no
//! randomness: it is told what the device knows of the chain ([`ChainView`]) and answers with
//! the signed report that is due, if any.
//!
//! - [`uptime::UptimeProver`]: one heartbeat per heartbeat window, on a recent block;
//! - [`coverage::BeaconProver`]: a beacon every beacon interval, on the newest block;
//! - [`coverage::WitnessProver`]: a witness report of a beacon the radio heard;
//! - [`usage::cosign`]: the checks a device makes before it co-signs a customer's voucher.
//!
//! `groundwork agent` runs these provers on real hardware against a node over HTTP, with an
//! offline queue and a service port; `groundwork fleet` runs the same provers for each of its
//! simulated devices, so the simulation exercises the code that devices run.

pub mod coverage;
pub mod uptime;
pub mod usage;

use groundwork_primitives::ChainId;
use groundwork_primitives::hash::Digest;

/// What a device knows of the chain when it decides what to prove: the newest block it has
/// seen and the chain's timing parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainView {
    pub chain_id: ChainId,
    /// Height of the newest block the device has seen.
    pub height: u64,
    /// That block's digest: heartbeats and beacons name it, so they cannot be made ahead.
    pub block: Digest,
    /// Blocks per heartbeat window (the chain counts one heartbeat per window).
    pub heartbeat_window_blocks: u64,
    /// Blocks between a device's beacons (0: the chain takes no beacons).
    pub beacon_interval_blocks: u64,
}

/// A chain view for the provers' tests: block digests made from the height, windows of 10
/// blocks and beacons every 20.
#[cfg(test)]
pub(crate) fn test_view(height: u64) -> ChainView {
    ChainView {
        chain_id: "groundwork-test".parse().unwrap(),
        height,
        block: groundwork_primitives::hash::hash(&height.to_be_bytes()),
        heartbeat_window_blocks: 10,
        beacon_interval_blocks: 20,
    }
}
