//! Deterministic simulations of a four-validator chain on commonware's simulated network, with
//! transactions flowing: all online; one partitioned then healed; one crashed and restarted
//! from its storage; the whole cluster shut down uncleanly and restarted.
//!
//! Each scenario asserts that no two different blocks are finalized at one height, that every
//! validator ends with the same state root, and that a partitioned or crashed validator catches
//! up. CI runs 20 seeds per scenario; set GROUNDWORK_SIM_SEEDS for more (or fewer).

use commonware_codec::EncodeSize;
use commonware_cryptography::{Signer, ed25519};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Quota, Runner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize};
use groundwork_node::engine::{self, Channels, Node, NodeConfig, channel};
use groundwork_node::mempool::MempoolConfig;
use groundwork_primitives::keys::account_address;
use groundwork_primitives::{AccountTransaction, Address, Amount, CoreCall, Transaction};
use groundwork_state::{Genesis, Params};
use std::collections::BTreeMap;
use std::time::Duration;

const VALIDATORS: u64 = 4;
const FUNDED: u64 = 3;
const BALANCE: u128 = 1_000_000_000;

type Context = deterministic::Context;
type PublicKey = ed25519::PublicKey;

fn validator_key(index: u64) -> ed25519::PrivateKey {
    ed25519::PrivateKey::from_seed(10_000 + index)
}

fn account_key(index: u64) -> ed25519::PrivateKey {
    ed25519::PrivateKey::from_seed(20_000 + index)
}

fn genesis() -> Genesis {
    let mut params = Params::local("groundwork-sim".parse().unwrap());
    params.core.epoch_length_blocks = 10;
    params.core.heartbeat_window_blocks = 5;
    let mut balances: Vec<(Address, Amount)> = (0..FUNDED)
        .map(|i| {
            (
                account_address(&account_key(i).public_key()),
                Amount(BALANCE),
            )
        })
        .collect();
    balances.sort();
    Genesis {
        params,
        genesis_time_ms: 0,
        balances,
        validators: (0..VALIDATORS)
            .map(|i| validator_key(i).public_key())
            .collect(),
    }
}

fn link() -> Link {
    Link {
        latency: Duration::from_millis(10),
        jitter: Duration::from_millis(3),
        success_rate: commonware_utils::probability!(1.0),
    }
}

async fn connect(oracle: &Oracle<PublicKey, Context>, a: &PublicKey, b: &PublicKey) {
    oracle.add_link(a.clone(), b.clone(), link()).await.unwrap();
    oracle.add_link(b.clone(), a.clone(), link()).await.unwrap();
}

async fn disconnect(oracle: &Oracle<PublicKey, Context>, a: &PublicKey, b: &PublicKey) {
    let _ = oracle.remove_link(a.clone(), b.clone()).await;
    let _ = oracle.remove_link(b.clone(), a.clone()).await;
}

async fn start_network(context: &Context) -> Oracle<PublicKey, Context> {
    let keys: Vec<PublicKey> = (0..VALIDATORS)
        .map(|i| validator_key(i).public_key())
        .collect();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: engine::max_message_size(VALIDATORS as usize),
            max_peers_per_set: NZUsize!(VALIDATORS as usize),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        keys.clone(),
    )
    .await;
    network.start();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            connect(&oracle, a, b).await;
        }
    }
    oracle
}

async fn start_validator(
    context: &Context,
    oracle: &Oracle<PublicKey, Context>,
    index: u64,
) -> Node {
    let signer = validator_key(index);
    let control = oracle.control(signer.public_key());
    let quota = Quota::per_second(NZU32!(1_024));
    let mut registered = Vec::new();
    for ch in channel::ALL {
        registered.push(control.register(ch, quota).await.unwrap());
    }
    let channels =
        Channels::from_registered(registered.try_into().unwrap_or_else(|_| unreachable!()));
    let config = NodeConfig {
        genesis: genesis(),
        signer,
        partition_prefix: format!("validator{index}"),
        block_time: Duration::from_millis(50),
        mempool: MempoolConfig::default(),
    };
    let label = ["validator0", "validator1", "validator2", "validator3"][index as usize];
    engine::start(
        context.child(label),
        config,
        control,
        oracle.manager(),
        channels,
    )
    .await
    .unwrap()
}

/// Submits a transfer from a funded account through the given validator.
fn submit_transfer(node: &Node, from: u64, nonce: u64, amount: u128) {
    let key = account_key(from);
    let to = account_address(&account_key((from + 1) % FUNDED).public_key());
    let tx = Transaction::Account(AccountTransaction::sign(
        &key,
        &genesis().params.core.chain_id,
        nonce,
        node.chain.tip().height + 1_000,
        CoreCall::Transfer {
            to,
            amount: Amount(amount),
        },
    ));
    let size = tx.encode_size();
    node.chain.submit(tx, size).unwrap();
}

