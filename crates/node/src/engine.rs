//! Wires one validator together: the state store and executor, marshal (ordering, backfill,
//! archives), buffered broadcast of blocks, simplex consensus, and transaction gossip.
//!
//! Generic over the runtime and the p2p network, so tests run it on the deterministic runtime
//! with a simulated network and the binary runs it on tokio with authenticated p2p.

use crate::application::ChainApplication;
use crate::block::ChainBlock;
use crate::chain::{Chain, Tip};
use crate::executor::{Executor, Prover};
use crate::gossip;
use crate::mempool::MempoolConfig;
use crate::storage::{StateStore, StoredTip};
use commonware_broadcast::buffered;
use commonware_consensus::marshal::{
    self,
    core::Actor as MarshalActor,
    standard::{Inline, Standard},
};
use commonware_consensus::simplex::{self, elector::RoundRobin, scheme::ed25519::Scheme};
use commonware_consensus::types::{Epoch, FixedEpocher, ViewDelta};
use commonware_cryptography::certificate::{ConstantProvider, Verifier as _};
use commonware_cryptography::{Digested, Digestible, Sha256, Signer, ed25519};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::ordered::Set;
use commonware_utils::vec::NonEmptyVec;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize};
use groundwork_state::{Genesis, State};
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// The ed25519 public key of a validator.
pub type PublicKey = ed25519::PublicKey;
/// Marshal's handle, for reading finalized blocks.
pub type MarshalMailbox = marshal::core::Mailbox<Scheme, Standard<ChainBlock>>;

/// p2p channel numbers. Part of the network protocol: never renumber.
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BACKFILL: u64 = 3;
    pub const BLOCKS: u64 = 4;
    pub const TRANSACTIONS: u64 = 5;
    pub const ALL: [u64; 6] = [
        VOTES,
        CERTIFICATES,
        RESOLVER,
        BACKFILL,
        BLOCKS,
        TRANSACTIONS,
    ];
}

/// Namespace of consensus signatures; the chain id is appended.
const CONSENSUS_NAMESPACE: &str = "groundwork/consensus/";

/// The six registered channels of one validator.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub backfill: (S, R),
    pub blocks: (S, R),
    pub transactions: (S, R),
}

impl<S, R> Channels<S, R> {
    /// Builds the set from channels registered in the order of [`channel::ALL`].
    pub fn from_registered(registered: [(S, R); 6]) -> Self {
        let [
            votes,
            certificates,
            resolver,
            backfill,
            blocks,
            transactions,
        ] = registered;
        Self {
            votes,
            certificates,
            resolver,
            backfill,
            blocks,
            transactions,
        }
    }
}

/// What a validator needs to start.
#[derive(Clone)]
pub struct NodeConfig {
    pub genesis: Genesis,
    pub signer: ed25519::PrivateKey,
    /// Prefix of every storage partition of this validator.
    pub partition_prefix: String,
    /// Least time between blocks; zero proposes as fast as consensus allows.
    pub block_time: Duration,
    pub mempool: MempoolConfig,
}

/// Why a validator could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("this key is not a validator in the genesis")]
    NotAValidator,
    #[error("genesis has an invalid validator set: {0}")]
    ValidatorSet(#[from] commonware_utils::ordered::Error),
    #[error("genesis has no validators")]
    NoValidators,
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
    #[error("stored state does not load: {0}")]
    Load(#[from] groundwork_state::LoadError),
    #[error("stored state is at block {stored_height} but its chain record says {state_height}")]
    Inconsistent {
        stored_height: u64,
        state_height: u64,
    },
    #[error("archive: {0}")]
    Archive(#[from] commonware_storage::archive::Error),
}

/// A running validator.
pub struct Node {
    pub chain: Arc<Chain>,
    pub marshal: MarshalMailbox,
    /// Answers state-proof requests (from the executor, between blocks).
    pub prover: Prover,
    pub public_key: PublicKey,
    handles: Vec<Handle<()>>,
}

impl Node {
    /// Stops every task of this validator (as a crash would: nothing is flushed).
    pub fn abort(self) {
        for handle in self.handles {
            handle.abort();
        }
    }
}

/// Size of the largest message any component sends, for the p2p message limit.
pub fn max_message_size(validators: usize) -> u32 {
    let n = validators as u32;
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<Scheme, groundwork_primitives::hash::Digest>(n),
        marshal::max_payload_size::<Standard<ChainBlock>, Scheme>(n, &()),
        gossip::MAX_GOSSIP_BYTES,
    ])
}

