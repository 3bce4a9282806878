//! The `chain_*` and `state_*` methods: status, blocks, the block subscription, state proofs.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("chain_status", |params, state, _| {
        no_params(&params)?;
        Ok::<api::ChainStatus, ErrorObjectOwned>(chain_status(state))
    })?;
    module.register_async_method("chain_getBlock", |params, state, _| block(state, params))?;
    module.register_async_method("state_getProof", |params, state, _| {
        state_proof(state, params)
    })?;
    module.register_alias("state_proof", "state_getProof")?;
    module.register_subscription(
        "chain_subscribeBlocks",
        "chain_block",
        "chain_unsubscribeBlocks",
        |_, pending, state, _| blocks_subscription(pending, state),
    )?;
    Ok(())
}

pub(super) fn block_summary_answer(summary: &BlockSummary) -> api::BlockSummary {
    api::BlockSummary {
        height: summary.tip.height,
        hash: digest_hex(&summary.tip.block),
        timestamp_ms: summary.tip.timestamp_ms,
        state_root: digest_hex(&summary.tip.state_root),
        transactions: u64::from(summary.transactions),
        failed: u64::from(summary.failed),
        epoch_ended: summary.epoch_ended,
    }
}

// ---- methods ---------------------------------------------------------------------------------

pub(super) fn chain_status(state: &RpcState) -> api::ChainStatus {
    let tip = state.chain.tip();
    state.chain.with_state(|s| {
        let params = s.params();
        let (coverage, challenges) = (params.coverage, params.challenges);
        api::ChainStatus {
            chain_id: params.core.chain_id.to_string(),
            height: tip.height,
            finalized_height: tip.height,
            state_root: digest_hex(&tip.state_root),
            block: digest_hex(&tip.block),
            timestamp_ms: tip.timestamp_ms,
            epoch: s.epoch_of(tip.height + 1),
            epoch_length_blocks: params.core.epoch_length_blocks,
            heartbeat_window_blocks: params.core.heartbeat_window_blocks,
            heartbeat_max_age_blocks: params.core.heartbeat_max_age_blocks,
            coverage: api::CoverageStatus {
                share_bps: coverage.share_bps,
                beacon_interval_blocks: coverage.beacon_interval_blocks,
                witness_window_blocks: coverage.witness_window_blocks,
            },
            challenges: api::ChallengesStatus {
                bond: BaseUnits(challenges.bond.0),
                answer_window_blocks: challenges.answer_window_blocks,
                slash_bps: challenges.slash_bps,
                min_answer_witnesses: challenges.min_answer_witnesses,
            },
            token: api::TokenInfo {
                symbol: params.core.token_symbol.to_string(),
                decimals: params.core.token_decimals,
            },
        }
    })
}

pub(super) async fn state_proof(
    state: Arc<RpcState>,
    params: Params<'static>,
) -> RpcResult<api::StateProof> {
    let map = named(&params, &["account", "device"])?;
    let (account, device, key) = match (map.contains_key("account"), map.contains_key("device")) {
        (true, false) => {
            let address = parse_address(&map, "account")?;
            (Some(address.to_string()), None, account_key(&address))
        }
        (false, true) => {
            let id = parse_device(&map, "device")?;
            (None, Some(id.to_string()), device_key(&id))
        }
        _ => {
            return Err(invalid(
                "account",
                "give exactly one of `account` or `device`",
            ));
        }
    };
    let proof = state.prover.prove(key).await.map_err(|e| match e {
        ProofError::NotFound => not_found(match (&account, &device) {
            (Some(a), _) => format!("nothing is stored for account {a}"),
            (_, d) => format!(
                "nothing is stored for device {}",
                d.as_deref().unwrap_or("")
            ),
        }),
        other => unavailable(other),
    })?;
    // For showing amounts in tokens; not part of what the proof proves.
    let token = state.chain.with_state(|s| {
        let p = s.params();
        api::TokenInfo {
            symbol: p.core.token_symbol.to_string(),
            decimals: p.core.token_decimals,
        }
    });
    Ok(api::StateProof {
        account,
        device,
        height: proof.height,
        root: digest_hex(&proof.root),
        key: hex::encode(&proof.key),
        value: hex::encode(&proof.value),
        proof: hex::encode(&proof.proof),
        token: Some(token),
    })
}

