//! The radio world of simulated devices: where they really are and what they hear. Floats
//! are fine here — this is the world being simulated, not the chain.
//!
//! Propagation: free-space loss, plus 12 dB per decade of distance beyond 100 m (a path-loss
//! exponent of 3.2, typical of towns), plus log-normal shadowing (σ = 6 dB). A receiver hears
//! down to −125 dBm.

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// The frequency simulated devices use, in Hz.
pub const FREQUENCY_HZ: u64 = 904_600_000;

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
