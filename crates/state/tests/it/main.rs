//! Integration tests of the state machine, built as one binary.
#![allow(clippy::result_large_err)]

mod attest;
mod challenge;
mod common;
mod compute;
mod coverage;
mod demand;
mod errors;
mod genesis;
mod lifecycle;
mod properties;
mod rewards;
mod storage;
mod usage;