async fn wait_for_height(context: &Context, nodes: &[&Node], height: u64) {
    loop {
        if nodes.iter().all(|n| n.chain.tip().height >= height) {
            return;
        }
        context.sleep(Duration::from_millis(50)).await;
    }
}

/// Checks agreement at every height up to the lowest tip: one block digest per height, and
/// one state root per height.
async fn assert_agreement(nodes: &[&Node]) -> u64 {
    let common = nodes.iter().map(|n| n.chain.tip().height).min().unwrap();
    let mut blocks: BTreeMap<u64, groundwork_primitives::hash::Digest> = BTreeMap::new();
    for node in nodes {
        for height in 1..=common {
            let block = node
                .marshal
                .get_block(commonware_consensus::types::Height::new(height))
                .await
                .unwrap_or_else(|| panic!("validator lacks finalized block {height}"));
            let digest = groundwork_primitives::hash::hash(&commonware_codec::Encode::encode(
                &block.inner().block().header,
            ));
            assert_eq!(
                *blocks.entry(height).or_insert(digest),
                digest,
                "two blocks finalized at height {height}"
            );
        }
    }
    let roots: Vec<_> = nodes
        .iter()
        .map(|n| n.chain.tip_at(common).map(|t| t.state_root))
        .collect();
    assert!(roots[0].is_some(), "tip {common} not remembered");
    assert!(
        roots.iter().all(|r| *r == roots[0]),
        "state roots differ at height {common}: {roots:?}"
    );
    common
}

/// Total balance moved, to check every submitted transfer landed.
fn balances(node: &Node) -> Vec<u128> {
    (0..FUNDED)
        .map(|i| {
            node.chain.with_state(|s| {
                s.account(&account_address(&account_key(i).public_key()))
                    .balance
                    .0
            })
        })
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Scenario {
    AllOnline,
    PartitionAndHeal,
    CrashAndRestart,
}

fn run(seed: u64, scenario: Scenario) -> String {
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(600)));
    let runner = deterministic::Runner::new(config);
    runner.start(|context| async move {
        let oracle = start_network(&context).await;
        let mut nodes = Vec::new();
        for i in 0..VALIDATORS {
            nodes.push(Some(start_validator(&context, &oracle, i).await));
        }
        let keys: Vec<PublicKey> = (0..VALIDATORS)
            .map(|i| validator_key(i).public_key())
            .collect();

        // Phase 1: transfers through validator 0 and 1.
        for nonce in 0..5 {
            submit_transfer(nodes[0].as_ref().unwrap(), 0, nonce, 10);
            submit_transfer(nodes[1].as_ref().unwrap(), 1, nonce, 20);
        }
        let all: Vec<&Node> = nodes.iter().map(|n| n.as_ref().unwrap()).collect();
        wait_for_height(&context, &all, 8).await;

        match scenario {
            Scenario::AllOnline => {}
            Scenario::PartitionAndHeal => {
                for other in &keys[..3] {
                    disconnect(&oracle, &keys[3], other).await;
                }
                let before = nodes[3].as_ref().unwrap().chain.tip().height;
                let three: Vec<&Node> = nodes[..3].iter().map(|n| n.as_ref().unwrap()).collect();
                for nonce in 5..10 {
                    submit_transfer(three[0], 0, nonce, 10);
                }
                wait_for_height(&context, &three, before + 20).await;
                assert!(
                    nodes[3].as_ref().unwrap().chain.tip().height <= before + 1,
                    "partitioned validator kept finalizing"
                );
                for other in &keys[..3] {
                    connect(&oracle, &keys[3], other).await;
                }
            }
            Scenario::CrashAndRestart => {
                nodes[2].take().unwrap().abort();
                let survivors: Vec<&Node> = [0, 1, 3]
                    .iter()
                    .map(|&i| nodes[i].as_ref().unwrap())
                    .collect();
                let before = survivors[0].chain.tip().height;
                for nonce in 5..10 {
                    submit_transfer(survivors[0], 0, nonce, 10);
                }
                wait_for_height(&context, &survivors, before + 20).await;
                nodes[2] = Some(start_validator(&context, &oracle, 2).await);
            }
        }

        // Everyone, including a healed or restarted validator, reaches a common later height.
        let all: Vec<&Node> = nodes.iter().map(|n| n.as_ref().unwrap()).collect();
        let target = all.iter().map(|n| n.chain.tip().height).max().unwrap() + 5;
        wait_for_height(&context, &all, target).await;
        let common = assert_agreement(&all).await;
        assert!(common >= target);
        let expected_transfers = match scenario {
            Scenario::AllOnline => 5,
            _ => 10,
        };
        // Account 0 sent `expected_transfers` transfers of 10 plus fees; all validators agree.
        let fee = genesis().params.core.transaction_fee.0;
        for n in &all {
            assert_eq!(
                n.chain.with_state(|s| s
                    .account(&account_address(&account_key(0).public_key()))
                    .nonce),
                expected_transfers
            );
            assert_eq!(balances(n), balances(all[0]));
        }
        // Account 0 only sends (to account 1).
        assert_eq!(
            balances(all[0])[0],
            BALANCE - expected_transfers as u128 * (10 + fee)
        );
        context.auditor().state()
    })
}

