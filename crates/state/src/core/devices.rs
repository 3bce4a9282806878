//! Device records: lookups, the one "active device" gate, and bonds coming back.

use super::Core;
use crate::error::CoreError;
use crate::error::{BlockError, TxError};
use crate::records::{Device, DeviceStatus};
use groundwork_primitives::{Address, Amount, DeviceId};

impl Core {
    pub(crate) fn device(&self, device: &DeviceId) -> Option<Device> {
        self.devices.get(device).cloned()
    }

    /// All devices, in id order.
    pub(crate) fn devices(&self) -> impl Iterator<Item = (&DeviceId, &Device)> {
        self.devices.committed().iter()
    }

    /// The device `id` if it is registered and active: the gate every report passes.
    pub(crate) fn active_device(&self, id: &DeviceId) -> Result<Device, TxError> {
        let device = self
            .device(id)
            .ok_or_else(|| TxError::Core(CoreError::UnknownDevice { device: id.clone() }))?;
        if device.status != DeviceStatus::Active {
            return Err(TxError::Core(CoreError::DeviceNotActive {
                device: id.clone(),
                status: device.status.name(),
            }));
        }
        Ok(device)
    }

    /// The device `id` if `owner` owns it and it is active: the gate of every owner's action.
    pub(crate) fn owned_active_device(
        &self,
        owner: &Address,
        id: &DeviceId,
    ) -> Result<Device, TxError> {
        // Ownership is checked first: a stranger learns nothing of the device's status.
        if self.device(id).is_some_and(|d| d.owner != *owner) {
            return Err(TxError::Core(CoreError::NotDeviceOwner {
                device: id.clone(),
            }));
        }
        self.active_device(id)
    }

    /// Records a credited heartbeat on the device: its window and the height it named.
    pub(crate) fn note_heartbeat(
        &mut self,
        id: &DeviceId,
        window: u64,
        referenced_height: u64,
    ) -> Result<(), TxError> {
        let mut record = self.active_device(id)?;
        record.last_heartbeat_window = Some(window);
        record.last_heartbeat_block_height = Some(referenced_height);
        self.devices.put(id.clone(), record);
        Ok(())
    }

    /// Returns the bonds due by the end of `epoch` and retires their devices.
    pub(crate) fn release_bonds(&mut self, epoch: u64) -> Result<(), BlockError> {
        let due: Vec<(u64, DeviceId)> = self
            .unbonding
            .keys()
            .into_iter()
            .take_while(|(e, _)| *e <= epoch)
            .collect();
        for key in due {
            let bond = self.unbonding.get(&key).copied().unwrap_or(Amount::ZERO);
            let mut device = self.device(&key.1).ok_or(BlockError::Invariant {
                context: "unbonding an unknown device",
            })?;
            self.return_bond(&device.owner, bond)?;
            device.bond = Amount::ZERO;
            device.status = DeviceStatus::Decommissioned;
            self.devices.put(key.1.clone(), device);
            self.unbonding.delete(key);
        }
        Ok(())
    }
}
