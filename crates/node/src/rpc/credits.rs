//! The credits module: `credits_get`, `credits_quote`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("credits_get", |params, state, _| {
        no_params(&params)?;
        Ok::<api::CreditTotals, ErrorObjectOwned>(totals(state))
    })?;
    module.register_method("credits_quote", |params, state, _| quote(state, &params))?;
    Ok(())
}

pub(super) fn epoch_credits(c: &groundwork_state::credits::CreditCounters) -> api::EpochCredits {
    api::EpochCredits {
        minted: c.minted,
        spent: c.spent,
        tokens_burned: BaseUnits(c.tokens_burned.0),
    }
}

fn totals(state: &RpcState) -> api::CreditTotals {
    state.chain.with_state(|s| {
        let t = s.credit_totals();
        api::CreditTotals {
            credit_price_micro_usd: s.params().credits.credit_price_micro_usd,
            minted: t.minted,
            spent: t.spent,
            outstanding: t.outstanding(),
            tokens_burned: BaseUnits(t.tokens_burned.0),
        }
    })
}

/// What `credits` would cost in the next block: refused with 6 000 + the rejection code a
/// purchase would get (no price, too many credits).
fn quote(state: &RpcState, params: &Params<'_>) -> RpcResult<api::CreditsQuote> {
    let map = named(params, &["credits"])?;
    let credits: u64 = required(&map, "credits")?;
    state.chain.with_state(|s| {
        let (cost, price) = s.quote_credits(credits).map_err(|e| quote_refused(&e))?;
        Ok(api::CreditsQuote {
            credits,
            credit_price_micro_usd: s.params().credits.credit_price_micro_usd,
            burn_price_micro_usd: price.burn(),
            tokens: BaseUnits(cost.0),
        })
    })
}
