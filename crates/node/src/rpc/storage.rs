//! The storage module: `storage_getProvider`, `storage_listProviders`, `storage_getDeal`,
//! `storage_listDeals` and `storage_getProofs` (aliases `storage_provider`,
//! `storage_providers`, `storage_deal`, `storage_deals`, `storage_proofs`).

use super::*;
use groundwork_state::storage::{Deal, DealSet, DealStatus, PeriodRecord, Provider};

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("storage_getProvider", |params, state, _| {
        provider(state, &params)
    })?;
    module.register_method("storage_listProviders", |params, state, _| {
        providers(state, &params)
    })?;
    module.register_method("storage_getDeal", |params, state, _| deal(state, &params))?;
    module.register_method("storage_listDeals", |params, state, _| {
        deals(state, &params)
    })?;
    module.register_method("storage_getProofs", |params, state, _| {
        proofs(state, &params)
    })?;
    module.register_alias("storage_provider", "storage_getProvider")?;
    module.register_alias("storage_providers", "storage_listProviders")?;
    module.register_alias("storage_deal", "storage_getDeal")?;
    module.register_alias("storage_deals", "storage_listDeals")?;
    module.register_alias("storage_proofs", "storage_getProofs")?;
    module.register_method("storage_getChecks", |params, state, _| {
        checks(state, &params)
    })?;
    module.register_alias("storage_checks", "storage_getChecks")?;
    Ok(())
}

fn provider_answer(s: &State, device: &DeviceId, p: &Provider) -> api::StorageProvider {
    api::StorageProvider {
        device: device.to_string(),
        owner: p.owner.to_string(),
        capacity_bytes: p.capacity_bytes,
        used_bytes: p.used_bytes,
        free_bytes: p.free_bytes(),
        credits_per_gib_epoch: s.offer(device).map(|o| o.credits_per_unit),
        collateral_per_gib: BaseUnits(p.collateral_per_gib.0),
        locked: BaseUnits(p.locked.0),
        reserved: BaseUnits(p.reserved.0),
        endpoint: String::from_utf8_lossy(&p.endpoint.0).into_owned(),
    }
}

fn nonzero(height: u64) -> Option<u64> {
    (height != 0).then_some(height)
}

pub(super) fn deal_answer(id: &Digest, d: &Deal) -> api::StorageDeal {
    let accepted = d.accepted_at != 0;
    api::StorageDeal {
        id: digest_hex(id),
        set: digest_hex(&d.set),
        index: d.index,
        client: d.client.to_string(),
        provider: d.provider.to_string(),
        root: hex::encode(d.root),
        size_bytes: d.size_bytes,
        credits_per_gib_epoch: d.credits_per_gib_epoch,
        periods: d.periods,
        status: d.status.name().to_string(),
        proposed_at: d.proposed_at,
        accepted_at: nonzero(d.accepted_at),
        first_period: accepted.then_some(d.first_period),
        last_period: accepted.then(|| d.last_period()),
        escrow_credits: d.escrow_credits,
        paid_credits: d.paid_credits,
        collateral: BaseUnits(d.collateral.0),
        slashed: BaseUnits(d.slashed.0),
        proven: d.proven,
        withheld: d.withheld,
        faults: d.faults,
        consecutive_faults: d.consecutive_faults,
        closed_at: nonzero(d.closed_at),
    }
}

fn set_answer(s: &State, id: &Digest, set: &DealSet) -> api::StorageDealSet {
    api::StorageDealSet {
        id: digest_hex(id),
        client: set.client.to_string(),
        file_size: set.file_size,
        file_hash: hex::encode(set.file_hash),
        data_shards: set.data_shards,
        shards: set.shards,
        periods: set.periods,
        proposed_at: set.proposed_at,
        ended_at: nonzero(set.ended_at),
        deals: s
            .deals_of_set(id)
            .iter()
            .map(|(deal, record)| deal_answer(deal, record))
            .collect(),
    }
}

