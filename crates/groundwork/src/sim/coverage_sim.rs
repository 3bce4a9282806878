//! An adversarial coverage simulation: honest wireless devices and cheaters on an in-memory
//! chain, with radio reception computed from each device's TRUE position, while the chain only
//! knows asserted positions.
//!
//! Reception follows the propagation model of [`crate::sim::radio`].
//!
//! Cheaters:
//! - **spoofers** sit in a city but assert a place 40–70 km away;
//! - a **co-located cluster** of ten devices sits on one spot, asserting one cell;
//! - **rings** of five, physically nowhere near anyone, fabricate reports for one another with
//!   an RSSI safely under the free-space bound;
//! - **inflaters** sit where they say but add 25 dB to every RSSI they report.
//!
//! Figures are in tokens at the prices (pool ÷ units, per beacon and witness pool) of the same
//! scenario run without cheaters, so they measure verification, not pool dilution.

use crate::genesis_cmd::local_params;
use crate::memchain::MemChain;
use crate::sim::radio::{
    End, FREQUENCY_HZ, Role, SIM_RADIO, SIM_WITNESS, offset, place_cheaters, reported_rssi, unit,
};
use anyhow::{Context, Result, bail};
use commonware_cryptography::Signer;
use groundwork_agent::coverage::Heard;
use groundwork_primitives::keyfile::key_address;
use groundwork_primitives::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
use groundwork_primitives::{
    AccountKey, AccountTransaction, Amount, Cell, CoreCall, CoverageReport, DeviceKey,
    DeviceTransaction, KeyScheme, ResourceKind, Transaction, beacon_id,
};
use groundwork_state::CoverageParams;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Reports submitted per beacon at most (a random subset of those who heard it).
const REPORTS_PER_BEACON: usize = 20;
const BEACON_INTERVAL: u64 = 10;
const EPOCH_BLOCKS: u64 = 40;

struct Radio {
    key: DeviceKey,
    owner: usize,
    truth: (f64, f64),
    asserted: Cell,
    role: Role,
}

/// What the simulation measured.
#[derive(Clone, Debug)]
pub struct Figures {
    /// Per cheater role: (name, tokens credited, tokens attempted).
    pub by_role: Vec<(&'static str, f64, f64)>,
    pub honest_tokens: f64,
    pub honest_baseline_tokens: f64,
    pub cheater_tokens: f64,
    pub cheater_attempted_tokens: f64,
    /// Honest device-epochs judged out of line with their peers (false positives), and all
    /// honest device-epochs with a coverage record, in the run without cheaters.
    pub honest_out_of_line_baseline: (u64, u64),
    /// The same in the run with cheaters.
    pub honest_out_of_line: (u64, u64),
}

impl Figures {
    /// Share of what the cheaters tried to take that they did not get.
    pub fn withheld(&self) -> f64 {
        if self.cheater_attempted_tokens <= 0.0 {
            return 1.0;
        }
        1.0 - self.cheater_tokens / self.cheater_attempted_tokens
    }

