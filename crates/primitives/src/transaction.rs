//! Transactions. Two families:
//!
//! * account transactions, signed by an account key, carrying a nonce and a last valid height
//!   and paying the genesis fee;
//! * device transactions (heartbeats), signed by a device key, paying no fee.
//!
//! What is signed is `namespace(chain id, message type) ‖ payload`, where the payload is the
//! canonical encoding of every field but the signature. See [`crate::domain`].

use crate::address::Address;
use crate::amount::Amount;
use crate::cell::Cell;
use crate::domain::{ChainId, Domain};
use crate::hash::{Digest, hash};
use crate::keys::{
    AccountKey, AccountPublicKey, AccountSignature, DeviceId, DeviceKey, DeviceSignature,
    account_address,
};
use crate::limits::{
    MAX_CHALLENGE_EVIDENCE, MAX_TRANSACTION_BYTES, MAX_TRANSACTION_LIFETIME_BLOCKS,
};
use crate::resource::ResourceKind;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use commonware_cryptography::{Signer, Verifier};

/// What an account transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// Move tokens to another account.
    Transfer { to: Address, amount: Amount },
    /// Burn `credits × price` tokens and mint `credits` data credits to `recipient`.
    BurnForCredits { recipient: Address, credits: u64 },
    /// Register a device. `ownership_proof` is the device key's signature over the owner's
    /// address (domain [`Domain::DeviceOwnership`]): proof the owner holds the device.
    RegisterDevice {
        device: DeviceId,
        kind: ResourceKind,
        location: Cell,
        ownership_proof: DeviceSignature,
    },
    /// Move a device to a new asserted location.
    AssertLocation { device: DeviceId, location: Cell },
    /// Hand a device to a new owner.
    TransferDevice {
        device: DeviceId,
        new_owner: Address,
    },
    /// Retire a device; its bond is returned after the unbonding period.
    DecommissionDevice { device: DeviceId },
    /// Challenge a wireless device's asserted location, locking the genesis challenge bond.
    /// `evidence` cites 1 to [`MAX_CHALLENGE_EVIDENCE`] retained beacons the device took part
    /// in, as beaconer or witness, whose signals do not fit the asserted place.
    ChallengeLocation {
        device: DeviceId,
        evidence: Vec<Digest>,
    },
    /// Answer a challenge of one's device with a beacon it sent after the challenge: the
    /// challenge fails if enough independent witnesses heard it as the asserted place predicts.
    AnswerChallenge { challenge: Digest, beacon: Digest },
}

impl AccountAction {
    /// The signing domain of this action.
    pub fn domain(&self) -> Domain {
        match self {
            AccountAction::Transfer { .. } => Domain::Transfer,
            AccountAction::BurnForCredits { .. } => Domain::BurnForCredits,
            AccountAction::RegisterDevice { .. } => Domain::RegisterDevice,
            AccountAction::AssertLocation { .. } => Domain::AssertLocation,
            AccountAction::TransferDevice { .. } => Domain::TransferDevice,
            AccountAction::DecommissionDevice { .. } => Domain::DecommissionDevice,
            AccountAction::ChallengeLocation { .. } => Domain::ChallengeLocation,
            AccountAction::AnswerChallenge { .. } => Domain::AnswerChallenge,
        }
    }

    /// Builds a `RegisterDevice` action, signing the ownership proof with the device key.
    pub fn register_device(
        chain: &ChainId,
        owner: &Address,
        device_key: &DeviceKey,
        kind: ResourceKind,
        location: Cell,
    ) -> Self {
        let ownership_proof = device_key.sign(
            &chain.namespace(Domain::DeviceOwnership),
            &device_ownership_message(owner),
        );
        AccountAction::RegisterDevice {
            device: device_key.id(),
            kind,
            location,
            ownership_proof,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            AccountAction::Transfer { .. } => 0,
            AccountAction::BurnForCredits { .. } => 1,
            AccountAction::RegisterDevice { .. } => 2,
            AccountAction::AssertLocation { .. } => 3,
            AccountAction::TransferDevice { .. } => 4,
            AccountAction::DecommissionDevice { .. } => 5,
            AccountAction::ChallengeLocation { .. } => 6,
            AccountAction::AnswerChallenge { .. } => 7,
        }
    }
}

