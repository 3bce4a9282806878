//! The device envelope: the device, one module report, the device key's signature.

use super::Report;
use crate::domain::ChainId;
use crate::keys::{DeviceId, DeviceKey, DeviceSignature};
use commonware_codec::{EncodeSize, Write};

/// A report signed by a device key. Every report names its device once, here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceTransaction {
    pub device: DeviceId,
    pub report: Report,
    pub signature: DeviceSignature,
}

impl DeviceTransaction {
    pub fn sign(key: &DeviceKey, chain: &ChainId, report: impl Into<Report>) -> Self {
        let report = report.into();
        let device = key.id();
        let payload = Self::payload(&device, &report);
        let signature = key.sign(&report.namespace(chain), &payload);
        Self {
            device,
            report,
            signature,
        }
    }

    /// The bytes the signature covers (after the namespace).
    pub fn payload(device: &DeviceId, report: &Report) -> Vec<u8> {
        let mut buf = Vec::with_capacity(device.encode_size() + report.encode_size());
        device.write(&mut buf);
        report.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.device, &self.report)
    }

    /// The namespace the signature is made under on `chain`.
    pub fn namespace(&self, chain: &ChainId) -> Vec<u8> {
        self.report.namespace(chain)
    }

    pub fn verify_signature(&self, chain: &ChainId) -> bool {
        self.device.verify(
            &self.namespace(chain),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(DeviceTransaction {
    device,
    report,
    signature
});
