//! The usage module: `usage_getOffer`, `usage_getSession`, `usage_listSessions`.

use super::*;
use groundwork_state::usage::{self as usage_rules, Session, UsageEpoch};

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("usage_getOffer", |params, state, _| offer(state, &params))?;
    module.register_method("usage_getSession", |params, state, _| {
        session(state, &params)
    })?;
    module.register_method("usage_listSessions", |params, state, _| {
        sessions(state, &params)
    })?;
    module.register_alias("offer_get", "usage_getOffer")?;
    module.register_alias("session_get", "usage_getSession")?;
    module.register_alias("session_list", "usage_listSessions")?;
    Ok(())
}

pub(super) fn session_answer(s: &State, id: &Digest, session: &Session) -> api::Session {
    let grace = s.params().usage.grace_blocks;
    let settle_by = session.settle_by(grace);
    let next = s.height().saturating_add(1);
    let status = if session.refunded.is_some() || next > settle_by {
        "closed"
    } else if next > session.ends_at {
        "ended"
    } else {
        "open"
    };
    api::Session {
        id: digest_hex(id),
        customer: session.customer.to_string(),
        customer_key: hex::encode(session.customer_key.as_ref()),
        device: session.device.to_string(),
        credits_per_unit: session.credits_per_unit,
        max_credits: session.max_credits,
        opened_at: session.opened_at,
        ends_at: session.ends_at,
        settle_by,
        settled_units: session.settled_units,
        settled_credits: session.settled_credits,
        escrowed: session.escrowed(),
        refunded: session.refunded,
        status: status.to_string(),
    }
}

pub(super) fn epoch_usage(e: &UsageEpoch) -> api::EpochUsage {
    api::EpochUsage {
        credits_spent: e.credits_spent,
        mint_price_micro_usd: e.mint_price_micro_usd,
        uncapped: BaseUnits(e.uncapped.0),
        cap: BaseUnits(e.cap.0),
        minted: BaseUnits(e.minted.0),
        cap_factor_bps: e.cap_factor_bps(),
        devices: e.devices,
    }
}

/// A device's usage reward with every step, from the epoch's record.
pub(super) fn usage_reward(s: &State, epoch: u64, device: &DeviceId) -> Option<api::UsageReward> {
    let reward = s.usage_reward(epoch, device)?;
    let mint = s.usage_epoch(epoch).unwrap_or_default();
    let unit = s
        .device(device)
        .map_or("unit", |d| usage_rules::unit_of(d.kind));
    let p = s.params();
    let usd = u128::from(reward.credits) * u128::from(p.credits.credit_price_micro_usd);
    let steps = vec![
        format!(
            "verified usage: {} {unit}s settled for {} credits",
            reward.units, reward.credits
        ),
        format!(
            "value: {} credits × {} micro-USD = {usd} micro-USD",
            reward.credits, p.credits.credit_price_micro_usd
        ),
        format!(
            "at the oracle's mint price of {} micro-USD per token, × {} bps paid = {} base units",
            mint.mint_price_micro_usd, p.usage.reward_bps, reward.uncapped
        ),
    ];
    let share = usage_rules::capped_share(reward.uncapped, mint.uncapped, mint.cap)
        .unwrap_or(reward.amount);
    let mut steps = steps;
    steps.push(format!(
        "the epoch's devices earned {} against a cap of {}: × {} bps = {share} base units",
        mint.uncapped,
        mint.cap,
        mint.cap_factor_bps(),
    ));
    let withheld = (share > reward.amount).then(|| withheld_reason(s, epoch, device));
    if let Some(reason) = &withheld {
        steps.push(format!(
            "withheld: {reason}; paid {} base units",
            reward.amount
        ));
    }
    Some(api::UsageReward {
        owner: reward.owner.to_string(),
        credits: reward.credits,
        units: reward.units,
        unit: unit.to_string(),
        uncapped: BaseUnits(reward.uncapped.0),
        amount: BaseUnits(reward.amount.0),
        mint_price_micro_usd: mint.mint_price_micro_usd,
        cap_factor_bps: mint.cap_factor_bps(),
        withheld,
        inputs: api::UsageInputs {
            credit_price_micro_usd: p.credits.credit_price_micro_usd,
            decimals: p.core.token_decimals,
            reward_bps: p.usage.reward_bps,
            epoch_uncapped: BaseUnits(mint.uncapped.0),
            cap: BaseUnits(mint.cap.0),
        },
        steps,
    })
}

/// Why a device that earned a usage share was paid none of it: the attest module's verdict at
/// the epoch's last block, read back from the certificate and revocation records.
fn withheld_reason(s: &State, epoch: u64, device: &DeviceId) -> String {
    let end = epoch
        .saturating_add(1)
        .saturating_mul(s.params().core.epoch_length_blocks);
    match s.attestation(device) {
        Some((_, Some(revoked))) if revoked <= end => {
            format!("its maker revoked its certificate at height {revoked}")
        }
        _ => "its kind must be attested on this chain and it was not".to_string(),
    }
}

fn offer(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Offer> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let offer = s
            .offer(&id)
            .ok_or_else(|| not_found(format!("device {id} offers no service")))?;
        let unit = s
            .device(&id)
            .map_or("unit", |d| usage_rules::unit_of(d.kind));
        Ok(api::Offer {
            device: id.to_string(),
            credits_per_unit: offer.credits_per_unit,
            unit: unit.to_string(),
            max_session_blocks: offer.max_session_blocks,
        })
    })
}

fn session(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Session> {
    let map = named(params, &["id"])?;
    let text: String = required(&map, "id")?;
    let id = digest_from_hex(&text).ok_or_else(|| invalid("id", "expected 64 hex characters"))?;
    state.chain.with_state(|s| {
        let record = s
            .session(&id)
            .ok_or_else(|| not_found(format!("no session {text}")))?;
        Ok(session_answer(s, &id, &record))
    })
}

fn sessions(state: &RpcState, params: &Params<'_>) -> RpcResult<api::SessionList> {
    let map = named(params, &["customer", "limit", "after"])?;
    let customer = parse_address(&map, "customer")?;
    let limit = optional::<usize>(&map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    let after = optional::<String>(&map, "after")?
        .map(|text| {
            digest_from_hex(&text).ok_or_else(|| invalid("after", "expected 64 hex characters"))
        })
        .transpose()?;
    Ok(state.chain.with_state(|s| {
        // One more than asked says whether another page follows.
        let mut page = s.sessions_of(&customer, after, limit + 1);
        let next = (page.len() > limit).then(|| digest_hex(&page[limit - 1].0));
        page.truncate(limit);
        api::SessionList {
            customer: customer.to_string(),
            sessions: page
                .iter()
                .map(|(id, record)| session_answer(s, id, record))
                .collect(),
            next,
        }
    }))
}
