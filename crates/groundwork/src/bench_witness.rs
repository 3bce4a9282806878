//! `groundwork bench witness`: how many witness reports per second the state machine verifies
//! and records on one core — signature, beacon lookup, frequency, res-11 grid distance,
//! great-circle distance, free-space RSSI bound, storage — beside this machine's raw ed25519
//! verification rate measured in the same run.
//!
//! The chain is built in memory (no consensus, no disk): this measures the verifier, not the
//! node around it. Clusters of one beaconer and 14 witnesses on a 3 km ring sit a degree apart.

use crate::bench_cmd::ed25519_baseline;
use crate::genesis_cmd::local_params;
use crate::memchain::MemChain as Chain;
use anyhow::{Context, Result, bail};
use clap::Args;
use commonware_cryptography::Signer;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, BeaconRadio, Cell, CoreCall, CoverageReport, DeviceKey,
    DeviceTransaction, KeyScheme, ResourceKind, Transaction, WitnessReading, beacon_id,
};
use groundwork_state::coverage::MAX_REWARDED_WITNESSES;

use std::time::Instant;

#[derive(Args)]
pub struct WitnessArgs {
    /// Beacons to witness; each gets 14 witness reports (at most 1 170, one block's worth).
    #[arg(long, default_value_t = 600)]
    beacons: u32,
}

const RADIO: BeaconRadio = BeaconRadio {
    tx_power_dbm: 27,
    frequency_hz: 904_600_000,
    antenna_gain_ddbi: 12,
};

