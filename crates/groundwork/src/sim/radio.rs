//! The radio world of simulated devices: where they really are and what they hear. Floats
//! are fine here — this is the world being simulated, not the chain.
//!
//! Propagation: free-space loss, plus 12 dB per decade of distance beyond 100 m (a path-loss
//! exponent of 3.2, typical of towns), plus log-normal shadowing (σ = 6 dB). A receiver hears
//! down to −125 dBm.

use groundwork_agent::coverage::WitnessProver;
use groundwork_primitives::BeaconRadio;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// The frequency simulated devices use, in Hz.
pub const FREQUENCY_HZ: u64 = 904_600_000;

/// What simulated wireless devices send, as the beaconer states it.
pub const SIM_RADIO: BeaconRadio = BeaconRadio {
    tx_power_dbm: 27,
    frequency_hz: FREQUENCY_HZ,
    antenna_gain_ddbi: 12,
};
/// How simulated wireless devices report what they hear: no antenna gain of their own.
pub const SIM_WITNESS: WitnessProver = WitnessProver {
    antenna_gain_ddbi: 0,
};

/// 53 random bits in [0, 1).
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v) = (unit(rng).max(1e-12), unit(rng));
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

pub fn offset(from: (f64, f64), meters: f64, bearing: f64) -> (f64, f64) {
    (
        from.0 + meters * bearing.cos() / 111_320.0,
        from.1 + meters * bearing.sin() / (111_320.0 * from.0.to_radians().cos()),
    )
}

pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la, lb) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lb - la;
    let dlng = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * 6_371_007.2 * h.sqrt().asin()
}

/// The RSSI a receiver `d` metres away measures, or `None` if it hears nothing.
pub fn received(d: f64, rng: &mut ChaCha8Rng) -> Option<f64> {
    let d = d.max(1.0);
    let fspl = 20.0 * (4.0 * std::f64::consts::PI * d * FREQUENCY_HZ as f64 / 2.998e8).log10();
    let excess = if d > 100.0 {
        12.0 * (d / 100.0).log10()
    } else {
        0.0
    };
    let rssi = 27.0 + 1.2 - fspl - excess - 6.0 * gaussian(rng);
    (rssi >= -125.0).then_some(rssi)
}

/// What a simulated wireless device is up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Honest,
    /// Sits in a city but asserts a place 40–70 km away.
    Spoofer,
    /// One of a pile of devices on one spot, all asserting the same cell.
    Clustered,
    /// A member of ring `n`: physically nowhere near anyone, it fabricates reports of its
    /// ring's beacons.
    Ring(u8),
    /// Sits where it says but adds [`INFLATION_DB`] to every RSSI it reports.
    Inflater,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Honest => "honest",
            Role::Spoofer => "location spoofers",
            Role::Clustered => "co-located cluster",
            Role::Ring(_) => "witness rings",
            Role::Inflater => "RSSI inflaters",
        }
    }
}

/// What an RSSI inflater adds, in dB.
pub const INFLATION_DB: f64 = 25.0;
/// Members of one witness ring.
pub const RING_SIZE: usize = 5;

/// A cheater: its role, where it really is and where it says it is.
pub struct Cheater {
    pub role: Role,
    pub truth: (f64, f64),
    pub asserted: (f64, f64),
}

/// Places `count` cheaters around the first four of `cities`: 3/10 spoofers (around the first
/// two), 1/5 on one spot 8 km from the third, 3/10 in rings of five claiming places 60 km from
/// the fourth while really far out at sea, the rest inflaters (around the fourth and third).
pub fn place_cheaters(
    count: usize,
    cities: &[(f64, f64); 4],
    rng: &mut ChaCha8Rng,
) -> Vec<Cheater> {
    let mut out = Vec::with_capacity(count);
    let spoofers = count * 3 / 10;
    let clustered = count / 5;
    let rings = (count * 3 / 10) / RING_SIZE;
    let inflaters = count - spoofers - clustered - rings * RING_SIZE;
    let around = |centre: (f64, f64), mean: f64, rng: &mut ChaCha8Rng| {
        offset(
            centre,
            -mean * (1.0 - unit(rng)).ln(),
            unit(rng) * std::f64::consts::TAU,
        )
    };
    for i in 0..spoofers {
        let truth = around(cities[i % 2], 2_000.0, rng);
        let asserted = offset(
            truth,
            40_000.0 + 30_000.0 * unit(rng),
            unit(rng) * std::f64::consts::TAU,
        );
        out.push(Cheater {
            role: Role::Spoofer,
            truth,
            asserted,
        });
    }
    let spot = offset(cities[2], 8_000.0, 1.0);
    for _ in 0..clustered {
        out.push(Cheater {
            role: Role::Clustered,
            truth: spot,
            asserted: spot,
        });
    }
    for r in 0..rings {
        let centre = offset(cities[3], 60_000.0, 2.0 + r as f64);
        for m in 0..RING_SIZE {
            out.push(Cheater {
                role: Role::Ring(r as u8),
                truth: (-60.0, -140.0 + 60.0 * r as f64),
                asserted: offset(centre, 3_000.0 + 1_000.0 * m as f64, m as f64 * 1.3),
            });
        }
    }
    for i in 0..inflaters {
        let at = around(cities[3 - i % 2], 2_500.0, rng);
        out.push(Cheater {
            role: Role::Inflater,
            truth: at,
            asserted: at,
        });
    }
    out
}

/// One end of a simulated link: role, true position, asserted cell.
#[derive(Clone, Copy)]
pub struct End {
    pub role: Role,
    pub truth: (f64, f64),
    pub asserted: groundwork_primitives::Cell,
}

/// What `witness` reports of `beaconer`'s beacon, or `None` if it reports nothing. Members of
/// one ring fabricate 12 dB under the free-space bound for their claimed places; everyone else
/// hears by the propagation model from true positions; inflaters add [`INFLATION_DB`].
pub fn reported_rssi(beaconer: End, witness: End, rng: &mut ChaCha8Rng) -> Option<f64> {
    let rssi = match (beaconer.role, witness.role) {
        (Role::Ring(x), Role::Ring(y)) if x == y => {
            let d = groundwork_coverage::distance_m(beaconer.asserted, witness.asserted);
            let bound = groundwork_coverage::expected_rssi_cdbm(27, FREQUENCY_HZ, d, 12, 0)
                .unwrap_or(-13_000);
            Some(f64::from(bound) / 100.0 - 12.0)
        }
        _ => received(distance_m(beaconer.truth, witness.truth), rng),
    }?;
    Some(if witness.role == Role::Inflater {
        rssi + INFLATION_DB
    } else {
        rssi
    })
}