/// A block by height (number) or hash (64 hex characters).
pub(super) async fn block(state: Arc<RpcState>, params: Params<'static>) -> RpcResult<api::Block> {
    let map = named(&params, &["block"])?;
    let wanted = map
        .get("block")
        .cloned()
        .ok_or_else(|| invalid("block", "missing: give a height or a block hash"))?;
    let tip = state.chain.tip().height;
    let (height, hash) = match &wanted {
        Value::Number(n) => (
            n.as_u64()
                .ok_or_else(|| invalid("block", "a height is a non-negative integer"))?,
            None,
        ),
        Value::String(text) => {
            let digest = digest_from_hex(text)
                .ok_or_else(|| invalid("block", "a hash is 64 hex characters"))?;
            let (height, _) = state
                .marshal
                .get_info(&digest)
                .await
                .ok_or_else(|| not_found(format!("no finalized block with hash {text}")))?;
            (height.get(), Some(digest))
        }
        _ => {
            return Err(invalid(
                "block",
                "give a height (number) or a hash (string)",
            ));
        }
    };
    let missing = || not_found(format!("no finalized block {wanted}"));
    if height > tip {
        return Err(missing());
    }
    let block = state
        .marshal
        .get_block(Height::new(height))
        .await
        .ok_or_else(missing)?;
    let block = block.inner().block();
    if hash.is_some_and(|h| h != block.digest()) {
        return Err(missing());
    }
    let header = &block.header;
    Ok(api::Block {
        hash: digest_hex(&block.digest()),
        height: header.height,
        parent: digest_hex(&header.parent),
        timestamp_ms: header.timestamp_ms,
        proposer: hex::encode(header.proposer.as_ref()),
        state_root: digest_hex(&header.state_root),
        transactions_root: digest_hex(&header.transactions_root),
        transactions: block
            .transactions
            .iter()
            .map(|t| digest_hex(&t.hash()))
            .collect(),
        results: block
            .transactions
            .iter()
            .map(|t| {
                state
                    .chain
                    .inclusion(&t.hash())
                    .and_then(|i| i.error_code.map(u32::from))
            })
            .collect(),
    })
}

// ---- subscriptions ---------------------------------------------------------------------------

/// Follows executed blocks from the next one on, in order, and sends what `message` makes of
/// each (nothing for `None`) until the subscriber leaves. A subscriber that falls more than the
/// remembered window behind skips to the oldest block still remembered.
pub(super) async fn follow_blocks<M: serde::Serialize>(
    sink: SubscriptionSink,
    state: Arc<RpcState>,
    mut message: impl FnMut(&BlockSummary) -> Option<M>,
) {
    let mut tips = state.chain.subscribe();
    let mut next = state.chain.tip().height + 1;
    loop {
        tokio::select! {
            _ = sink.closed() => return,
            changed = tips.changed() => if changed.is_err() { return },
        }
        let tip = state.chain.tip().height;
        while next <= tip {
            let summary = state.chain.summary_at(next);
            next += 1;
            let Some(value) = summary.as_ref().and_then(&mut message) else {
                continue;
            };
            let Ok(raw) = serde_json::value::to_raw_value(&value) else {
                return;
            };
            if sink.send(raw).await.is_err() {
                return;
            }
        }
    }
}

pub(super) async fn blocks_subscription(pending: PendingSubscriptionSink, state: Arc<RpcState>) {
    if let Ok(sink) = pending.accept().await {
        follow_blocks(sink, state, |summary| Some(block_summary_answer(summary))).await;
    }
}
