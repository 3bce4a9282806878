//! Coverage: beacons and witness reports.
//!
//! A wireless device beacons every beacon interval, naming the newest block so the beacon
//! cannot be made ahead; devices that hear it report what they received. The chain counts the
//! interval from the block a beacon landed in, one or two blocks after the one it names, so
//! the prover waits two blocks more than the interval.

use crate::ChainView;
use groundwork_primitives::hash::Digest;
use groundwork_primitives::{
    BeaconRadio, CoverageReport, DeviceKey, DeviceTransaction, WitnessReading, beacon_id,
};

/// Blocks between a beacon's naming block and the block it lands in, at most.
pub const LANDING_SLACK_BLOCKS: u64 = 2;

/// Decides when a device's beacon is due, and signs it.
#[derive(Clone, Debug)]
pub struct BeaconProver {
    radio: BeaconRadio,
    /// Height of the block the last beacon named (sent or refused: either way the interval
    /// starts again).
    last: Option<u64>,
}

/// A signed beacon and the id witnesses report it by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    pub transaction: DeviceTransaction,
    pub id: Digest,
}

impl BeaconProver {
    /// A prover for a device whose transmitter is `radio`.
    pub fn new(radio: BeaconRadio) -> Self {
        Self { radio, last: None }
    }

    /// Whether a beacon is due: the chain takes beacons and an interval (with the landing
    /// slack) has passed since the last one.
    pub fn due(&self, view: &ChainView) -> bool {
        let interval = view.beacon_interval_blocks;
        interval > 0
            && self.last.is_none_or(|last| {
                view.height
                    >= last
                        .saturating_add(interval)
                        .saturating_add(LANDING_SLACK_BLOCKS)
            })
    }

    /// The beacon due now, if any, on the newest block; the interval starts again.
    pub fn prove(&mut self, key: &DeviceKey, view: &ChainView) -> Option<Beacon> {
        if !self.due(view) {
            return None;
        }
        self.last = Some(view.height);
        let transaction = CoverageReport::sign_beacon(key, &view.chain_id, view.block, self.radio);
        let id = beacon_id(&transaction.device, &view.block);
        Some(Beacon { transaction, id })
    }
}

/// What a device's radio measured of a beacon it heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    pub beacon: Digest,
    pub rssi_dbm: i16,
    /// Signal-to-noise ratio in hundredths of dB.
    pub snr_cdb: i16,
    pub frequency_hz: u64,
}

/// Signs witness reports for a device whose receiving antenna has `antenna_gain_ddbi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessProver {
    /// Receive antenna gain, in tenths of dBi, as the device's radio states it.
    pub antenna_gain_ddbi: i16,
}

impl WitnessProver {
    pub fn new(antenna_gain_ddbi: i16) -> Self {
        Self { antenna_gain_ddbi }
    }

    /// The witness report of a heard beacon.
    pub fn prove(
        &self,
        key: &DeviceKey,
        chain: &groundwork_primitives::ChainId,
        heard: Heard,
    ) -> DeviceTransaction {
        let reading = WitnessReading {
            rssi_dbm: heard.rssi_dbm,
            snr_cdb: heard.snr_cdb,
            frequency_hz: heard.frequency_hz,
            antenna_gain_ddbi: self.antenna_gain_ddbi,
        };
        CoverageReport::sign_witness(key, chain, heard.beacon, reading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_primitives::hash::hash;
    use groundwork_primitives::keys::KeyScheme;
    use groundwork_primitives::{Report, WitnessReading};

    const RADIO: BeaconRadio = BeaconRadio {
        tx_power_dbm: 27,
        frequency_hz: 868_100_000,
        antenna_gain_ddbi: 12,
    };

    use crate::test_view as view;

    #[test]
    fn a_beacon_every_interval_plus_the_landing_slack() {
        let key = DeviceKey::from_seed(KeyScheme::P256, 3);
        let mut prover = BeaconProver::new(RADIO);
        let first = prover
            .prove(&key, &view(5))
            .expect("the first is due at once");
        assert_eq!(first.id, beacon_id(&key.id(), &view(5).block));
        assert_eq!(first.transaction.beacon_id(), Some(first.id));
        assert!(first.transaction.verify_signature(&view(5).chain_id));
        // 5 + 20 + 2 = 27.
        assert!(prover.prove(&key, &view(26)).is_none());
        assert!(prover.prove(&key, &view(27)).is_some());
        let mut off = view(100);
        off.beacon_interval_blocks = 0;
        assert!(!BeaconProver::new(RADIO).due(&off));
    }

    #[test]
    fn a_witness_report_carries_the_devices_antenna_gain() {
        let key = DeviceKey::from_seed(KeyScheme::Ed25519, 4);
        let chain = view(1).chain_id;
        let heard = Heard {
            beacon: hash(b"beacon"),
            rssi_dbm: -97,
            snr_cdb: 450,
            frequency_hz: 868_100_000,
        };
        let tx = WitnessProver::new(30).prove(&key, &chain, heard);
        assert!(tx.verify_signature(&chain));
        let Report::Coverage(CoverageReport::Witness { beacon, reading }) = tx.report else {
            panic!("not a witness report: {:?}", tx.report);
        };
        assert_eq!(beacon, heard.beacon);
        assert_eq!(
            reading,
            WitnessReading {
                rssi_dbm: -97,
                snr_cdb: 450,
                frequency_hz: 868_100_000,
                antenna_gain_ddbi: 30,
            }
        );
    }
}