pub(super) fn period_answer(
    s: &State,
    id: &Digest,
    period: u64,
    r: &PeriodRecord,
) -> api::StoragePeriod {
    let outcome = if !r.settled {
        "open"
    } else if r.faulted() {
        "faulted"
    } else if r.withheld {
        "withheld"
    } else {
        "proven"
    };
    let checks: Vec<api::StorageCheck> = s
        .deal_checks(id, period)
        .into_iter()
        .map(|(position, c)| api::StorageCheck {
            position,
            checker: c.checker.to_string(),
            block: c.block,
            ok: c.ok,
            at: c.at,
        })
        .collect();
    let withheld = r.withheld.then(|| {
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} (block {})", c.checker, c.block))
            .collect();
        format!(
            "proven, but {} of {} retrieval checks failed, below the {} bps needed: {}",
            r.checks_failed,
            u32::from(r.checks_ok) + u32::from(r.checks_failed),
            s.params().storage.min_retrieval_bps,
            failed.join(", ")
        )
    });
    api::StoragePeriod {
        period,
        outcome: outcome.to_string(),
        proven_at: nonzero(r.proven_at),
        paid_credits: r.paid_credits,
        slashed: BaseUnits(r.slashed.0),
        to_client: BaseUnits(r.to_client.0),
        burned: BaseUnits(r.burned.0),
        checks,
        withheld,
    }
}

fn digest_param(map: &Map<String, Value>, name: &'static str) -> RpcResult<Digest> {
    let text: String = required(map, name)?;
    digest_from_hex(&text).ok_or_else(|| invalid(name, "expected 64 hex characters"))
}

fn provider(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageProvider> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let p = s
            .storage_provider(&id)
            .ok_or_else(|| not_found(format!("device {id} provides no storage")))?;
        Ok(provider_answer(s, &id, &p))
    })
}

