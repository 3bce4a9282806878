//! Accounts, the core's record of balances, nonces and credits: `account_get`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("account_get", |params, state, _| account(state, &params))?;
    Ok(())
}

pub(super) fn account(state: &RpcState, params: &Params<'_>) -> RpcResult<api::Account> {
    let map = named(params, &["address"])?;
    let address = parse_address(&map, "address")?;
    let account = state.chain.with_state(|s| s.account(&address));
    Ok(api::Account {
        address: address.to_string(),
        balance: BaseUnits(account.balance.0),
        nonce: account.nonce,
        credits: account.credits,
        pending_nonce: state.chain.pending_nonce(&address),
    })
}
