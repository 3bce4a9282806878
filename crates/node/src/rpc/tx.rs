//! The `tx_*` methods: submitting transactions and looking them up.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("tx_submit", |params, state, _| {
        submit(state, param(&params, "tx")?)
    })?;
    module.register_method("tx_submitBatch", |params, state, _| {
        submit_batch(state, param(&params, "txs")?)
    })?;
    module.register_method("tx_get", |params, state, _| {
        transaction(state, param(&params, "hash")?)
    })?;
    Ok(())
}

pub(super) fn decode_transaction(
    field: &str,
    text: &str,
) -> Result<(Transaction, usize), ErrorObjectOwned> {
    let bytes = hex::decode(text.trim_start_matches("0x"))
        .map_err(|e| invalid(field, format!("not hex: {e}")))?;
    let transaction = Transaction::decode_untrusted(&bytes).map_err(|e| {
        let reason = groundwork_primitives::describe_decode_error(&e);
        invalid(field, format!("not a transaction: {reason}"))
    })?;
    Ok((transaction, bytes.len()))
}

pub(super) fn submit(state: &RpcState, text: String) -> RpcResult<api::Submitted> {
    let (transaction, bytes) = decode_transaction("tx", &text)?;
    let hash = state
        .chain
        .submit(transaction, bytes)
        .map_err(|e| refused(&e))?;
    Ok(api::Submitted {
        hash: digest_hex(&hash),
    })
}

pub(super) fn submit_batch(
    state: &RpcState,
    items: Vec<String>,
) -> RpcResult<Vec<api::SubmitResult>> {
    if items.len() > MAX_SUBMIT_BATCH {
        return Err(invalid(
            "txs",
            format!("{} transactions, at most {MAX_SUBMIT_BATCH}", items.len()),
        ));
    }
    let decoded = items
        .iter()
        .enumerate()
        .map(|(index, text)| decode_transaction(&format!("txs[{index}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(state
        .chain
        .submit_batch(decoded)
        .into_iter()
        .map(|result| match result {
            Ok(hash) => api::SubmitResult::Accepted {
                hash: digest_hex(&hash),
            },
            Err(error) => {
                let object = refused(&error);
                api::SubmitResult::Refused {
                    error: api::ErrorObject {
                        code: i64::from(object.code()),
                        message: object.message().to_string(),
                    },
                }
            }
        })
        .collect())
}

pub(super) fn transaction(state: &RpcState, text: String) -> RpcResult<api::TxReceipt> {
    let hash: Digest =
        digest_from_hex(&text).ok_or_else(|| invalid("hash", "expected 64 hex characters"))?;
    let inclusion = state
        .chain
        .inclusion(&hash)
        .ok_or_else(|| not_found(format!("transaction {text} is not in a recent block")))?;
    Ok(api::TxReceipt {
        hash: digest_hex(&hash),
        height: inclusion.height,
        ok: inclusion.error_code.is_none(),
        error_code: inclusion.error_code.map(u32::from),
        error: inclusion.error,
    })
}
