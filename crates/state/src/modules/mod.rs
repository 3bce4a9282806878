//! Service modules: each owns a block of table prefixes, its tables, its transactions' checks
//! and effects, its block and epoch steps and its `explain` section (see [`crate::module`]).
//!
//! | module | prefixes | what it pays or holds |
//! |---|---|---|
//! | `core` (under every module) | `0x01..=0x0F` | balances, bonds, escrow and supply counters |
//! | [`uptime`] | `0x10..=0x1F` | each kind's pool, by heartbeat windows |
//! | [`coverage`] | `0x20..=0x2F` | the coverage pool, by beacons and witness reports |
//! | [`challenges`] | `0x30..=0x3F` | challenge bonds in escrow; slashes through the core |
//! | [`oracle`] | `0x40..=0x4F` | the token's USD price: median and smoothed average |
//! | [`credits`] | `0x50..=0x5F` | data credits bought at the oracle's price; the credit ledger's counters |
//! | [`attest`] | `0x70..=0x7F` | makers' CAs, attested devices and revoked serials; gates reports |
//! | [`usage`] | `0x60..=0x6F` | offers, sessions with escrowed credits, vouchers; the capped usage mint |
//! | [`storage`] | `0x80..=0x8F` | deals with escrowed credits, providers' collateral, possession proofs per period |
//! | [`compute`] | `0x90..=0x9F` | jobs with escrowed credits, providers' collateral, commit–reveal and verified outcomes per task |

pub mod attest;
pub mod challenges;
pub mod compute;
pub mod coverage;
pub mod credits;
pub mod oracle;
pub mod storage;
pub mod uptime;
pub mod usage;