/// Page cache shared by storage of one validator.
fn page_cache() -> CacheRef {
    CacheRef::new(NZU16!(4_096), NZUsize!(4_096))
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: 65_536,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1 << 16,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache,
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: 1 << 30,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: NZU64!(65_536),
        freezer_key_write_buffer: NZUsize!(1 << 20),
        freezer_value_write_buffer: NZUsize!(1 << 20),
        ordinal_write_buffer: NZUsize!(1 << 20),
        replay_buffer: NZUsize!(1 << 20),
        codec_config,
    }
}

/// Loads the executed state from the store, or writes the genesis state into a new store.
async fn load_state<E: Storage + Clock + Metrics + Spawner>(
    genesis: &Genesis,
    store: &mut StateStore<E>,
) -> Result<(State, Tip), NodeError> {
    match store.tip().await? {
        None => {
            let state = State::from_genesis(genesis);
            let digest = state.genesis_digest();
            let entries = state.entries();
            let writes = entries
                .iter()
                .map(|(k, v)| (k.as_slice(), Some(v.as_slice())));
            let root = store
                .apply(
                    writes,
                    StoredTip {
                        height: 0,
                        block: digest,
                    },
                )
                .await?;
            let tip = Tip {
                height: 0,
                block: digest,
                timestamp_ms: genesis.genesis_time_ms,
                state_root: root,
            };
            Ok((state, tip))
        }
        Some(stored) => {
            let state = State::from_entries(genesis, store.entries().await?)?;
            let info = state.chain_info();
            if info.height != stored.height || info.last_block != stored.block {
                return Err(NodeError::Inconsistent {
                    stored_height: stored.height,
                    state_height: info.height,
                });
            }
            let tip = Tip {
                height: stored.height,
                block: stored.block,
                timestamp_ms: info.last_timestamp_ms,
                state_root: store.root()?,
            };
            Ok((state, tip))
        }
    }
}

