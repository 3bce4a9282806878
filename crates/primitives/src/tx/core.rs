//! The core's calls: tokens and a device's life.

use super::Message;
use crate::address::Address;
use crate::amount::Amount;
use crate::cell::Cell;
use crate::domain::ChainId;
use crate::keys::{DeviceId, DeviceKey, DeviceSignature};
use crate::resource::ResourceKind;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// What an account asks of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreCall {
    /// Move tokens to another account.
    Transfer { to: Address, amount: Amount },
    /// Register a device. `ownership_proof` is the device key's signature over the owner's
    /// address (namespace [`CoreCall::ownership_namespace`]): proof the owner holds the device.
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
}

impl Message for CoreCall {
    const MODULE: &'static str = "core";

    fn name(&self) -> &'static str {
        match self {
            CoreCall::Transfer { .. } => "transfer",
            CoreCall::RegisterDevice { .. } => "register-device",
            CoreCall::AssertLocation { .. } => "assert-location",
            CoreCall::TransferDevice { .. } => "transfer-device",
            CoreCall::DecommissionDevice { .. } => "decommission-device",
        }
    }
}

/// The message a device signs to prove it belongs to `owner`.
pub fn device_ownership_message(owner: &Address) -> Vec<u8> {
    owner.encode().to_vec()
}

impl CoreCall {
    /// The namespace of a device's ownership proof on `chain`.
    pub fn ownership_namespace(chain: &ChainId) -> Vec<u8> {
        chain.namespace(<Self as Message>::MODULE, "device-ownership")
    }

    /// The device key's signature over `owner`: proof the owner holds the device.
    pub fn ownership_proof(
        chain: &ChainId,
        owner: &Address,
        device_key: &DeviceKey,
    ) -> DeviceSignature {
        device_key.sign(
            &Self::ownership_namespace(chain),
            &device_ownership_message(owner),
        )
    }

    /// Builds a `RegisterDevice` call, signing the ownership proof with the device key.
    pub fn register_device(
        chain: &ChainId,
        owner: &Address,
        device_key: &DeviceKey,
        kind: ResourceKind,
        location: Cell,
    ) -> Self {
        let ownership_proof = Self::ownership_proof(chain, owner, device_key);
        CoreCall::RegisterDevice {
            device: device_key.id(),
            kind,
            location,
            ownership_proof,
        }
    }

    fn tag(&self) -> u8 {
        match self {
            CoreCall::Transfer { .. } => 0,
            // 1 was `burn-for-credits` at a fixed token price, replaced by the credits
            // module's `buy` at the oracle's price: retired, never reused.
            CoreCall::RegisterDevice { .. } => 2,
            CoreCall::AssertLocation { .. } => 3,
            CoreCall::TransferDevice { .. } => 4,
            CoreCall::DecommissionDevice { .. } => 5,
        }
    }
}

impl Write for CoreCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.tag().write(buf);
        match self {
            CoreCall::Transfer { to, amount } => {
                to.write(buf);
                amount.write(buf);
            }
            CoreCall::RegisterDevice {
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
            CoreCall::AssertLocation { device, location } => {
                device.write(buf);
                location.write(buf);
            }
            CoreCall::TransferDevice { device, new_owner } => {
                device.write(buf);
                new_owner.write(buf);
            }
            CoreCall::DecommissionDevice { device } => device.write(buf),
        }
    }
}

impl EncodeSize for CoreCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            CoreCall::Transfer { to, amount } => to.encode_size() + amount.encode_size(),
            CoreCall::RegisterDevice {
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
            CoreCall::AssertLocation { device, location } => {
                device.encode_size() + location.encode_size()
            }
            CoreCall::TransferDevice { device, new_owner } => {
                device.encode_size() + new_owner.encode_size()
            }
            CoreCall::DecommissionDevice { device } => device.encode_size(),
        }
    }
}

impl Read for CoreCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => CoreCall::Transfer {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            2 => CoreCall::RegisterDevice {
                device: DeviceId::read(buf)?,
                kind: ResourceKind::read(buf)?,
                location: Cell::read(buf)?,
                ownership_proof: DeviceSignature::read(buf)?,
            },
            3 => CoreCall::AssertLocation {
                device: DeviceId::read(buf)?,
                location: Cell::read(buf)?,
            },
            4 => CoreCall::TransferDevice {
                device: DeviceId::read(buf)?,
                new_owner: Address::read(buf)?,
            },
            5 => CoreCall::DecommissionDevice {
                device: DeviceId::read(buf)?,
            },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}
