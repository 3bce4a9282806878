//! Maker-attested devices: the genesis registers makers (a name, an account, a CA certificate
//! and the kinds it may certify); a device's owner presents the X.509 certificate of the
//! device's secure element (`attest/attest`), which must be issued by such a maker's CA for
//! the device's own key (`groundwork_attest::check`, at the parent block's time); a maker may
//! revoke a certificate by serial (`attest/revoke`).
//!
//! Genesis may require attestation per kind. A device of a required kind that is not attested,
//! or any device whose certificate was revoked, may not report (heartbeats, beacons, witness
//! reports are refused with 1305 or 1303) and is paid no usage mint: it earns nothing from the
//! block the revocation lands in on, and the refusal names why.

mod error;
mod genesis;

pub use error::AttestError;

use crate::core::{Core, Singleton};
use crate::error::TxError;
use crate::genesis::Params;
use crate::genesis::{GenesisError, invalid};
use crate::module::{Module, ModuleInfo};
use crate::table::{AnyTable, Table};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use groundwork_primitives::impl_struct_codec;
use groundwork_primitives::keys::KeyScheme;
use groundwork_primitives::tx::attest::{BoundedBytes, CertificateDer, Serial};
use groundwork_primitives::{Address, AttestCall, DeviceId, ResourceKind};

/// Most makers a chain registers.
pub const MAX_MAKERS: usize = 16;

/// A maker's CA certificate in DER.
pub type CaDer = BoundedBytes<{ groundwork_attest::MAX_CERTIFICATE_BYTES }>;

/// A maker's name.
pub type MakerName = BoundedBytes<32>;

/// A set of resource kinds, one bit per kind index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(pub u8);

impl Write for KindSet {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for KindSet {
    fn encode_size(&self) -> usize {
        1
    }
}

impl Read for KindSet {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(u8::read(buf)?))
    }
}

impl KindSet {
    pub fn of(kinds: &[ResourceKind]) -> Self {
        Self(kinds.iter().fold(0u8, |set, k| set | (1 << k.index())))
    }

    pub fn contains(self, kind: ResourceKind) -> bool {
        self.0 & (1 << kind.index()) != 0
    }

    pub fn kinds(self) -> Vec<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .filter(|k| self.contains(*k))
            .collect()
    }
}

/// A maker the chain trusts to certify devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maker {
    pub name: MakerName,
    /// The account that may revoke the maker's certificates.
    pub account: Address,
    pub ca: CaDer,
    pub kinds: KindSet,
}
impl_struct_codec!(Maker {
    name,
    account,
    ca,
    kinds
});

/// The attest module's section of the chain parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestParams {
    pub makers: Vec<Maker>,
    /// Kinds whose devices must be attested to report and earn.
    pub required: KindSet,
}

impl Write for AttestParams {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        // Genesis validation bounds the list by MAX_MAKERS.
        let count = self.makers.len().min(MAX_MAKERS);
        (count as u8).write(buf);
        for maker in self.makers.iter().take(count) {
            maker.write(buf);
        }
        self.required.write(buf);
    }
}

impl EncodeSize for AttestParams {
    fn encode_size(&self) -> usize {
        1 + self
            .makers
            .iter()
            .take(MAX_MAKERS)
            .map(EncodeSize::encode_size)
            .sum::<usize>()
            + self.required.encode_size()
    }
}

impl Read for AttestParams {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let count = usize::from(u8::read(buf)?);
        if count > MAX_MAKERS {
            return Err(CodecError::InvalidLength(count));
        }
        let mut makers = Vec::with_capacity(count);
        for _ in 0..count {
            makers.push(Maker::read(buf)?);
        }
        Ok(Self {
            makers,
            required: KindSet::read(buf)?,
        })
    }
}

impl AttestParams {
    /// Refuses a maker genesis may not register, naming its field: each CA must parse and
    /// carry a P-256 or an ed25519 key (it is checked against itself at its own start of validity).
    pub(crate) fn validate(&self) -> Result<(), GenesisError> {
        if self.makers.len() > MAX_MAKERS {
            return Err(invalid(
                "attest.makers",
                format!("{} makers, at most {MAX_MAKERS}", self.makers.len()),
            ));
        }
        for (i, maker) in self.makers.iter().enumerate() {
            if let Err(e) = groundwork_attest::ca_key(&maker.ca.0) {
                return Err(invalid(format!("attest.makers[{i}].ca"), e.to_string()));
            }
            if maker.kinds.0 == 0 {
                return Err(invalid(
                    format!("attest.makers[{i}].kinds"),
                    "a maker must certify at least one kind",
                ));
            }
        }
        Ok(())
    }
}

/// A device's accepted certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// Index of the maker in the parameters.
    pub maker: u8,
    pub serial: Serial,
    pub attested_at: u64,
}
impl_struct_codec!(Attestation {
    maker,
    serial,
    attested_at
});

pair_key!(
    /// A maker, then a serial it revoked.
    MakerSerial(u8, Serial)
);

/// Table prefixes of the attest module. On disk and in proofs: never renumber.
pub mod prefix {
    pub const ATTESTATION: u8 = 0x70;
    pub const REVOKED: u8 = 0x71;
    pub const ATTEST_PARAMS: u8 = 0x72;
}

#[derive(Clone, Debug)]
pub(crate) struct Attest {
    attestations: Table<DeviceId, Attestation>,
    /// Revoked serials, by maker, with the height of the revocation.
    revoked: Table<MakerSerial, u64>,
    params: Table<Singleton, AttestParams>,
}

