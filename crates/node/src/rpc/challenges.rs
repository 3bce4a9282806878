//! The challenges module: `challenges_get`, `challenges_list`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("challenges_get", |params, state, _| {
        challenge(state, &params)
    })?;
    module.register_method("challenges_list", |params, state, _| {
        challenge_list(state, &params)
    })?;
    module.register_alias("challenge_get", "challenges_get")?;
    module.register_alias("challenge_list", "challenges_list")?;
    Ok(())
}

/// A location challenge: the evidence with its numbers, the answer, the outcome.
pub(super) fn challenge_answer(s: &State, id: &Digest, c: &Challenge) -> api::Challenge {
    let evidence = c
        .evidence
        .0
        .iter()
        .map(|e| api::ChallengeEvidence {
            beacon: digest_hex(&e.beacon),
            role: coverage::role(e.as_beaconer).to_string(),
            other: e.other.to_string(),
            distance_m: u64::from(e.distance_m),
            rssi_dbm: i64::from(e.rssi_dbm),
            typical_cdbm: i64::from(e.typical_cdbm),
            excess_cdb: e.excess_cdb,
        })
        .collect();
    let params = s.params().challenges;
    let (status, slashed) = match c.status {
        ChallengeStatus::Upheld { slashed } => ("upheld", Some(BaseUnits(slashed.0))),
        other => (other.name(), None),
    };
    api::Challenge {
        id: digest_hex(id),
        device: c.device.to_string(),
        owner: c.owner.to_string(),
        challenger: c.challenger.to_string(),
        bond: BaseUnits(c.bond.0),
        location: c.location.to_string(),
        opened_at: c.opened_at,
        answer_by: c.answer_by,
        resolves_at: c.resolves_at,
        evidence,
        answer: c.answer.map(|b| digest_hex(&b)),
        answer_witnesses: u64::from(c.answer_witnesses),
        answer_median_excess_cdb: c.answer_median_excess_cdb,
        status: status.to_string(),
        slashed,
        resolved_at: c.resolved_at,
        rule: format!(
            "rejected if at least {} witnesses of other owners than the device's and the challenger's heard the answer beacon with a median excess over the typical link of at most {} cdB; otherwise upheld: {} bps of the device bond slashed, half to the challenger and half to the treasury",
            params.min_answer_witnesses,
            coverage_rules::LOCATION_MARGIN_CDB,
            params.slash_bps
        ),
    }
}

pub(super) fn challenge(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Challenge> {
    let map = named(params, &["id"])?;
    let text: String = required(&map, "id")?;
    let id = digest_from_hex(&text).ok_or_else(|| invalid("id", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .challenge(&id)
            .ok_or_else(|| not_found(format!("no challenge {text}")))?;
        Ok(challenge_answer(s, &id, &record))
    })
}

pub(super) fn challenge_list(
    state: &RpcState,
    params: &Params<'_>,
) -> RpcResult<api::ChallengeList> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    Ok(state.chain.with_state(|s| api::ChallengeList {
        device: id.to_string(),
        challenges: s
            .challenges_of(&id)
            .iter()
            .map(|(cid, c)| challenge_answer(s, cid, c))
            .collect(),
    }))
}
