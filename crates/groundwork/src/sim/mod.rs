//! The simulated world `groundwork dev` and `groundwork fleet` drive: where devices really
//! are and what their radios hear (`radio`), the fleet of devices, owners, cheaters and a
//! watcher (`fleet`), its customers (`fleet_customers`), its storage and compute providers
//! (`fleet_storage`, `fleet_compute`), what the cheaters take
//! (`fleet_figures`), the in-process coverage simulation (`coverage_sim`) and the dev chain's
//! price oracles (`oracle_feed`).
//!
//! Floats and seeded random numbers live here and in the benchmarks, never in what the chain
//! or a device computes: the simulated devices prove with `groundwork-agent`'s provers, as real
//! ones do.

pub mod coverage_sim;
pub mod fleet;
pub mod fleet_compute;
pub mod fleet_customers;
pub mod fleet_figures;
pub mod fleet_storage;
pub mod oracle_feed;
pub mod radio;