pub fn witness(args: WitnessArgs) -> Result<()> {
    let per_beacon = u32::from(MAX_REWARDED_WITNESSES);
    if args.beacons == 0 || args.beacons * per_beacon > 16_384 {
        bail!("--beacons must be 1..={}", 16_384 / per_beacon);
    }
    println!("measuring single-core ed25519 verification on this machine ...");
    let (single_rate, batch_rate) = ed25519_baseline();

    let params = local_params("groundwork-bench", Some(6_000))?;
    let owner = AccountKey::from_seed(1);
    let chain_id = params.core.chain_id.clone();
    let mut chain = Chain::new(params, vec![(key_address(&owner), Amount(1u128 << 90))]);

    // Place and register the clusters.
    let mut clusters: Vec<(DeviceKey, Vec<DeviceKey>)> = Vec::new();
    let mut registrations = Vec::new();
    let mut nonce = 0u64;
    let mut register = |key: &DeviceKey, at: Cell, out: &mut Vec<Transaction>| {
        let action = CoreCall::register_device(
            &chain_id,
            &key_address(&owner),
            key,
            ResourceKind::Wireless,
            at,
        );
        // Registered within the first blocks, so valid from block 1 on.
        out.push(Transaction::Account(AccountTransaction::sign(
            &owner,
            &chain_id,
            nonce,
            MAX_TRANSACTION_LIFETIME_BLOCKS,
            action,
        )));
        nonce += 1;
    };
    for c in 0..args.beacons {
        let lat = -50.0 + f64::from(c / 100);
        let lng = -170.0 + 3.0 * f64::from(c % 100);
        let beaconer = DeviceKey::from_seed(KeyScheme::Ed25519, u64::from(c) * 100);
        let at = Cell::from_lat_lng(lat, lng).context("placing a beaconer")?;
        register(&beaconer, at, &mut registrations);
        let mut witnesses = Vec::new();
        for w in 0..per_beacon {
            let angle = f64::from(w) * std::f64::consts::TAU / f64::from(per_beacon);
            let dlat = 0.027 * angle.cos();
            let dlng = 0.027 * angle.sin() / lat.to_radians().cos();
            let key =
                DeviceKey::from_seed(KeyScheme::Ed25519, u64::from(c) * 100 + 1 + u64::from(w));
            let at = Cell::from_lat_lng(lat + dlat, lng + dlng).context("placing a witness")?;
            register(&key, at, &mut registrations);
            witnesses.push(key);
        }
        clusters.push((beaconer, witnesses));
    }
    println!(
        "registering {} wireless devices in {} clusters ...",
        registrations.len(),
        clusters.len()
    );
    for block in registrations.chunks(4_096) {
        let outcome = chain.execute(block.to_vec())?;
        if let Some(r) = outcome.receipts.iter().find(|r| r.result.is_err()) {
            bail!("a registration failed: {:?}", r.result);
        }
    }

    // Every beaconer beacons in one block; every witness reports in the next.
    let entropy = chain
        .state
        .recent_block(chain.state.height())
        .context("no recent block")?;
    let beacons: Vec<DeviceTransaction> = clusters
        .iter()
        .map(|(b, _)| CoverageReport::sign_beacon(b, &chain_id, entropy, RADIO))
        .collect();
    let outcome = chain.execute(beacons.iter().cloned().map(Transaction::Device).collect())?;
    if let Some(r) = outcome.receipts.iter().find(|r| r.result.is_err()) {
        bail!("a beacon failed: {:?}", r.result);
    }
    let reading = WitnessReading {
        rssi_dbm: -110,
        snr_cdb: -500,
        frequency_hz: RADIO.frequency_hz,
        antenna_gain_ddbi: 0,
    };
    let signing = Instant::now();
    let reports: Vec<Transaction> = clusters
        .iter()
        .zip(&beacons)
        .flat_map(|((_, witnesses), beacon)| {
            witnesses.iter().map(|w| {
                Transaction::Device(CoverageReport::sign_witness(
                    w,
                    &chain_id,
                    beacon_id(&beacon.device, &entropy),
                    reading,
                ))
            })
        })
        .collect();
    let signing = signing.elapsed();
    let count = reports.len();
    println!("verifying {count} witness reports in one block ...");
    let started = Instant::now();
    let outcome = chain.execute(reports)?;
    let elapsed = started.elapsed();
    let failed = outcome
        .receipts
        .iter()
        .filter(|r| r.result.is_err())
        .count();
    if failed > 0 {
        let first = outcome.receipts.iter().find(|r| r.result.is_err());
        bail!(
            "{failed} witness reports failed, e.g. {:?}",
            first.map(|r| &r.result)
        );
    }
    let rate = count as f64 / elapsed.as_secs_f64();

    // Geometry alone, for the same pairs.
    let geometry = Instant::now();
    let mut checked = 0u64;
    for ((beaconer, witnesses), _) in clusters.iter().zip(&beacons) {
        let from = chain
            .state
            .device(&beaconer.id())
            .context("beaconer")?
            .location;
        for w in witnesses {
            let to = chain.state.device(&w.id()).context("witness")?.location;
            let grid = groundwork_coverage::grid_distance_res11(from, to).ok();
            let meters = groundwork_coverage::distance_m(from, to);
            let max =
                groundwork_coverage::expected_rssi_cdbm(27, RADIO.frequency_hz, meters, 12, 0).ok();
            checked += u64::from(grid.is_some() && max.is_some());
        }
    }
    let geometry_rate = checked as f64 / geometry.elapsed().as_secs_f64();

    println!();
    println!("witness verification (one core, state machine, in memory)");
    println!(
        "  reports verified and stored   {count} in {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    println!("  throughput                    {rate:.0} reports/s");
    println!("  geometry checks alone         {geometry_rate:.0} pairs/s");
    println!(
        "  baseline ed25519 verify       {single_rate:.0}/s one by one, {batch_rate:.0}/s in batches of 1024"
    );
    println!(
        "  share of the batched ed25519 rate  {:.0}%",
        100.0 * rate / batch_rate
    );
    println!(
        "  (signing the reports took {:.1} ms and is not counted)",
        signing.as_secs_f64() * 1e3
    );
    Ok(())
}
