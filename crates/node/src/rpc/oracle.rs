//! The oracle module: `oracle_getPrice`.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("oracle_getPrice", |params, state, _| {
        no_params(&params)?;
        Ok::<api::OraclePrice, ErrorObjectOwned>(price(state))
    })?;
    module.register_alias("oracle_price", "oracle_getPrice")?;
    Ok(())
}

pub(super) fn figures(p: &groundwork_state::oracle::OraclePrice) -> api::PriceFigures {
    api::PriceFigures {
        median: p.median,
        average: p.average,
        burn: p.burn(),
        mint: p.mint(),
        fresh: p.fresh,
    }
}

pub(super) fn price(state: &RpcState) -> api::OraclePrice {
    state.chain.with_state(|s| {
        let params = &s.params().oracle;
        let next = s.height().saturating_add(1);
        let (price, unavailable) = match s.oracle_price() {
            Ok(p) => (Some(figures(&p)), None),
            Err(e) => (
                None,
                Some(api::ErrorObject {
                    code: i64::from(TxError::Oracle(e.clone()).code()),
                    message: e.to_string(),
                }),
            ),
        };
        api::OraclePrice {
            price,
            unavailable,
            quorum: params.quorum,
            max_age_blocks: params.max_age_blocks,
            smoothing_window_blocks: params.smoothing_window_blocks,
            submissions: s
                .oracle_submissions()
                .into_iter()
                .map(|(oracle, sub)| api::OracleSubmission {
                    oracle: oracle.to_string(),
                    micro_usd_per_token: sub.micro_usd_per_token,
                    height: sub.height,
                    fresh: sub.height.saturating_add(params.max_age_blocks) >= next,
                })
                .collect(),
        }
    })
}
