//! Properties over random inputs: nothing panics, results stay in range, and the units move
//! the way HIP-15 says.

use groundwork_coverage::{
    BEACON_UNIT_CAP, UNIT_SCALE, WitnessCheckInput, beacon_unit, distance_m, expected_rssi_cdbm,
    fspl_cdb, geometry, grid_distance_res11, hex_scales, rssi_exceeds_free_space, witness_unit,
};
use groundwork_primitives::cell::Cell;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Any location on Earth (H3 covers the poles too).
fn any_cell() -> impl Strategy<Value = Cell> {
    (-90.0f64..=90.0, -180.0f64..=180.0)
        .prop_map(|(lat, lng)| Cell::from_lat_lng(lat, lng).expect("valid coordinates"))
}

/// Devices clustered around a few centres, so that density clipping really happens: up to
/// ~0.03° (a few km) from one of three random centres, and some devices share a cell.
fn crowd() -> impl Strategy<Value = Vec<Cell>> {
    (
        prop::collection::vec((-80.0f64..=80.0, -179.0f64..=179.0), 1..=3),
        prop::collection::vec(
            (0usize..3, -0.03f64..=0.03, -0.03f64..=0.03, 1usize..=3),
            0..200,
        ),
    )
        .prop_map(|(centres, offsets)| {
            offsets
                .into_iter()
                .flat_map(|(which, dlat, dlng, copies)| {
                    let (lat, lng) = centres[which % centres.len()];
                    let cell = Cell::from_lat_lng(lat + dlat, lng + dlng).expect("valid");
                    std::iter::repeat_n(cell, copies)
                })
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn radio_math_never_panics(
        distance in any::<u32>(),
        freq in any::<u64>(),
        power in any::<i32>(),
        tx_gain in any::<i32>(),
        rx_gain in any::<i32>(),
        reported in any::<i32>(),
    ) {
        let loss = fspl_cdb(distance, freq);
        prop_assert_eq!(loss.is_err(), distance == 0 || freq == 0);
        if let Ok(loss) = loss {
            prop_assert!((-14_755..=43_043).contains(&loss));
        }
        if let Ok(expected) = expected_rssi_cdbm(power, freq, distance, tx_gain, rx_gain) {
            let _ = rssi_exceeds_free_space(reported, expected);
        }
    }

    /// Doubling the distance (or the frequency) adds 20·log10(2) = 6.0206 dB.
    #[test]
    fn doubling_adds_six_decibels(distance in 1u32..=u32::MAX / 2, freq in 1u64..=u64::MAX / 2) {
        let base = fspl_cdb(distance, freq).unwrap();
        let far = fspl_cdb(distance * 2, freq).unwrap();
        let high = fspl_cdb(distance, freq * 2).unwrap();
        prop_assert!((601..=603).contains(&(far - base)), "{} → {}", base, far);
        prop_assert!((601..=603).contains(&(high - base)), "{} → {}", base, high);
    }

    /// More budget, more expected signal, one for one.
    #[test]
    fn expected_signal_follows_power(
        power in -50i32..=50,
        distance in 1u32..=200_000,
        tx_gain in -200i32..=200,
        rx_gain in -200i32..=200,
    ) {
        let freq = 915_000_000;
        let a = expected_rssi_cdbm(power, freq, distance, tx_gain, rx_gain).unwrap();
        let b = expected_rssi_cdbm(power + 1, freq, distance, tx_gain, rx_gain).unwrap();
        prop_assert_eq!(b - a, 100);
    }

    #[test]
    fn units_never_panic_and_move_the_hip15_way(witnesses in any::<u32>()) {
        let beacon = beacon_unit(witnesses);
        let witness = witness_unit(witnesses);
        prop_assert!(beacon <= BEACON_UNIT_CAP);
        prop_assert!(witness <= UNIT_SCALE);
        if let Some(next) = witnesses.checked_add(1) {
            // The beacon earns more with every witness; each witness earns less once past N.
            prop_assert!(beacon_unit(next) >= beacon);
            if witnesses >= 1 {
                prop_assert!(witness_unit(next) <= witness);
            }
        }
    }

    #[test]
    fn geometry_never_panics_and_agrees_with_its_parts(a in any_cell(), b in any_cell()) {
        let metres = distance_m(a, b);
        prop_assert_eq!(metres, distance_m(b, a));
        prop_assert_eq!(metres == 0, a == b);
        // Half the circumference of the sphere, rounded up.
        prop_assert!(metres <= 20_015_118);
        let _ = grid_distance_res11(a, b);
        let input = WitnessCheckInput {
            beacon_cell: a,
            witness_cell: b,
            tx_power_dbm: 27,
            freq_hz: 868_100_000,
            tx_gain_ddbi: 12,
            rx_gain_ddbi: -15,
            reported_rssi_dbm: -100,
        };
        match geometry(&input) {
            Ok(g) => {
                prop_assert_eq!(g.distance_m, metres);
                prop_assert_eq!(g.grid_distance_res11, grid_distance_res11(a, b));
                prop_assert_eq!(Ok(g.fspl_cdb), fspl_cdb(metres, 868_100_000));
                prop_assert_eq!(g.expected_rssi_cdbm, 100 * (27 + 1 - 2) - g.fspl_cdb);
                prop_assert_eq!(
                    g.rssi_exceeds_free_space,
                    -10_000 > g.expected_rssi_cdbm
                );
            }
            Err(_) => prop_assert_eq!(a, b),
        }
    }

    #[test]
    fn scales_stay_in_range_and_ignore_order(mut cells in crowd()) {
        let scales = hex_scales(&cells);
        let distinct: BTreeSet<Cell> = cells.iter().copied().collect();
        prop_assert!(scales.keys().copied().eq(distinct.iter().copied()));
        prop_assert!(scales.values().all(|s| *s <= UNIT_SCALE));
        cells.reverse();
        prop_assert_eq!(hex_scales(&cells), scales);
    }
}

#[test]
fn units_are_monotonic_for_every_small_count() {
    for w in 0..20_000u32 {
        assert!(beacon_unit(w + 1) >= beacon_unit(w), "beacon unit at {w}");
        if w >= 1 {
            assert!(
                witness_unit(w + 1) <= witness_unit(w),
                "witness unit at {w}"
            );
        }
    }
}

/// The chain computes the scales once per epoch for every active device: 100 000 devices take
/// about 0.25 s in an optimised build and under 2 s unoptimised; the bound is loose for slow
/// machines.
#[test]
fn scales_for_a_hundred_thousand_devices() {
    // A 316 × 316 grid of points ~300 m apart around Amsterdam, plus a few dozen pile-ups.
    let mut cells = Vec::with_capacity(100_100);
    for i in 0..316 {
        for j in 0..316 {
            let lat = 52.0 + f64::from(i) * 0.0027;
            let lng = 4.5 + f64::from(j) * 0.0044;
            cells.push(Cell::from_lat_lng(lat, lng).unwrap());
        }
    }
    for k in 0..100 {
        cells.push(cells[k * 7]);
    }
    let started = std::time::Instant::now();
    let scales = hex_scales(&cells);
    let elapsed = started.elapsed();
    assert!(scales.len() <= cells.len());
    assert!(scales.values().all(|s| *s <= UNIT_SCALE));
    eprintln!("hex_scales for {} devices: {elapsed:?}", cells.len());
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
}
