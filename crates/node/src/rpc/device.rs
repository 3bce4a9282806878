//! Devices, the core's records: `device_get`, `device_list`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("device_get", |params, state, _| device(state, &params))?;
    module.register_method("device_list", |params, state, _| {
        device_list(state, &params)
    })?;
    Ok(())
}

pub(super) fn device_answer(id: &DeviceId, device: &Device, pending_work: u64) -> api::Device {
    let release_epoch = match device.status {
        DeviceStatus::Unbonding { release_epoch } => Some(release_epoch),
        _ => None,
    };
    api::Device {
        device: id.to_string(),
        scheme: id.scheme().name().to_string(),
        owner: device.owner.to_string(),
        kind: device.kind.name().to_string(),
        location: device.location.to_string(),
        bond: BaseUnits(device.bond.0),
        status: device.status.name().to_string(),
        release_epoch,
        registered_at_height: device.registered_at_height,
        last_heartbeat_window: device.last_heartbeat_window,
        pending_work_units: pending_work,
        challenge: None,
        attestation: None,
    }
}

pub(super) fn device(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Device> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let device = registered_device(s, &id)?;
        let mut answer = device_answer(&id, &device, s.pending_work(&id));
        answer.challenge = s.device_challenge(&id).map(|(cid, c)| api::ChallengeRef {
            id: digest_hex(&cid),
            status: c.status.name().to_string(),
        });
        answer.attestation = attest::attestation(s, &id);
        Ok(answer)
    })
}

/// Devices by owner and/or inside an H3 cell of any resolution, in device-id order, a page at
/// a time (`after` = the last id of the previous page). A scan of the device table: fine for
/// the tens of thousands of devices a node holds today; an index comes when that stops holding.
pub(super) fn device_list(state: &RpcState, params: &Params<'_>) -> RpcResult<api::DevicePage> {
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
                next = page.last().map(|d: &api::Device| d.device.clone());
                break;
            }
            page.push(device_answer(id, device, s.pending_work(id)));
        }
        api::DevicePage {
            devices: page,
            next,
        }
    }))
}