/// The id of the challenge an account posts with `nonce`:
/// `sha256("groundwork-challenge" ‖ challenger address ‖ nonce)`. Known to the challenger
/// before the transaction lands, and never the same twice.
pub fn challenge_id(challenger: &Address, nonce: u64) -> Digest {
    crate::hash::hash_parts(&[b"groundwork-challenge", &challenger.0, &nonce.to_be_bytes()])
}

/// The message a device signs to prove it belongs to `owner`.
pub fn device_ownership_message(owner: &Address) -> Vec<u8> {
    owner.encode().to_vec()
}

impl Write for AccountAction {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.tag().write(buf);
        match self {
            AccountAction::Transfer { to, amount } => {
                to.write(buf);
                amount.write(buf);
            }
            AccountAction::BurnForCredits { recipient, credits } => {
                recipient.write(buf);
                credits.write(buf);
            }
            AccountAction::RegisterDevice {
                device,
                kind,
                location,
                ownership_proof,
            } => {
                device.write(buf);
                kind.write(buf);
                location.write(buf);
                ownership_proof.write(buf);
            }
            AccountAction::AssertLocation { device, location } => {
                device.write(buf);
                location.write(buf);
            }
            AccountAction::TransferDevice { device, new_owner } => {
                device.write(buf);
                new_owner.write(buf);
            }
            AccountAction::DecommissionDevice { device } => device.write(buf),
            AccountAction::ChallengeLocation { device, evidence } => {
                device.write(buf);
                // The decoder refuses more than MAX_CHALLENGE_EVIDENCE, so a count fits a byte.
                (evidence.len().min(usize::from(u8::MAX)) as u8).write(buf);
                for beacon in evidence.iter().take(usize::from(u8::MAX)) {
                    beacon.write(buf);
                }
            }
            AccountAction::AnswerChallenge { challenge, beacon } => {
                challenge.write(buf);
                beacon.write(buf);
            }
        }
    }
}

impl EncodeSize for AccountAction {
    fn encode_size(&self) -> usize {
        1 + match self {
            AccountAction::Transfer { to, amount } => to.encode_size() + amount.encode_size(),
            AccountAction::BurnForCredits { recipient, credits } => {
                recipient.encode_size() + credits.encode_size()
            }
            AccountAction::RegisterDevice {
                device,
                kind,
                location,
                ownership_proof,
            } => {
                device.encode_size()
                    + kind.encode_size()
                    + location.encode_size()
                    + ownership_proof.encode_size()
            }
            AccountAction::AssertLocation { device, location } => {
                device.encode_size() + location.encode_size()
            }
            AccountAction::TransferDevice { device, new_owner } => {
                device.encode_size() + new_owner.encode_size()
            }
            AccountAction::DecommissionDevice { device } => device.encode_size(),
            AccountAction::ChallengeLocation { device, evidence } => {
                device.encode_size()
                    + 1
                    + evidence
                        .iter()
                        .take(usize::from(u8::MAX))
                        .map(EncodeSize::encode_size)
                        .sum::<usize>()
            }
            AccountAction::AnswerChallenge { challenge, beacon } => {
                challenge.encode_size() + beacon.encode_size()
            }
        }
    }
}

