//! Integration tests of the state machine, built as one binary.

mod common;
mod errors;
mod genesis;
mod lifecycle;
mod properties;
mod rewards;