fn providers(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageProviderList> {
    let map = named(params, &["limit"])?;
    let limit = optional::<usize>(&map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    Ok(state.chain.with_state(|s| api::StorageProviderList {
        providers: s
            .storage_providers(limit)
            .iter()
            .map(|(device, p)| provider_answer(s, device, p))
            .collect(),
    }))
}

/// A deal set by its id, or the set a deal belongs to by the deal's id.
fn deal(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageDealSet> {
    let map = named(params, &["id"])?;
    let id = digest_param(&map, "id")?;
    state.chain.with_state(|s| {
        let set_id = match s.deal(&id) {
            Some(deal) => deal.set,
            None => id,
        };
        let set = s
            .deal_set(&set_id)
            .ok_or_else(|| not_found(format!("no deal or deal set {}", digest_hex(&id))))?;
        Ok(set_answer(s, &set_id, &set))
    })
}

fn deals(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageDealList> {
    let map = named(params, &["client", "provider", "limit"])?;
    let limit = optional::<usize>(&map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    let client = map
        .contains_key("client")
        .then(|| parse_address(&map, "client"))
        .transpose()?;
    let provider = map
        .contains_key("provider")
        .then(|| parse_device(&map, "provider"))
        .transpose()?;
    if client.is_some() == provider.is_some() {
        return Err(invalid("client", "give exactly one of client and provider"));
    }
    Ok(state.chain.with_state(|s| match (client, provider) {
        (Some(client), _) => api::StorageDealList {
            sets: s
                .deal_sets_of(&client, limit)
                .iter()
                .map(|(id, set)| set_answer(s, id, set))
                .collect(),
            deals: Vec::new(),
        },
        (_, Some(device)) => api::StorageDealList {
            sets: Vec::new(),
            deals: s
                .deals_of_provider(&device, limit)
                .iter()
                .map(|(id, deal)| deal_answer(id, deal))
                .collect(),
        },
        (None, None) => api::StorageDealList {
            sets: Vec::new(),
            deals: Vec::new(),
        },
    }))
}

fn proofs(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageProofs> {
    let map = named(params, &["deal", "recent"])?;
    let id = digest_param(&map, "deal")?;
    // The most recent periods only, when asked: an agent proving every few seconds needs
    // the open challenge, not a deal's whole history.
    let recent = optional::<usize>(&map, "recent")?;
    state.chain.with_state(|s| {
        let deal = s
            .deal(&id)
            .ok_or_else(|| not_found(format!("no deal {}", digest_hex(&id))))?;
        let p = s.params().storage;
        // The period the next block belongs to: the one a proof sent now lands in.
        let open = p.period_of(s.height().saturating_add(1));
        let periods = s.deal_periods(&id);
        let proving = deal.status == DealStatus::Active
            && open >= deal.first_period
            && open <= deal.last_period();
        let challenge = proving
            .then(|| s.deal_challenges(&id, open))
            .flatten()
            .map(|leaves| api::StorageChallenge {
                period: open,
                leaves,
                deadline: p.deadline(open),
                proven: periods.iter().any(|(period, _)| *period == open),
            });
        Ok(api::StorageProofs {
            deal: digest_hex(&id),
            status: deal.status.name().to_string(),
            period_blocks: p.period_blocks,
            open_period: open,
            periods: periods
                .iter()
                .skip(periods.len().saturating_sub(recent.unwrap_or(usize::MAX)))
                .map(|(period, record)| period_answer(s, &id, *period, record))
                .collect(),
            challenge,
        })
    })
}

/// The retrieval checks `device` is drawn for in the period the next block belongs to (at
/// most `MAX_DEVICE_PAGE`), read from the chain's index of draws by checker.
fn checks(state: &RpcState, params: &Params<'_>) -> RpcResult<api::StorageChecks> {
    let map = named(params, &["device"])?;
    let device = parse_device(&map, "device")?;
    Ok(state.chain.with_state(|s| {
        let open = s.params().storage.period_of(s.height().saturating_add(1));
        let mut due = Vec::new();
        for (id, position, block) in s.checks_drawn_for(&device, open, MAX_DEVICE_PAGE) {
            let Some(deal) = s.deal(&id) else {
                continue;
            };
            let posted = s.deal_checks(&id, open);
            due.push(api::StorageCheckDue {
                deal: digest_hex(&id),
                period: open,
                position,
                block,
                provider: deal.provider.to_string(),
                endpoint: s
                    .storage_provider(&deal.provider)
                    .map(|p| String::from_utf8_lossy(&p.endpoint.0).into_owned())
                    .unwrap_or_default(),
                root: hex::encode(deal.root),
                size_bytes: deal.size_bytes,
                posted: posted.iter().any(|(p, _)| *p == position),
            });
        }
        api::StorageChecks {
            device: device.to_string(),
            period: open,
            checks: due,
        }
    }))
}

/// The proving periods of `device`'s deals that settled in `epoch` (a period settles at its
/// last block), for `rewards_explain`.
pub(super) fn settled_in_epoch(
    s: &State,
    device: &groundwork_primitives::DeviceId,
    epoch: u64,
) -> Vec<api::StorageSettlement> {
    // Period p settles at height (p + 1) × P; the epoch's heights are e × L + 1 ..= (e + 1) × L.
    let period_blocks = s.params().storage.period_blocks.max(1);
    let length = s.params().core.epoch_length_blocks;
    let first_height = epoch.saturating_mul(length).saturating_add(1);
    let last_height = epoch.saturating_add(1).saturating_mul(length);
    let first = first_height.div_ceil(period_blocks).saturating_sub(1);
    let last = (last_height / period_blocks).saturating_sub(1);
    let mut settled = Vec::new();
    for (id, _) in s.deals_of_provider(device, MAX_DEVICE_PAGE) {
        for (period, record) in s.deal_periods_between(&id, first, last) {
            let settles_at = period.saturating_add(1).saturating_mul(period_blocks);
            if record.settled && s.epoch_of(settles_at) == epoch {
                settled.push(api::StorageSettlement {
                    deal: digest_hex(&id),
                    period: period_answer(s, &id, period, &record),
                });
            }
        }
    }
    settled
}
