//! Uptime: a heartbeat once per heartbeat window.
//!
//! The chain counts one heartbeat per window (a second is refused), and a heartbeat names a
//! recent block, so it proves the device was up after that block was made. The prover sends
//! one as soon as the window of the next block begins.

use crate::ChainView;
use groundwork_primitives::{DeviceKey, DeviceTransaction, UptimeReport};

/// Decides when a device's heartbeat is due, and signs it.
#[derive(Clone, Debug, Default)]
pub struct UptimeProver {
    /// The window the last heartbeat was signed for.
    last_window: Option<u64>,
}

impl UptimeProver {
    pub fn new() -> Self {
        Self::default()
    }

    /// The heartbeat window the next block falls in (`None` if the chain has no windows).
    pub fn window(view: &ChainView) -> Option<u64> {
        view.height.checked_div(view.heartbeat_window_blocks)
    }

    /// Whether this window still lacks a heartbeat.
    pub fn due(&self, view: &ChainView) -> bool {
        Self::window(view).is_some_and(|window| self.last_window != Some(window))
    }

    /// The heartbeat due now, if any: signed on the newest block, and the window counted
    /// as done.
    pub fn prove(&mut self, key: &DeviceKey, view: &ChainView) -> Option<DeviceTransaction> {
        if !self.due(view) {
            return None;
        }
        self.last_window = Self::window(view);
        Some(Self::heartbeat(key, view))
    }

    /// A heartbeat on the newest block, due or not (the agent queues them while offline).
    pub fn heartbeat(key: &DeviceKey, view: &ChainView) -> DeviceTransaction {
        UptimeReport::sign_heartbeat(key, &view.chain_id, view.block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_primitives::keys::KeyScheme;

    use crate::test_view as view;

    #[test]
    fn one_heartbeat_per_window_on_the_newest_block() {
        let key = DeviceKey::from_seed(KeyScheme::Ed25519, 7);
        let mut prover = UptimeProver::new();
        let first = prover
            .prove(&key, &view(9))
            .expect("the first window is due");
        assert!(first.verify_signature(&"groundwork-test".parse().unwrap()));
        // At height 9 the next block, 10, is still in window 0; block 11 is in window 1.
        assert!(prover.prove(&key, &view(9)).is_none());
        assert!(prover.prove(&key, &view(10)).is_some(), "window 1 begins");
        assert!(prover.prove(&key, &view(19)).is_none());
        assert!(prover.prove(&key, &view(20)).is_some());
        assert_eq!(
            UptimeProver::heartbeat(&key, &view(20)),
            UptimeReport::sign_heartbeat(&key, &view(20).chain_id, view(20).block)
        );
    }

    #[test]
    fn no_windows_no_heartbeats() {
        let mut v = view(5);
        v.heartbeat_window_blocks = 0;
        let mut prover = UptimeProver::new();
        assert!(!prover.due(&v));
        assert!(
            prover
                .prove(&DeviceKey::from_seed(KeyScheme::Ed25519, 1), &v)
                .is_none()
        );
    }
}
