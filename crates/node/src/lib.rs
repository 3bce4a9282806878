//! Groundwork node: runs the state machine as a replicated chain.
//!
//! Consensus is commonware simplex; marshal orders finalized blocks, backfills missing ones from
//! peers and archives blocks and certificates; the executor runs each finalized block through
//! [`groundwork_state::State`] and commits its write-set to an authenticated QMDB store whose
//! root the next block's header carries.
//!
//! Everything here is generic over the commonware runtime, so the same code runs on tokio in
//! production and on the deterministic runtime with a simulated network in tests.
//!
//! Stability: ALPHA.

pub mod application;
pub mod block;
pub mod chain;
pub mod engine;
pub mod executor;
pub mod gossip;
pub mod mempool;
pub mod proof;
pub mod rpc;
pub mod rpc_limit;
pub mod rpc_shape;
pub mod rpc_stats;
pub mod service;
pub mod storage;
pub mod telemetry;
