//! Tests of the `groundwork` binary as a user runs it: real processes, real files, real
//! sockets. One test binary, so the dependency tree is linked once.

mod attest;
mod calc;
mod cli;
mod common;
mod compute;
mod e2e;
mod keys;
mod node;
mod rpc;
mod storage;
mod testnet;
