//! The attest module: `attest_get`, `attest_makers`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("attest_get", |params, state, _| {
        device_attestation(state, &params)
    })?;
    module.register_method("attest_makers", |params, state, _| {
        no_params(&params)?;
        makers(state)
    })?;
    Ok(())
}

/// A device's accepted certificate, if it presented one.
pub(super) fn attestation(s: &State, device: &DeviceId) -> Option<api::Attestation> {
    let (attestation, revoked_at) = s.attestation(device)?;
    let maker = s
        .params()
        .attest
        .makers
        .get(usize::from(attestation.maker))
        .map_or_else(
            || format!("maker #{}", attestation.maker),
            |m| String::from_utf8_lossy(&m.name.0).into_owned(),
        );
    Some(api::Attestation {
        maker,
        serial: hex::encode(&attestation.serial.0),
        attested_at_height: attestation.attested_at,
        revoked_at_height: revoked_at,
    })
}

/// Why `device` may not report or earn now, as the rejection its reports would get.
pub(super) fn refusal(s: &State, device: &DeviceId) -> Option<api::ErrorObject> {
    s.attest_refusal(device).map(|e| api::ErrorObject {
        code: i64::from(TxError::Attest(e.clone()).code()),
        message: e.to_string(),
    })
}

fn device_attestation(state: &RpcState, params: &Params<'_>) -> RpcResult<api::DeviceAttestation> {
    let map = named(params, &["device"])?;
    let id = parse_device(&map, "device")?;
    state.chain.with_state(|s| {
        let device = registered_device(s, &id)?;
        Ok(api::DeviceAttestation {
            device: id.to_string(),
            kind: device.kind.name().to_string(),
            required: s.params().attest.required.contains(device.kind),
            attestation: attestation(s, &id),
            refused: refusal(s, &id),
        })
    })
}

fn makers(state: &RpcState) -> RpcResult<api::AttestMakers> {
    state.chain.with_state(|s| {
        let params = &s.params().attest;
        let makers = params
            .makers
            .iter()
            .map(|m| {
                // Genesis validation parsed every CA, so this only fails on a corrupt store.
                let ca_pem = groundwork_attest::der_to_pem(groundwork_attest::Which::Ca, &m.ca.0)
                    .map_err(|e| unavailable(format!("a maker's CA: {e}")))?;
                Ok(api::AttestMaker {
                    name: String::from_utf8_lossy(&m.name.0).into_owned(),
                    account: m.account.to_string(),
                    kinds: m
                        .kinds
                        .kinds()
                        .iter()
                        .map(|k| k.name().to_string())
                        .collect(),
                    ca_pem,
                })
            })
            .collect::<RpcResult<Vec<_>>>()?;
        Ok(api::AttestMakers {
            makers,
            required: params
                .required
                .kinds()
                .iter()
                .map(|k| k.name().to_string())
                .collect(),
        })
    })
}
