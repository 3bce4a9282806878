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

/// A coverage explanation: every beacon the device took part in, the checks its reports
/// passed with their numbers, and the pool arithmetic.
pub(super) fn coverage_answer(e: &CoverageExplanation) -> api::CoverageExplanation {
    let shares = e
        .shares
        .iter()
        .map(|share| api::CoverageShare {
            beacon: digest_hex(&share.beacon),
            role: role(share.as_beaconer).to_string(),
            witnesses: u64::from(share.witnesses),
            unit: share.unit,
            hex_scale: share.hex_scale,
            witness_scale: share.witness_scale,
            reciprocity: share.reciprocity,
            excluded_by: share.excluded.map(|rule| rule.name().to_string()),
            units: share.units,
            report: share.report.as_ref().map(|r| api::ShareReport {
                location: r.location.to_string(),
                height: r.height,
                rssi_dbm: i64::from(r.reading.rssi_dbm),
                snr_cdb: i64::from(r.reading.snr_cdb),
                checks: share.checks.iter().map(check_answer).collect(),
                peer_deviation_cdb: share.peer_deviation_cdb,
                peer_deviant: share.peer_deviation_cdb.map(coverage_rules::deviates),
            }),
        })
        .collect();
    let r = &e.reward;
    let m = &e.summary;
    api::CoverageExplanation {
        amount: BaseUnits(r.amount.0),
        recomputed: BaseUnits(e.recomputed.0),
        beacon_units: r.beacon_units,
        witness_units: r.witness_units,
        reciprocity_misses: r.reciprocity_misses,
        collusion_exclusions: r.collusion_exclusions,
        peer_comparable_reports: r.peers.comparable,
        peer_deviant_reports: r.peers.deviant,
        out_of_line: r.peers.out_of_line(),
        pool: BaseUnits(m.pool.0),
        beacon_pool: BaseUnits(m.beacon_pool.0),
        witness_pool: BaseUnits(m.witness_pool.0),
        total_beacon_units: m.total_beacon_units,
        total_witness_units: m.total_witness_units,
        shares,
        steps: e.steps.clone(),
    }
}

/// A device's role in a beacon, as the API names it.
pub(super) fn role(as_beaconer: bool) -> &'static str {
    if as_beaconer { "beaconer" } else { "witness" }
}

/// One check of a report: its name, and its measured value and limit under their names.
fn check_answer(check: &groundwork_state::coverage::ReportCheck) -> api::ReportCheck {
    api::ReportCheck {
        check: check.check.clone(),
        passed: true,
        numbers: check
            .measured
            .iter()
            .chain(&check.limit)
            .map(|(name, value)| ((*name).to_string(), *value))
            .collect(),
    }
}

/// A beacon with its valid witness reports and the numbers their checks used.
pub(super) fn beacon(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Beacon> {
    let map = named(params, &["beacon"])?;
    let text: String = required(&map, "beacon")?;
    let id =
        digest_from_hex(&text).ok_or_else(|| invalid("beacon", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .beacon(&id)
            .ok_or_else(|| not_found(format!("no beacon {text}")))?;
        let witnesses = (0..record.witnesses)
            .filter_map(|i| s.witness_record(&id, i))
            .map(|w| api::Witness {
                witness: w.witness.to_string(),
                height: w.height,
                location: w.location.to_string(),
                rssi_dbm: i64::from(w.reading.rssi_dbm),
                snr_cdb: i64::from(w.reading.snr_cdb),
                frequency_hz: w.reading.frequency_hz,
                antenna_gain_ddbi: i64::from(w.reading.antenna_gain_ddbi),
                distance_m: u64::from(w.distance_m),
                grid_distance_res11: u64::from(w.grid_distance_res11),
                max_rssi_cdbm: i64::from(w.max_rssi_cdbm),
            })
            .collect();
        Ok(api::Beacon {
            beacon: digest_hex(&id),
            beaconer: record.beaconer.to_string(),
            height: record.height,
            location: record.location.to_string(),
            tx_power_dbm: i64::from(record.radio.tx_power_dbm),
            frequency_hz: record.radio.frequency_hz,
            antenna_gain_ddbi: i64::from(record.radio.antenna_gain_ddbi),
            witnesses,
        })
    })
}
