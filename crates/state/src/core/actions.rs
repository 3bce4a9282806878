//! The core's account actions: transfers and a device's life from registration to
//! decommissioning. Each checks, charges and applies in that order; the fee was taken before.

use super::Core;
use crate::error::CoreError;
use crate::error::TxError;
use crate::genesis::Params;
use crate::records::{Device, DeviceStatus};
use groundwork_primitives::tx::device_ownership_message;
use groundwork_primitives::{
    Address, Amount, Cell, CoreCall, DeviceId, DeviceSignature, ResourceKind,
};

/// A module with a say over changes to devices: it may refuse them while it holds a claim on
/// a device (an open challenge), and hears when a device moves.
pub(crate) trait DeviceGuard {
    /// Refuses a change of location, owner or status of `device`.
    fn check_device_change(&self, device: &DeviceId) -> Result<(), TxError>;
    /// Refuses asserting `location` for `device`.
    fn check_new_location(&self, device: &DeviceId, location: Cell) -> Result<(), TxError>;
    /// `device` now asserts a new location.
    fn device_moved(&mut self, device: &DeviceId);
}

impl Core {
    /// Applies one of the core's calls, its fee already paid.
    pub(crate) fn apply_call(
        &mut self,
        params: &Params,
        guard: &mut impl DeviceGuard,
        sender: &Address,
        call: &CoreCall,
        height: u64,
    ) -> Result<(), TxError> {
        match call {
            CoreCall::Transfer { to, amount } => self.transfer_action(sender, to, *amount),
            CoreCall::RegisterDevice {
                device,
                kind,
                location,
                ownership_proof,
            } => self.register_device(
                params,
                sender,
                device,
                *kind,
                *location,
                ownership_proof,
                height,
            ),
            CoreCall::AssertLocation { device, location } => {
                self.assert_location(guard, sender, device, *location)
            }
            CoreCall::TransferDevice { device, new_owner } => {
                self.transfer_device(guard, sender, device, new_owner)
            }
            CoreCall::DecommissionDevice { device } => {
                self.decommission_device(params, guard, sender, device, height)
            }
        }
    }

    fn transfer_action(
        &mut self,
        sender: &Address,
        to: &Address,
        amount: Amount,
    ) -> Result<(), TxError> {
        if amount == Amount::ZERO {
            return Err(TxError::Core(CoreError::ZeroAmount {
                what: "transfer amount",
            }));
        }
        self.transfer(sender, to, amount)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn register_device(
        &mut self,
        params: &Params,
        sender: &Address,
        device: &DeviceId,
        kind: ResourceKind,
        location: Cell,
        ownership_proof: &DeviceSignature,
        height: u64,
    ) -> Result<(), TxError> {
        if self.devices.get(device).is_some() {
            return Err(TxError::Core(CoreError::DeviceAlreadyRegistered {
                device: device.clone(),
            }));
        }
        let namespace = CoreCall::ownership_namespace(&params.core.chain_id);
        if !device.verify(
            &namespace,
            &device_ownership_message(sender),
            ownership_proof,
        ) {
            return Err(TxError::Core(CoreError::BadDeviceSignature {
                device: device.clone(),
            }));
        }
        let bond = params.core.device_bond;
        self.lock_bond(sender, bond)?;
        let record = Device {
            owner: *sender,
            kind,
            location,
            bond,
            status: DeviceStatus::Active,
            registered_at_height: height,
            last_heartbeat_window: None,
            last_heartbeat_block_height: None,
        };
        self.devices.put(device.clone(), record);
        Ok(())
    }

    fn assert_location(
        &mut self,
        guard: &mut impl DeviceGuard,
        sender: &Address,
        device: &DeviceId,
        location: Cell,
    ) -> Result<(), TxError> {
        let mut record = self.owned_active_device(sender, device)?;
        // A challenged device must stay put and keep its bond until it resolves.
        guard.check_device_change(device)?;
        guard.check_new_location(device, location)?;
        record.location = location;
        self.devices.put(device.clone(), record);
        guard.device_moved(device);
        Ok(())
    }

    fn transfer_device(
        &mut self,
        guard: &impl DeviceGuard,
        sender: &Address,
        device: &DeviceId,
        new_owner: &Address,
    ) -> Result<(), TxError> {
        let mut record = self.owned_active_device(sender, device)?;
        guard.check_device_change(device)?;
        record.owner = *new_owner;
        self.devices.put(device.clone(), record);
        Ok(())
    }

    fn decommission_device(
        &mut self,
        params: &Params,
        guard: &impl DeviceGuard,
        sender: &Address,
        device: &DeviceId,
        height: u64,
    ) -> Result<(), TxError> {
        let mut record = self.owned_active_device(sender, device)?;
        guard.check_device_change(device)?;
        let release_epoch = params
            .epoch_of(height)
            .checked_add(params.core.unbonding_epochs)
            .ok_or(TxError::Core(CoreError::AmountOverflow {
                what: "release epoch",
            }))?;
        record.status = DeviceStatus::Unbonding { release_epoch };
        self.unbonding
            .put((release_epoch, device.clone()), record.bond);
        self.devices.put(device.clone(), record);
        Ok(())
    }
}