impl Read for AccountAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        Ok(match tag {
            0 => AccountAction::Transfer {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            1 => AccountAction::BurnForCredits {
                recipient: Address::read(buf)?,
                credits: u64::read(buf)?,
            },
            2 => AccountAction::RegisterDevice {
                device: DeviceId::read(buf)?,
                kind: ResourceKind::read(buf)?,
                location: Cell::read(buf)?,
                ownership_proof: DeviceSignature::read(buf)?,
            },
            3 => AccountAction::AssertLocation {
                device: DeviceId::read(buf)?,
                location: Cell::read(buf)?,
            },
            4 => AccountAction::TransferDevice {
                device: DeviceId::read(buf)?,
                new_owner: Address::read(buf)?,
            },
            5 => AccountAction::DecommissionDevice {
                device: DeviceId::read(buf)?,
            },
            6 => {
                let device = DeviceId::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if count == 0 || count > MAX_CHALLENGE_EVIDENCE {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut evidence = Vec::with_capacity(count);
                for _ in 0..count {
                    evidence.push(Digest::read(buf)?);
                }
                AccountAction::ChallengeLocation { device, evidence }
            }
            7 => AccountAction::AnswerChallenge {
                challenge: Digest::read(buf)?,
                beacon: Digest::read(buf)?,
            },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A transaction signed by an account.
///
/// It may be included only in a block at a height of at most `valid_until`, and at most
/// [`MAX_TRANSACTION_LIFETIME_BLOCKS`] before that: signed bytes that were never included stop
/// being valid soon, so a transaction refused today cannot execute much later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountTransaction {
    pub signer: AccountPublicKey,
    pub nonce: u64,
    /// The last block height that may include this transaction.
    pub valid_until: u64,
    pub action: AccountAction,
    pub signature: AccountSignature,
}

impl AccountTransaction {
    /// Signs `action` as the account of `key` with `nonce` on `chain`, includable up to the
    /// block at height `valid_until`.
    pub fn sign(
        key: &AccountKey,
        chain: &ChainId,
        nonce: u64,
        valid_until: u64,
        action: AccountAction,
    ) -> Self {
        let signer = key.public_key();
        let payload = Self::payload(&signer, nonce, valid_until, &action);
        let signature = key.sign(&chain.namespace(action.domain()), &payload);
        Self {
            signer,
            nonce,
            valid_until,
            action,
            signature,
        }
    }

    /// The bytes the signature covers (after the namespace).
    pub fn payload(
        signer: &AccountPublicKey,
        nonce: u64,
        valid_until: u64,
        action: &AccountAction,
    ) -> Vec<u8> {
        let mut buf = Vec::with_capacity(signer.encode_size() + 16 + action.encode_size());
        signer.write(&mut buf);
        nonce.write(&mut buf);
        valid_until.write(&mut buf);
        action.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.signer, self.nonce, self.valid_until, &self.action)
    }

    /// Whether a block at `height` may carry this transaction as far as its validity window
    /// goes: not after `valid_until`, and not more than [`MAX_TRANSACTION_LIFETIME_BLOCKS`]
    /// before it.
    pub fn validity_at(&self, height: u64) -> Validity {
        if height > self.valid_until {
            Validity::Expired
        } else if self.valid_until - height > MAX_TRANSACTION_LIFETIME_BLOCKS {
            Validity::TooFarAhead
        } else {
            Validity::Valid
        }
    }

    /// The sending account.
    pub fn sender(&self) -> Address {
        account_address(&self.signer)
    }

    /// Checks the account signature for `chain`.
    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        self.signer.verify(
            &chain.namespace(self.action.domain()),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(AccountTransaction {
    signer,
    nonce,
    valid_until,
    action,
    signature
});

/// Where a height falls in an account transaction's validity window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    /// The height is past `valid_until`.
    Expired,
    /// `valid_until` is more than [`MAX_TRANSACTION_LIFETIME_BLOCKS`] past the height.
    TooFarAhead,
}

/// Proof that a device was alive: signed by the device key, it names a recent block so it
/// cannot have been made before that block existed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatTransaction {
    pub device: DeviceId,
    pub recent_block: Digest,
    pub signature: DeviceSignature,
}

impl HeartbeatTransaction {
    pub fn sign(key: &DeviceKey, chain: &ChainId, recent_block: Digest) -> Self {
        let device = key.id();
        let payload = Self::payload(&device, &recent_block);
        let signature = key.sign(&chain.namespace(Domain::Heartbeat), &payload);
        Self {
            device,
            recent_block,
            signature,
        }
    }

    pub fn payload(device: &DeviceId, recent_block: &Digest) -> Vec<u8> {
        let mut buf = Vec::with_capacity(device.encode_size() + 32);
        device.write(&mut buf);
        recent_block.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.device, &self.recent_block)
    }

    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        self.device.verify(
            &chain.namespace(Domain::Heartbeat),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(HeartbeatTransaction {
    device,
    recent_block,
    signature
});

/// What a beacon's radio sent: power, frequency and antenna gain, as the beaconer states them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconRadio {
    /// Transmit power in dBm.
    pub tx_power_dbm: i16,
    pub frequency_hz: u64,
    /// Antenna gain in tenths of dBi.
    pub antenna_gain_ddbi: i16,
}

crate::impl_struct_codec!(BeaconRadio {
    tx_power_dbm,
    frequency_hz,
    antenna_gain_ddbi
});

/// A wireless device's beacon. It names a recent block (chain entropy), so the payload the
/// radio sends — [`BeaconTransaction::beacon_id`], derived from that block and the device's key
/// — cannot be known before the block exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeaconTransaction {
    pub device: DeviceId,
    pub entropy_block: Digest,
    pub radio: BeaconRadio,
    pub signature: DeviceSignature,
}

impl BeaconTransaction {
    pub fn sign(
        key: &DeviceKey,
        chain: &ChainId,
        entropy_block: Digest,
        radio: BeaconRadio,
    ) -> Self {
        let device = key.id();
        let payload = Self::payload(&device, &entropy_block, &radio);
        let signature = key.sign(&chain.namespace(Domain::Beacon), &payload);
        Self {
            device,
            entropy_block,
            radio,
            signature,
        }
    }

    /// The payload a device's radio sends for a beacon on `entropy_block`, which witnesses
    /// report back: `sha256("groundwork-beacon" ‖ entropy block ‖ device id)`.
    pub fn beacon_id_for(device: &DeviceId, entropy_block: &Digest) -> Digest {
        let mut id = Vec::with_capacity(device.encode_size());
        device.write(&mut id);
        crate::hash::hash_parts(&[b"groundwork-beacon", entropy_block.as_ref(), &id])
    }

    pub fn beacon_id(&self) -> Digest {
        Self::beacon_id_for(&self.device, &self.entropy_block)
    }

    pub fn payload(device: &DeviceId, entropy_block: &Digest, radio: &BeaconRadio) -> Vec<u8> {
        let mut buf = Vec::with_capacity(device.encode_size() + 32 + radio.encode_size());
        device.write(&mut buf);
        entropy_block.write(&mut buf);
        radio.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.device, &self.entropy_block, &self.radio)
    }

    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        self.device.verify(
            &chain.namespace(Domain::Beacon),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(BeaconTransaction {
    device,
    entropy_block,
    radio,
    signature
});

/// What a witness's radio measured of a beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessReading {
    /// Received signal strength in dBm.
    pub rssi_dbm: i16,
    /// Signal-to-noise ratio in hundredths of dB.
    pub snr_cdb: i16,
    pub frequency_hz: u64,
    /// The witness's antenna gain in tenths of dBi.
    pub antenna_gain_ddbi: i16,
}

crate::impl_struct_codec!(WitnessReading {
    rssi_dbm,
    snr_cdb,
    frequency_hz,
    antenna_gain_ddbi
});

/// A wireless device's report that it received a beacon: signed by the witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessTransaction {
    pub witness: DeviceId,
    /// The beacon payload heard ([`BeaconTransaction::beacon_id`]).
    pub beacon: Digest,
    pub reading: WitnessReading,
    pub signature: DeviceSignature,
}