/// Runs the cluster, stops the whole runtime at an arbitrary point (unsynced writes are lost as
/// in a power cut), restarts every validator from its storage, and checks it continues.
fn run_cluster_restart(seed: u64) {
    if std::env::var("GROUNDWORK_SIM_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env(
                "GROUNDWORK_SIM_LOG",
            ))
            .try_init();
    }
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(600)));
    let (stopped_at, checkpoint) =
        deterministic::Runner::new(config).start_and_recover(|context| async move {
            let oracle = start_network(&context).await;
            let mut nodes = Vec::new();
            for i in 0..VALIDATORS {
                nodes.push(start_validator(&context, &oracle, i).await);
            }
            for nonce in 0..5 {
                submit_transfer(&nodes[0], 0, nonce, 10);
            }
            let all: Vec<&Node> = nodes.iter().collect();
            wait_for_height(&context, &all, 10).await;
            for node in &all {
                assert_eq!(
                    node.chain.with_state(|s| s
                        .account(&account_address(&account_key(0).public_key()))
                        .nonce),
                    5
                );
            }
            // Stop at a seed-dependent moment, mid-flight.
            context.sleep(Duration::from_millis(seed % 7 * 13)).await;
            all.iter().map(|n| n.chain.tip().height).min().unwrap()
        });
    deterministic::Runner::from(checkpoint).start(|context| async move {
        let oracle = start_network(&context).await;
        let mut nodes = Vec::new();
        for i in 0..VALIDATORS {
            nodes.push(start_validator(&context, &oracle, i).await);
        }
        for node in &nodes {
            // Acknowledged blocks were committed before the acknowledgement, so nothing is lost.
            assert!(
                node.chain.tip().height >= stopped_at,
                "restarted below the height it had executed"
            );
        }
        for nonce in 5..10 {
            submit_transfer(&nodes[1], 0, nonce, 10);
        }
        let all: Vec<&Node> = nodes.iter().collect();
        if std::env::var("GROUNDWORK_SIM_LOG").is_ok() {
            for _ in 0..20 {
                eprintln!(
                    "tips {:?}",
                    all.iter().map(|n| n.chain.tip().height).collect::<Vec<_>>()
                );
                context.sleep(Duration::from_secs(2)).await;
            }
        }
        wait_for_height(&context, &all, stopped_at + 15).await;
        assert_agreement(&all).await;
        for node in &all {
            assert_eq!(
                node.chain.with_state(|s| s
                    .account(&account_address(&account_key(0).public_key()))
                    .nonce),
                10
            );
        }
    });
}

/// Seeds to run: 0..GROUNDWORK_SIM_SEEDS (default 20), or just GROUNDWORK_SIM_SEED.
fn seeds() -> std::ops::Range<u64> {
    if let Some(seed) = std::env::var("GROUNDWORK_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed..seed + 1;
    }
    0..std::env::var("GROUNDWORK_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn all_online() {
    for seed in seeds() {
        run(seed, Scenario::AllOnline);
    }
}

#[test]
fn one_partitioned_then_healed() {
    for seed in seeds() {
        run(seed, Scenario::PartitionAndHeal);
    }
}

#[test]
fn one_crashed_and_restarted_from_storage() {
    for seed in seeds() {
        run(seed, Scenario::CrashAndRestart);
    }
}

#[test]
fn whole_cluster_shut_down_uncleanly_and_restarted() {
    for seed in seeds() {
        run_cluster_restart(seed);
    }
}

#[test]
fn same_seed_same_run() {
    assert_eq!(run(7, Scenario::AllOnline), run(7, Scenario::AllOnline));
}
