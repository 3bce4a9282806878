//! The coverage module: `coverage_getBeacon`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("coverage_getBeacon", |params, state, _| {
        beacon(state, &params)
    })?;
    module.register_alias("coverage_beacon", "coverage_getBeacon")?;
    Ok(())
}

/// A coverage explanation as JSON: every beacon the device took part in, the checks its
/// reports passed with their numbers, and the pool arithmetic.
pub(super) fn coverage_json(s: &State, e: &CoverageExplanation) -> Value {
    let window = s.params().coverage.witness_window_blocks;
    let shares: Vec<Value> = e
        .shares
        .iter()
        .map(|share| {
            let beacon = s.beacon(&share.beacon);
            let report = share.report.as_ref().map(|r| {
                let beacon_height = beacon.as_ref().map(|b| b.height).unwrap_or(r.height);
                let beacon_freq = beacon.as_ref().map(|b| b.radio.frequency_hz).unwrap_or(0);
                let delta = beacon_freq.abs_diff(r.reading.frequency_hz);
                json!({
                    "location": r.location.to_string(),
                    "height": r.height,
                    "rssi_dbm": r.reading.rssi_dbm,
                    "snr_cdb": r.reading.snr_cdb,
                    "checks": [
                        {"check": "not a self-witness", "passed": true},
                        {"check": "within the witness window", "passed": true,
                         "blocks_after": r.height.saturating_sub(beacon_height), "max": window},
                        {"check": "frequency within 100 kHz", "passed": true,
                         "delta_hz": delta, "max": MAX_FREQUENCY_DELTA_HZ},
                        {"check": "res-11 grid distance at least 8", "passed": true,
                         "grid_distance": r.grid_distance_res11, "min": MIN_GRID_DISTANCE_RES11},
                        {"check": "distance at most 100 km", "passed": true,
                         "meters": r.distance_m, "max": MAX_WITNESS_DISTANCE_M},
                        {"check": "RSSI within free space", "passed": true,
                         "rssi_cdbm": i32::from(r.reading.rssi_dbm) * 100, "max_cdbm": r.max_rssi_cdbm},
                        {"check": "among the first 14 valid witnesses", "passed": true},
                    ],
                    "peer_deviation_cdb": share.peer_deviation_cdb,
                    "peer_deviant": share.peer_deviation_cdb.map(coverage_rules::deviates),
                })
            });
            json!({
                "beacon": digest_hex(&share.beacon),
                "role": if share.as_beaconer { "beaconer" } else { "witness" },
                "witnesses": share.witnesses,
                "unit": share.unit,
                "hex_scale": share.hex_scale,
                "witness_scale": share.witness_scale,
                "reciprocity": share.reciprocity,
                "excluded_by": share.excluded.map(|rule| rule.name()),
                "units": share.units,
                "report": report,
            })
        })
        .collect();
    let r = &e.reward;
    let m = &e.summary;
    json!({
        "amount": r.amount.0.to_string(),
        "recomputed": e.recomputed.0.to_string(),
        "beacon_units": r.beacon_units,
        "witness_units": r.witness_units,
        "reciprocity_misses": r.reciprocity_misses,
        "collusion_exclusions": r.collusion_exclusions,
        "peer_comparable_reports": r.peers.comparable,
        "peer_deviant_reports": r.peers.deviant,
        "out_of_line": r.peers.out_of_line(),
        "pool": m.pool.0.to_string(),
        "beacon_pool": m.beacon_pool.0.to_string(),
        "witness_pool": m.witness_pool.0.to_string(),
        "total_beacon_units": m.total_beacon_units,
        "total_witness_units": m.total_witness_units,
        "shares": shares,
        "steps": [
            format!("reports compared with the other reports of the same beacon: {} comparable, {} more than {} cdB louder than the median of the others; more than half of at least {} makes the device out of line and leaves all its shares out ({})", r.peers.comparable, r.peers.deviant, coverage_rules::PEER_MARGIN_CDB, coverage_rules::MIN_COMPARABLE_REPORTS, if r.peers.out_of_line() { "out of line" } else { "in line" }),
            format!("units are HIP-15 unit × the beaconer's hex scale (× the witness's own hex scale for a report; all in 1/10 000), summed over this device's beacons ({}) and witness reports ({}); shares failing reciprocity count 0 ({} here)", r.beacons, r.witnesses, r.reciprocity_misses),
            format!("beacon part = floor({} × {} / {})", m.beacon_pool, r.beacon_units, m.total_beacon_units),
            format!("witness part = floor({} × {} / {})", m.witness_pool, r.witness_units, m.total_witness_units),
            format!("coverage reward = {} base units, paid to {}", r.amount, r.owner),
        ],
    })
}

/// A beacon with its valid witness reports and the numbers their checks used.
pub(super) fn beacon(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["beacon"])?;
    let text: String = required(&map, "beacon")?;
    let id =
        digest_from_hex(&text).ok_or_else(|| invalid("beacon", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .beacon(&id)
            .ok_or_else(|| not_found(format!("no beacon {text}")))?;
        let witnesses: Vec<Value> = (0..record.witnesses)
            .filter_map(|i| s.witness_record(&id, i))
            .map(|w| {
                json!({
                    "witness": w.witness.to_string(),
                    "height": w.height,
                    "location": w.location.to_string(),
                    "rssi_dbm": w.reading.rssi_dbm,
                    "snr_cdb": w.reading.snr_cdb,
                    "frequency_hz": w.reading.frequency_hz,
                    "antenna_gain_ddbi": w.reading.antenna_gain_ddbi,
                    "distance_m": w.distance_m,
                    "grid_distance_res11": w.grid_distance_res11,
                    "max_rssi_cdbm": w.max_rssi_cdbm,
                })
            })
            .collect();
        Ok(json!({
            "beacon": digest_hex(&id),
            "beaconer": record.beaconer.to_string(),
            "height": record.height,
            "location": record.location.to_string(),
            "tx_power_dbm": record.radio.tx_power_dbm,
            "frequency_hz": record.radio.frequency_hz,
            "antenna_gain_ddbi": record.radio.antenna_gain_ddbi,
            "witnesses": witnesses,
        }))
    })
}