impl WitnessTransaction {
    pub fn sign(key: &DeviceKey, chain: &ChainId, beacon: Digest, reading: WitnessReading) -> Self {
        let witness = key.id();
        let payload = Self::payload(&witness, &beacon, &reading);
        let signature = key.sign(&chain.namespace(Domain::Witness), &payload);
        Self {
            witness,
            beacon,
            reading,
            signature,
        }
    }

    pub fn payload(witness: &DeviceId, beacon: &Digest, reading: &WitnessReading) -> Vec<u8> {
        let mut buf = Vec::with_capacity(witness.encode_size() + 32 + reading.encode_size());
        witness.write(&mut buf);
        beacon.write(&mut buf);
        reading.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.witness, &self.beacon, &self.reading)
    }

    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        self.witness.verify(
            &chain.namespace(Domain::Witness),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(WitnessTransaction {
    witness,
    beacon,
    reading,
    signature
});

/// Any transaction.
// Heartbeats are the common case and smaller, but boxing the account variant would cost an
// allocation per decoded transaction for no measured gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    Account(AccountTransaction),
    Heartbeat(HeartbeatTransaction),
    Beacon(BeaconTransaction),
    Witness(WitnessTransaction),
}

impl Transaction {
    /// The transaction id: SHA-256 of its canonical encoding.
    pub fn hash(&self) -> Digest {
        hash(&self.encode())
    }

