//! Accounts and devices, the core's records: `account_get`, `device_get`, `device_list`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("account_get", |params, state, _| account(state, &params))?;
    module.register_method("device_get", |params, state, _| device(state, &params))?;
    module.register_method("device_list", |params, state, _| {
        device_list(state, &params)
    })?;
    Ok(())
}

pub(super) fn account_json(address: &Address, account: &Account) -> Value {
    json!({
        "address": address.to_string(),
        "balance": account.balance.0.to_string(),
        "nonce": account.nonce,
        "credits": account.credits,
    })
}

pub(super) fn device_json(id: &DeviceId, device: &Device, pending_work: u64) -> Value {
    let release_epoch = match device.status {
        DeviceStatus::Unbonding { release_epoch } => Some(release_epoch),
        _ => None,
    };
    json!({
        "device": id.to_string(),
        "scheme": id.scheme().name(),
        "owner": device.owner.to_string(),
        "kind": device.kind.name(),
        "location": device.location.to_string(),
        "bond": device.bond.0.to_string(),
        "status": device.status.name(),
        "release_epoch": release_epoch,
        "registered_at_height": device.registered_at_height,
        "last_heartbeat_window": device.last_heartbeat_window,
        "pending_work_units": pending_work,
    })
}

pub(super) fn account(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["address"])?;
    let address = parse_address(&map, "address")?;
    let account = state.chain.with_state(|s| s.account(&address));
    let mut answer = account_json(&address, &account);
    answer["pending_nonce"] = json!(state.chain.pending_nonce(&address));
    Ok(answer)
}

pub(super) fn device(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let device = s
            .device(&id)
            .ok_or_else(|| not_found(format!("device {id} is not registered")))?;
        let mut answer = device_json(&id, &device, s.pending_work(&id));
        answer["challenge"] = s.device_challenge(&id).map_or(
            Value::Null,
            |(cid, c)| json!({ "id": digest_hex(&cid), "status": c.status.name() }),
        );
        Ok(answer)
    })
}

/// Devices by owner and/or inside an H3 cell of any resolution, in device-id order, a page at
/// a time (`after` = the last id of the previous page). A scan of the device table: fine for
/// the tens of thousands of devices a node holds today; an index comes when that stops holding.
pub(super) fn device_list(state: &RpcState, params: &Params<'_>) -> RpcResult {
    let map = named(params, &["owner", "cell", "limit", "after"])?;
    let owner = optional_address(&map, "owner")?;
    let area = optional::<String>(&map, "cell")?
        .map(|text| parse_area(&text))
        .transpose()?;
    if owner.is_none() && area.is_none() {
        return Err(invalid("owner", "give `owner`, `cell`, or both"));
    }
    let limit = optional::<usize>(&map, "limit")?.unwrap_or(DEFAULT_DEVICE_PAGE);
    if limit == 0 || limit > MAX_DEVICE_PAGE {
        return Err(invalid("limit", format!("must be 1..={MAX_DEVICE_PAGE}")));
    }
    let after = optional_device(&map, "after")?;
    Ok(state.chain.with_state(|s| {
        let mut page = Vec::new();
        let mut next = None;
        for (id, device) in s.devices() {
            if after.as_ref().is_some_and(|a| id <= a) {
                continue;
            }
            if owner.as_ref().is_some_and(|o| *o != device.owner) {
                continue;
            }
            if let Some(area) = area {
                let inside = device.location.index().parent(area.resolution()) == Some(area);
                if !inside {
                    continue;
                }
            }
            if page.len() == limit {
                next = page
                    .last()
                    .and_then(|v: &Value| v["device"].as_str().map(str::to_string));
                break;
            }
            page.push(device_json(id, device, s.pending_work(id)));
        }
        json!({ "devices": page, "next": next })
    }))
}
