//! The `chain_*` and `state_*` methods: status, blocks, the block subscription, state proofs.

use super::*;

/// Registers this file's methods.
pub(super) fn register(
    module: &mut RpcModule<RpcState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("chain_status", |params, state, _| {
        no_params(&params)?;
        Ok::<Value, ErrorObjectOwned>(chain_status(state))
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

pub(super) fn block_summary_json(summary: &BlockSummary) -> Value {
    json!({
        "height": summary.tip.height,
        "hash": digest_hex(&summary.tip.block),
        "timestamp_ms": summary.tip.timestamp_ms,
        "state_root": digest_hex(&summary.tip.state_root),
        "transactions": summary.transactions,
        "failed": summary.failed,
        "epoch_ended": summary.epoch_ended,
    })
}

// ---- methods ---------------------------------------------------------------------------------

pub(super) fn chain_status(state: &RpcState) -> Value {
    let tip = state.chain.tip();
    let (chain_id, epoch, symbol, decimals, epoch_length, window, max_age, coverage, challenges) =
        state.chain.with_state(|s| {
            let params = s.params();
            (
                params.chain_id.to_string(),
                s.epoch_of(tip.height + 1),
                params.token_symbol.clone(),
                params.token_decimals,
                params.epoch_length_blocks,
                params.heartbeat_window_blocks,
                params.heartbeat_max_age_blocks,
                params.coverage,
                params.challenges,
            )
        });
    json!({
        "chain_id": chain_id,
        "height": tip.height,
        "finalized_height": tip.height,
        "state_root": digest_hex(&tip.state_root),
        "block": digest_hex(&tip.block),
        "timestamp_ms": tip.timestamp_ms,
        "epoch": epoch,
        "epoch_length_blocks": epoch_length,
        "heartbeat_window_blocks": window,
        "heartbeat_max_age_blocks": max_age,
        "coverage": {
            "share_bps": coverage.share_bps,
            "beacon_interval_blocks": coverage.beacon_interval_blocks,
            "witness_window_blocks": coverage.witness_window_blocks,
        },
        "challenges": {
            "bond": challenges.bond.0.to_string(),
            "answer_window_blocks": challenges.answer_window_blocks,
            "slash_bps": challenges.slash_bps,
            "min_answer_witnesses": challenges.min_answer_witnesses,
        },
        "token": { "symbol": symbol, "decimals": decimals },
    })
}

pub(super) async fn state_proof(state: Arc<RpcState>, params: Params<'static>) -> RpcResult {
    let map = named(&params, &["account", "device"])?;
    let (subject, key) = match (map.contains_key("account"), map.contains_key("device")) {
        (true, false) => {
            let address = parse_address(&map, "account")?;
            (
                json!({ "account": address.to_string() }),
                account_key(&address),
            )
        }
        (false, true) => {
            let id = parse_device(&map, "device")?;
            (json!({ "device": id.to_string() }), device_key(&id))
        }
        _ => {
            return Err(invalid(
                "account",
                "give exactly one of `account` or `device`",
            ));
        }
    };
    let proof = state.prover.prove(key).await.map_err(|e| match e {
        ProofError::NotFound => not_found(format!("nothing is stored for {subject}")),
        other => ErrorObject::owned(code::UNAVAILABLE, other.to_string(), None::<()>),
    })?;
    // For showing amounts in tokens; not part of what the proof proves.
    let (symbol, decimals) = state.chain.with_state(|s| {
        let p = s.params();
        (p.token_symbol.clone(), p.token_decimals)
    });
    let mut answer = json!({
        "height": proof.height,
        "token": { "symbol": symbol, "decimals": decimals },
        "root": digest_hex(&proof.root),
        "key": hex::encode(&proof.key),
        "value": hex::encode(&proof.value),
        "proof": hex::encode(&proof.proof),
    });
    if let (Value::Object(answer), Value::Object(subject)) = (&mut answer, subject) {
        answer.extend(subject);
    }
    Ok(answer)
}

/// A block by height (number) or hash (64 hex characters).
pub(super) async fn block(state: Arc<RpcState>, params: Params<'static>) -> RpcResult {
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
    Ok(json!({
        "hash": digest_hex(&block.digest()),
        "height": header.height,
        "parent": digest_hex(&header.parent),
        "timestamp_ms": header.timestamp_ms,
        "proposer": hex::encode(header.proposer.as_ref()),
        "state_root": digest_hex(&header.state_root),
        "transactions_root": digest_hex(&header.transactions_root),
        "transactions": block.transactions.iter().map(|t| digest_hex(&t.hash())).collect::<Vec<_>>(),
        // Rejection code per transaction (null = applied), while receipts are still kept.
        "results": block
            .transactions
            .iter()
            .map(|t| state.chain.inclusion(&t.hash()).map(|i| json!(i.error_code)).unwrap_or(Value::Null))
            .collect::<Vec<_>>(),
    }))
}

// ---- subscriptions ---------------------------------------------------------------------------

/// Follows executed blocks from the next one on, in order, and sends what `message` makes of
/// each (nothing for `None`) until the subscriber leaves. A subscriber that falls more than the
/// remembered window behind skips to the oldest block still remembered.
pub(super) async fn follow_blocks(
    sink: SubscriptionSink,
    state: Arc<RpcState>,
    mut message: impl FnMut(&BlockSummary) -> Option<Value>,
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
        follow_blocks(sink, state, |summary| Some(block_summary_json(summary))).await;
    }
}