    /// Decodes one transaction from untrusted bytes: bounded size, no trailing bytes.
    pub fn decode_untrusted(bytes: &[u8]) -> Result<Self, CodecError> {
        if bytes.len() > MAX_TRANSACTION_BYTES {
            return Err(CodecError::InvalidLength(bytes.len()));
        }
        crate::decode_exact(bytes)
    }

    /// Checks the transaction's own signature for `chain` (not a device's ownership proof,
    /// which the state machine checks against the owner).
    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        match self {
            Transaction::Account(tx) => tx.verify_signature(chain),
            Transaction::Heartbeat(tx) => tx.verify_signature(chain),
            Transaction::Beacon(tx) => tx.verify_signature(chain),
            Transaction::Witness(tx) => tx.verify_signature(chain),
        }
    }

    /// The device that signed this transaction, for device transactions.
    pub fn device(&self) -> Option<&DeviceId> {
        match self {
            Transaction::Account(_) => None,
            Transaction::Heartbeat(tx) => Some(&tx.device),
            Transaction::Beacon(tx) => Some(&tx.device),
            Transaction::Witness(tx) => Some(&tx.witness),
        }
    }

    /// Short name of the transaction type, for receipts and logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Transaction::Account(tx) => tx.action.domain().tag(),
            Transaction::Heartbeat(_) => Domain::Heartbeat.tag(),
            Transaction::Beacon(_) => Domain::Beacon.tag(),
            Transaction::Witness(_) => Domain::Witness.tag(),
        }
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            Transaction::Account(tx) => {
                0u8.write(buf);
                tx.write(buf);
            }
            Transaction::Heartbeat(tx) => {
                1u8.write(buf);
                tx.write(buf);
            }
            Transaction::Beacon(tx) => {
                2u8.write(buf);
                tx.write(buf);
            }
            Transaction::Witness(tx) => {
                3u8.write(buf);
                tx.write(buf);
            }
        }
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        1 + match self {
            Transaction::Account(tx) => tx.encode_size(),
            Transaction::Heartbeat(tx) => tx.encode_size(),
            Transaction::Beacon(tx) => tx.encode_size(),
            Transaction::Witness(tx) => tx.encode_size(),
        }
    }
}