impl Module for Attest {
    fn store_params(&mut self, params: &Params) {
        self.params
            .insert_committed(Singleton, params.attest.clone());
    }

    fn load_params(&self, params: &mut Params) -> bool {
        self.params
            .get(&Singleton)
            .cloned()
            .map(|stored| params.attest = stored)
            .is_some()
    }

    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "attest",
            prefixes: 0x70..=0x7F,
        }
    }

    fn tables(&self) -> Vec<&dyn AnyTable> {
        vec![&self.attestations, &self.revoked, &self.params]
    }

    fn tables_mut(&mut self) -> Vec<&mut dyn AnyTable> {
        vec![&mut self.attestations, &mut self.revoked, &mut self.params]
    }
}

impl Attest {
    pub(crate) fn new() -> Self {
        Self {
            attestations: Table::new(prefix::ATTESTATION, "attestations"),
            revoked: Table::new(prefix::REVOKED, "revoked serials"),
            params: Table::new(prefix::ATTEST_PARAMS, "attest params"),
        }
    }

    /// Applies one of the module's calls, its fee already paid.
    pub(crate) fn apply_call(
        &mut self,
        core: &mut Core,
        chain_params: &Params,
        sender: &Address,
        call: &AttestCall,
        height: u64,
    ) -> Result<(), TxError> {
        let params = &chain_params.attest;
        if let AttestCall::Register {
            device,
            kind,
            location,
            ownership_proof,
            ..
        } = call
        {
            // Registered and attested in one transaction: a refused certificate undoes the
            // registration with it.
            core.register_device(
                chain_params,
                sender,
                device,
                *kind,
                *location,
                ownership_proof,
                height,
            )?;
        }
        match call {
            AttestCall::Attest {
                device,
                certificate,
            }
            // Registered just above, in the same transaction.
            | AttestCall::Register {
                device,
                certificate,
                ..
            } => self.attest(core, params, sender, device, certificate, height),
            AttestCall::Revoke { serial } => {
                let Some(index) = params.makers.iter().position(|m| m.account == *sender) else {
                    return Err(AttestError::NotAMaker { signer: *sender }.into());
                };
                let maker = u8::try_from(index).unwrap_or(u8::MAX);
                self.revoked.put(MakerSerial(maker, serial.clone()), height);
                Ok(())
            }
        }
    }

    /// Records `device`'s certificate if the CA of a maker of its kind issued it for the
    /// device's own key and the maker has not revoked it; else says why not (the last
    /// maker's reason when several make the kind).
    fn attest(
        &mut self,
        core: &Core,
        params: &AttestParams,
        sender: &Address,
        device: &DeviceId,
        certificate: &CertificateDer,
        height: u64,
    ) -> Result<(), TxError> {
        let record = core.owned_active_device(sender, device)?;
        // The parent block's time: every validator sees the same.
        let at_ms = core.chain_info().last_timestamp_ms;
        let mut refusal = None;
        for (index, maker) in params.makers.iter().enumerate() {
            if !maker.kinds.contains(record.kind) {
                continue;
            }
            let attested = match groundwork_attest::check(&maker.ca.0, &certificate.0, at_ms) {
                Ok(attested) => attested,
                Err(reason) => {
                    refusal = Some(reason);
                    continue;
                }
            };
            let p256 = device.scheme() == KeyScheme::P256;
            if !attested.subject_key.is_key(p256, device.key_bytes()) {
                return Err(AttestError::KeyMismatch {
                    device: device.clone(),
                }
                .into());
            }
            let serial = BoundedBytes(attested.serial);
            let maker = u8::try_from(index).unwrap_or(u8::MAX);
            if self
                .revoked
                .get(&MakerSerial(maker, serial.clone()))
                .is_some()
            {
                return Err(AttestError::Revoked { serial }.into());
            }
            let attestation = Attestation {
                maker,
                serial,
                attested_at: height,
            };
            self.attestations.put(device.clone(), attestation);
            return Ok(());
        }
        Err(match refusal {
            Some(reason) => AttestError::Refused { reason },
            None => AttestError::NoMakerForKind { kind: record.kind },
        }
        .into())
    }

    /// Refuses the core's `register-device` for a kind whose devices must be attested: they
    /// register with `attest/register`, which carries the certificate.
    pub(crate) fn check_plain_registration(
        params: &AttestParams,
        kind: ResourceKind,
    ) -> Result<(), AttestError> {
        if params.required.contains(kind) {
            return Err(AttestError::CertificateRequired { kind });
        }
        Ok(())
    }

    /// Whether `device` (of `kind`) may report and earn: refused if its kind must be
    /// attested and it is not, or if its certificate was revoked.
    pub(crate) fn check_may_work(
        &self,
        params: &AttestParams,
        device: &DeviceId,
        kind: ResourceKind,
    ) -> Result<(), AttestError> {
        match self.attestations.get(device) {
            Some(a) => {
                if self
                    .revoked
                    .get(&MakerSerial(a.maker, a.serial.clone()))
                    .is_some()
                {
                    return Err(AttestError::Revoked {
                        serial: a.serial.clone(),
                    });
                }
                Ok(())
            }
            None if params.required.contains(kind) => Err(AttestError::NotAttested {
                device: device.clone(),
                kind,
            }),
            None => Ok(()),
        }
    }

    /// A device's attestation, and whether its certificate was revoked (and when).
    pub(crate) fn attestation(&self, device: &DeviceId) -> Option<(Attestation, Option<u64>)> {
        let a = self.attestations.get(device)?.clone();
        let revoked = self
            .revoked
            .get(&MakerSerial(a.maker, a.serial.clone()))
            .copied();
        Some((a, revoked))
    }
}