/// Starts a validator. Storage is reopened if it exists, so calling this again after a crash
/// resumes from the last committed block.
pub async fn start<E, B, P, S, R>(
    context: E,
    config: NodeConfig,
    blocker: B,
    peers: P,
    channels: Channels<S, R>,
) -> Result<Node, NodeError>
where
    E: Spawner + Clock + Storage + Metrics + rand_core::CryptoRng,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let genesis = config.genesis.clone();
    let public_key = config.signer.public_key();
    let participants =
        Set::try_from(genesis.validators.clone()).map_err(NodeError::ValidatorSet)?;
    let namespace = format!("{CONSENSUS_NAMESPACE}{}", genesis.params.core.chain_id);
    let scheme = Scheme::signer(namespace.as_bytes(), participants, config.signer.clone())
        .ok_or(NodeError::NotAValidator)?;
    let prefix = config.partition_prefix.clone();
    let page_cache = page_cache();

    // State: reopen or initialise, then share.
    let mut store = StateStore::open(context.child("state"), &prefix, page_cache.clone()).await?;
    let (state, tip) = load_state(&genesis, &mut store).await?;
    info!(height = tip.height, root = %hex::encode(tip.state_root.as_ref()), "state loaded");
    let (chain, gossip_queue) = Chain::new(genesis.clone(), state, tip, config.mempool);
    let chain = Arc::new(chain);
    let (executor, executor_mailbox, speculator, prover) =
        Executor::new(context.child("executor"), chain.clone(), store);

    // Block dissemination and backfill.
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: public_key.clone(),
            mailbox_size: NZUsize!(1_024),
            deque_size: 10,
            priority: false,
            codec_config: (),
            peer_provider: peers.clone(),
            strategy: Sequential,
        },
    );
    let resolver = marshal::resolver::p2p::init(
        context.child("backfill"),
        marshal::resolver::p2p::Config {
            public_key: public_key.clone(),
            peer_provider: peers.clone(),
            blocker: blocker.clone(),
            mailbox_size: NZUsize!(1_024),
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    // Finalized blocks and certificates.
    let finalizations = immutable::Archive::init(
        context.child("finalizations"),
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            Scheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .map_err(NodeError::Archive)?;
    let blocks = immutable::Archive::init(
        context.child("blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), ()),
    )
    .await
    .map_err(NodeError::Archive)?;

    // One epoch for the life of the chain: the validator set is fixed in genesis.
    let epocher = FixedEpocher::new(NZU64!(u64::MAX));
    let genesis_block = ChainBlock::genesis(&genesis);
    let genesis_digest = genesis_block.digest();
    let genesis_block = Digested::compute(genesis_block, &Sequential).await;
    let (marshal_actor, marshal_mailbox, _floor): (_, MarshalMailbox, _) = MarshalActor::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: ConstantProvider::<Scheme, Epoch>::new(scheme.clone()),
            epocher: epocher.clone(),
            start: marshal::Start::Genesis(genesis_block),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: NZUsize!(1_024),
            view_retention: ViewDelta::new(10),
            prunable_items_per_section: NZU64!(4_096),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(1 << 20),
            key_write_buffer: NZUsize!(1 << 20),
            value_write_buffer: NZUsize!(1 << 20),
            block_codec_config: (),
            max_repair: NZUsize!(16),
            max_pending_acks: NZUsize!(16),
            strategy: Sequential,
        },
    )
    .await;

    let validators =
        NonEmptyVec::try_from(genesis.validators.clone()).map_err(|_| NodeError::NoValidators)?;
    let application = ChainApplication::new(
        chain.clone(),
        marshal_mailbox.clone(),
        speculator,
        validators,
        config.block_time,
    );
    let wrapper = Inline::new(
        context.child("application"),
        application,
        marshal_mailbox.clone(),
        epocher,
    );
    let leader_timeout = config.block_time + Duration::from_secs(2);
    let engine = simplex::Engine::new(
        context.child("consensus"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: wrapper,
            track_historical_votes: false,
            strategy: Sequential,
            partition: format!("{prefix}-consensus-epoch-0"),
            mailbox_size: NZUsize!(1_024),
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1 << 20),
            write_buffer: NZUsize!(1 << 20),
            page_cache,
            leader_timeout,
            certification_timeout: leader_timeout + Duration::from_secs(1),
            timeout_retry: Duration::from_secs(1),
            view_retention: ViewDelta::new(10),
            skip: simplex::SkipPolicy::Enabled {
                timeout: leader_timeout + Duration::from_secs(4),
                budget: simplex::SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            forward: simplex::ForwardPolicy::Disabled,
        },
    );

    let gossip_chain = chain.clone();
    let transactions = channels.transactions;
    // Start order: the consumers of consensus output before consensus itself.
    let handles = vec![
        context.child("execution").spawn(move |_| executor.run()),
        broadcast_engine.start(channels.blocks),
        marshal_actor.start(executor_mailbox, buffer, resolver),
        engine.start(channels.votes, channels.certificates, channels.resolver),
        context
            .child("gossip")
            .spawn(move |_| gossip::run(gossip_chain, gossip_queue, transactions)),
    ];
    Ok(Node {
        chain,
        marshal: marshal_mailbox,
        prover,
        public_key,
        handles,
    })
}
