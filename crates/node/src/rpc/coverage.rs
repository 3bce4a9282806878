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
pub(super) fn coverage_json(e: &CoverageExplanation) -> Value {
    let shares: Vec<Value> = e
        .shares
        .iter()
        .map(|share| {
            let report = share.report.as_ref().map(|r| {
                json!({
                    "location": r.location.to_string(),
                    "height": r.height,
                    "rssi_dbm": r.reading.rssi_dbm,
                    "snr_cdb": r.reading.snr_cdb,
                    "checks": share.checks.iter().map(check_json).collect::<Vec<_>>(),
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
        "steps": e.steps,
    })
}

/// One check of a report: `{"check", "passed", <measured name>: value, <limit name>: limit}`.
fn check_json(check: &groundwork_state::coverage::ReportCheck) -> Value {
    let mut out = Map::new();
    out.insert("check".to_string(), json!(check.check));
    out.insert("passed".to_string(), json!(true));
    for (name, value) in check.measured.iter().chain(&check.limit) {
        out.insert((*name).to_string(), json!(value));
    }
    Value::Object(out)
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