    /// Share of the honest devices' reward (without cheaters) that they lost to the cheaters.
    pub fn honest_loss(&self) -> f64 {
        if self.honest_baseline_tokens <= 0.0 {
            return 0.0;
        }
        (1.0 - self.honest_tokens / self.honest_baseline_tokens).max(0.0)
    }
}

const CITIES: [(f64, f64); 4] = [
    (52.5200, 13.4050),
    (38.7223, -9.1393),
    (30.2672, -97.7431),
    (37.5665, 126.9780),
];

fn place(honest: usize, cheaters: usize, rng: &mut ChaCha8Rng) -> Result<Vec<Radio>> {
    let mut radios = Vec::new();
    let push = |radios: &mut Vec<Radio>,
                truth: (f64, f64),
                asserted: (f64, f64),
                role,
                owner|
     -> Result<()> {
        let i = radios.len() as u64;
        radios.push(Radio {
            key: DeviceKey::from_seed(KeyScheme::Ed25519, 7_000_000 + i),
            owner,
            truth,
            asserted: Cell::from_lat_lng(asserted.0, asserted.1).context("placing a device")?,
            role,
        });
        Ok(())
    };
    for i in 0..honest {
        let city = CITIES[i % CITIES.len()];
        let at = offset(
            city,
            -2_500.0 * (1.0 - unit(rng)).ln(),
            unit(rng) * std::f64::consts::TAU,
        );
        push(&mut radios, at, at, Role::Honest, i % 50)?;
    }
    // Cheaters, each group under its own owner(s) (owner ids from 100).
    for cheater in place_cheaters(cheaters, &CITIES, rng) {
        let owner = match cheater.role {
            Role::Spoofer => 100,
            Role::Clustered => 101,
            Role::Ring(r) => 102 + usize::from(r),
            _ => 120,
        };
        push(
            &mut radios,
            cheater.truth,
            cheater.asserted,
            cheater.role,
            owner,
        )?;
    }
    Ok(radios)
}

/// Per device: (beacon units, witness units) credited over the run, and the summed pools and
/// unit totals.
struct Run {
    credited: Vec<(u64, u64)>,
    beacon_pool: u128,
    witness_pool: u128,
    beacon_total: u64,
    witness_total: u64,
    /// What each device submitted, valued as if every report counted at scale 1:
    /// (beacon units, witness units).
    attempted: Vec<(u64, u64)>,
    /// Per device: (epochs judged out of line, epochs with a coverage record).
    out_of_line: Vec<(u64, u64)>,
}

fn run(radios: &[Radio], epochs: u64, seed: u64) -> Result<Run> {
    let mut params = local_params("groundwork-sim", Some(EPOCH_BLOCKS))?;
    params.coverage = CoverageParams {
        share_bps: 3_000,
        witness_share_bps: 8_000,
        beacon_interval_blocks: BEACON_INTERVAL,
        witness_window_blocks: 3,
        reciprocity_window_blocks: 200,
    };
    let owners: Vec<AccountKey> = (0..130).map(|i| AccountKey::from_seed(9_000 + i)).collect();
    let balances = owners
        .iter()
        .map(|o| (key_address(o), Amount(1u128 << 80)))
        .collect();
    let chain_id = params.core.chain_id.clone();
    let mut chain = MemChain::new(params, balances);
    let mut nonces = vec![0u64; owners.len()];
    let registrations: Vec<Transaction> = radios
        .iter()
        .map(|r| {
            let owner = &owners[r.owner];
            let action = CoreCall::register_device(
                &chain_id,
                &key_address(owner),
                &r.key,
                ResourceKind::Wireless,
                r.asserted,
            );
            let valid_until = chain.state.height() + MAX_TRANSACTION_LIFETIME_BLOCKS;
            let tx =
                AccountTransaction::sign(owner, &chain_id, nonces[r.owner], valid_until, action);
            nonces[r.owner] += 1;
            Transaction::Account(tx)
        })
        .collect();
    let outcome = chain.execute(registrations)?;
    if outcome.receipts.iter().any(|r| r.result.is_err()) {
        bail!("a simulated registration failed");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut attempted = vec![(0u64, 0u64); radios.len()];
    let rounds = epochs * EPOCH_BLOCKS / BEACON_INTERVAL;
    for _ in 0..rounds {
        let entropy = chain
            .state
            .recent_block(chain.state.height())
            .context("no recent block")?;
        let beacons: Vec<DeviceTransaction> = radios
            .iter()
            .map(|r| CoverageReport::sign_beacon(&r.key, &chain_id, entropy, SIM_RADIO))
            .collect();
        chain.propose(beacons.iter().cloned().map(Transaction::Device).collect())?;
        let mut reports = Vec::new();
        for (b, beacon) in beacons.iter().enumerate() {
            let beaconer = &radios[b];
            let mut heard: Vec<(usize, f64)> = Vec::new();
            for (w, witness) in radios.iter().enumerate() {
                if w == b {
                    continue;
                }
                let end = |r: &Radio| End {
                    role: r.role,
                    truth: r.truth,
                    asserted: r.asserted,
                };
                if let Some(rssi) = reported_rssi(end(beaconer), end(witness), &mut rng) {
                    heard.push((w, rssi));
                }
            }
            // A random subset reports, in random order.
            for i in (1..heard.len()).rev() {
                heard.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
            }
            heard.truncate(REPORTS_PER_BEACON);
            let claimed = heard.len().min(14) as u32;
            attempted[b].0 += u64::from(groundwork_coverage::beacon_unit(claimed)) * 10_000;
            for (w, rssi) in heard {
                attempted[w].1 += u64::from(groundwork_coverage::witness_unit(claimed)) * 10_000;
                let heard = Heard {
                    beacon: beacon_id(&beacon.device, &entropy),
                    rssi_dbm: rssi.round().clamp(-200.0, 50.0) as i16,
                    snr_cdb: -500,
                    frequency_hz: FREQUENCY_HZ,
                };
                reports.push(Transaction::Device(SIM_WITNESS.prove(
                    &radios[w].key,
                    &chain_id,
                    heard,
                )));
            }
        }
        // Reports the chain refuses (a cheater's impossible signal) are left out, as a
        // proposer leaves them out.
        chain.propose(reports)?;
        for _ in 2..BEACON_INTERVAL {
            chain.execute(Vec::new())?;
        }
    }
    // Let the last beacons settle.
    while chain.state.epochs_ended() < epochs + 1 {
        chain.execute(Vec::new())?;
    }
    let mut credited = vec![(0u64, 0u64); radios.len()];
    let mut out_of_line = vec![(0u64, 0u64); radios.len()];
    let (mut beacon_pool, mut witness_pool, mut beacon_total, mut witness_total) = (0, 0, 0, 0);
    for epoch in 0..=epochs {
        if let Some(summary) = chain.state.coverage_summary(epoch) {
            beacon_pool += summary.beacon_pool.0;
            witness_pool += summary.witness_pool.0;
            beacon_total += summary.total_beacon_units;
            witness_total += summary.total_witness_units;
        }
        for (i, r) in radios.iter().enumerate() {
            if let Some(reward) = chain.state.coverage_reward(epoch, &r.key.id()) {
                credited[i].0 += reward.beacon_units;
                credited[i].1 += reward.witness_units;
                out_of_line[i].0 += u64::from(reward.peers.out_of_line());
                out_of_line[i].1 += 1;
            }
        }
    }
    Ok(Run {
        credited,
        beacon_pool,
        witness_pool,
        beacon_total,
        witness_total,
        attempted,
        out_of_line,
    })
}

/// Runs the scenario with and without its cheaters and compares.
pub fn simulate(honest: usize, cheaters: usize, epochs: u64, seed: u64) -> Result<Figures> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let radios = place(honest, cheaters, &mut rng)?;
    let honest_only: Vec<Radio> = place(honest, 0, &mut ChaCha8Rng::seed_from_u64(seed))?;
    let baseline = run(&honest_only, epochs, seed)?;
    let attacked = run(&radios, epochs, seed)?;
    // Token prices per unit, from the honest-only run.
    let price_b = baseline.beacon_pool as f64 / baseline.beacon_total.max(1) as f64;
    let price_w = baseline.witness_pool as f64 / baseline.witness_total.max(1) as f64;
    let value = |units: (u64, u64)| units.0 as f64 * price_b + units.1 as f64 * price_w;
    let honest_baseline_tokens: f64 = baseline.credited.iter().map(|u| value(*u)).sum();
    let mut figures = Figures {
        by_role: Vec::new(),
        honest_tokens: 0.0,
        honest_baseline_tokens,
        cheater_tokens: 0.0,
        cheater_attempted_tokens: 0.0,
        honest_out_of_line_baseline: baseline
            .out_of_line
            .iter()
            .fold((0, 0), |acc, (f, n)| (acc.0 + f, acc.1 + n)),
        honest_out_of_line: (0, 0),
    };
    for (i, radio) in radios.iter().enumerate() {
        if radio.role == Role::Honest {
            figures.honest_tokens += value(attacked.credited[i]);
            figures.honest_out_of_line.0 += attacked.out_of_line[i].0;
            figures.honest_out_of_line.1 += attacked.out_of_line[i].1;
        } else {
            let (got, tried) = (value(attacked.credited[i]), value(attacked.attempted[i]));
            figures.cheater_tokens += got;
            figures.cheater_attempted_tokens += tried;
            let name = radio.role.name();
            match figures.by_role.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += got;
                    entry.2 += tried;
                }
                None => figures.by_role.push((name, got, tried)),
            }
        }
    }
    let _ = (
        attacked.beacon_pool,
        attacked.witness_pool,
        attacked.beacon_total,
        attacked.witness_total,
    );
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 honest devices and 50 cheaters over three epochs: at least 95 % of what the
    /// cheaters try to take is withheld and honest devices lose at most 2 % (this seed
    /// measures 98.3 % and 0 %). Per-role floors catch a rule that stops working even when
    /// the total still passes, and honest devices are almost never judged out of line.
    #[test]
    fn two_hundred_honest_and_fifty_cheaters() {
        let figures = simulate(200, 50, 3, 1).unwrap();
        println!(
            "cheaters: {:.1}% of the reward they tried to take withheld; honest devices lost {:.2}%",
            100.0 * figures.withheld(),
            100.0 * figures.honest_loss()
        );
        let role = |name: &str| {
            let (_, got, tried) = figures.by_role.iter().find(|(n, _, _)| *n == name).unwrap();
            1.0 - got / tried
        };
        for (name, got, tried) in &figures.by_role {
            println!(
                "  {name}: {:.1}% withheld",
                100.0 * (1.0 - got / tried.max(1.0))
            );
        }
        assert!(figures.honest_baseline_tokens > 0.0);
        assert!(
            figures.honest_loss() <= 0.02,
            "honest loss {}",
            figures.honest_loss()
        );
        assert!(
            figures.withheld() >= 0.95,
            "withheld {}",
            figures.withheld()
        );
        assert!(role("witness rings") >= 0.99);
        assert!(role("co-located cluster") >= 0.90);
        assert!(role("location spoofers") >= 0.95);
        assert!(role("RSSI inflaters") >= 0.90);
        for (flagged, judged) in [
            figures.honest_out_of_line_baseline,
            figures.honest_out_of_line,
        ] {
            println!("honest device-epochs out of line: {flagged} of {judged}");
            assert!(judged > 0);
            assert!(
                flagged * 100 <= judged,
                "{flagged} of {judged} honest device-epochs flagged"
            );
        }
    }
}