impl Read for Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(Transaction::Account(AccountTransaction::read(buf)?)),
            1 => Ok(Transaction::Heartbeat(HeartbeatTransaction::read(buf)?)),
            2 => Ok(Transaction::Beacon(BeaconTransaction::read(buf)?)),
            3 => Ok(Transaction::Witness(WitnessTransaction::read(buf)?)),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyScheme;
    use commonware_cryptography::ed25519;

    fn chain() -> ChainId {
        "groundwork-test".parse().unwrap()
    }

    fn sample_transactions() -> Vec<Transaction> {
        let key = ed25519::PrivateKey::from_seed(1);
        let owner = account_address(&key.public_key());
        let device = DeviceKey::from_seed(KeyScheme::P256, 2);
        let location = Cell::from_lat_lng(37.7749, -122.4194).unwrap();
        let actions = vec![
            AccountAction::Transfer {
                to: owner,
                amount: Amount(5),
            },
            AccountAction::BurnForCredits {
                recipient: owner,
                credits: 9,
            },
            AccountAction::register_device(
                &chain(),
                &owner,
                &device,
                ResourceKind::Wireless,
                location,
            ),
            AccountAction::AssertLocation {
                device: device.id(),
                location,
            },
            AccountAction::TransferDevice {
                device: device.id(),
                new_owner: owner,
            },
            AccountAction::DecommissionDevice {
                device: device.id(),
            },
            AccountAction::ChallengeLocation {
                device: device.id(),
                evidence: vec![hash(b"beacon 1"), hash(b"beacon 2")],
            },
            AccountAction::AnswerChallenge {
                challenge: challenge_id(&owner, 3),
                beacon: hash(b"beacon 3"),
            },
        ];
        let mut txs: Vec<Transaction> = actions
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Transaction::Account(AccountTransaction::sign(&key, &chain(), i as u64, 100, a))
            })
            .collect();
        txs.push(Transaction::Heartbeat(HeartbeatTransaction::sign(
            &device,
            &chain(),
            hash(b"block"),
        )));
        let radio = BeaconRadio {
            tx_power_dbm: 27,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: 12,
        };
        let beacon = BeaconTransaction::sign(&device, &chain(), hash(b"block"), radio);
        let witness = DeviceKey::from_seed(KeyScheme::Ed25519, 3);
        let reading = WitnessReading {
            rssi_dbm: -110,
            snr_cdb: -750,
            frequency_hz: 904_600_000,
            antenna_gain_ddbi: -5,
        };
        txs.push(Transaction::Witness(WitnessTransaction::sign(
            &witness,
            &chain(),
            beacon.beacon_id(),
            reading,
        )));
        txs.push(Transaction::Beacon(beacon));
        txs
    }

    #[test]
    fn every_transaction_round_trips_and_verifies() {
        for tx in sample_transactions() {
            let bytes = tx.encode();
            let decoded = Transaction::decode_untrusted(&bytes).unwrap();
            assert_eq!(decoded, tx);
            assert_eq!(decoded.hash(), tx.hash());
            assert!(
                tx.verify_signature(&chain()),
                "{} did not verify",
                tx.kind_name()
            );
            assert!(
                !tx.verify_signature(&"groundwork-other".parse().unwrap()),
                "{} verified on another chain",
                tx.kind_name()
            );
        }
    }

    #[test]
    fn truncated_extended_and_oversized_bytes_are_rejected() {
        for tx in sample_transactions() {
            let bytes = tx.encode().to_vec();
            for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
                assert!(Transaction::decode_untrusted(&bytes[..cut]).is_err());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(Transaction::decode_untrusted(&longer).is_err());
        }
        assert!(Transaction::decode_untrusted(&vec![0u8; MAX_TRANSACTION_BYTES + 1]).is_err());
        assert!(Transaction::decode_untrusted(&[7u8]).is_err());
    }

    /// A challenge must cite 1 to MAX_CHALLENGE_EVIDENCE beacons: 0 and 9 are refused at decode.
    #[test]
    fn challenge_evidence_count_is_bounded() {
        let key = ed25519::PrivateKey::from_seed(1);
        let device = DeviceKey::from_seed(KeyScheme::Ed25519, 2).id();
        for count in [0usize, MAX_CHALLENGE_EVIDENCE + 1] {
            let action = AccountAction::ChallengeLocation {
                device: device.clone(),
                evidence: vec![hash(b"b"); count],
            };
            let tx = Transaction::Account(AccountTransaction::sign(&key, &chain(), 0, 100, action));
            assert!(
                Transaction::decode_untrusted(&tx.encode()).is_err(),
                "{count} beacons decoded"
            );
        }
    }

    #[test]
    fn signature_for_another_chain_or_type_does_not_verify() {
        let key = ed25519::PrivateKey::from_seed(1);
        let action = AccountAction::Transfer {
            to: Address([1; 20]),
            amount: Amount(5),
        };
        let tx = AccountTransaction::sign(&key, &chain(), 0, 100, action);
        assert!(!tx.verify_signature(&"groundwork-other".parse().unwrap()));
        let as_burn = key.sign(
            &chain().namespace(Domain::BurnForCredits),
            &tx.signing_payload(),
        );
        let forged = AccountTransaction {
            signature: as_burn,
            ..tx
        };
        assert!(!forged.verify_signature(&chain()));
    }
}
