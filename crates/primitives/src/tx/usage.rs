//! The usage module's calls: a device's offer, a customer's session with escrowed credits,
//! settlement by doubly signed vouchers, and closing.

use super::Message;
use crate::domain::ChainId;
use crate::hash::Digest;
use crate::keys::{AccountKey, AccountSignature, DeviceId, DeviceKey, DeviceSignature};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use commonware_cryptography::Signer;

/// What a customer has received in a session so far: cumulative, so each voucher supersedes
/// the one before (payment-channel style). Both the customer's account key and the device key
/// sign its encoding under [`Voucher::namespace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Voucher {
    pub session: Digest,
    /// Units delivered since the session opened (the unit is the device kind's: 24-byte
    /// packets for wireless, Wh for meters and chargers, …).
    pub cumulative_units: u64,
    /// Credits owed for them since the session opened: units × the session's price.
    pub cumulative_credits: u64,
}

impl Voucher {
    /// `groundwork/<chain>/usage/voucher`: a voucher signed for one chain verifies on no other.
    pub fn namespace(chain: &ChainId) -> Vec<u8> {
        chain.namespace(UsageCall::MODULE_NAME, "voucher")
    }

    /// The bytes both parties sign.
    pub fn message(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encode_size());
        self.write(&mut buf);
        buf
    }

    /// The customer's signature.
    pub fn sign_as_customer(&self, key: &AccountKey, chain: &ChainId) -> AccountSignature {
        key.sign(&Self::namespace(chain), &self.message())
    }

    /// The device's co-signature.
    pub fn sign_as_device(&self, key: &DeviceKey, chain: &ChainId) -> DeviceSignature {
        key.sign(&Self::namespace(chain), &self.message())
    }
}

impl Write for Voucher {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.session.write(buf);
        self.cumulative_units.write(buf);
        self.cumulative_credits.write(buf);
    }
}

impl EncodeSize for Voucher {
    fn encode_size(&self) -> usize {
        self.session.encode_size()
            + self.cumulative_units.encode_size()
            + self.cumulative_credits.encode_size()
    }
}

impl Read for Voucher {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            session: Digest::read(buf)?,
            cumulative_units: u64::read(buf)?,
            cumulative_credits: u64::read(buf)?,
        })
    }
}

/// What an account asks of the usage module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageCall {
    /// The device's owner offers its service: `credits_per_unit` credits per unit of the
    /// device kind, in sessions of at most `max_session_blocks`. Replaces the previous offer;
    /// sessions already open keep the price they opened at. `max_session_blocks = 0`
    /// withdraws the offer.
    SetOffer {
        device: DeviceId,
        credits_per_unit: u64,
        max_session_blocks: u64,
    },
    /// A customer opens a session with a device at its offer's price, escrowing up to
    /// `max_credits` of its credits until `expires_at`. The session id is
    /// [`session_id`]`(customer, nonce)`.
    OpenSession {
        device: DeviceId,
        credits_per_unit: u64,
        max_credits: u64,
        expires_at: u64,
    },
    /// Either party settles the increment of the latest doubly signed voucher.
    Settle {
        voucher: Voucher,
        customer_signature: AccountSignature,
        device_signature: DeviceSignature,
    },
    /// The customer ends the session now. The device may still settle during the grace
    /// window; then the unspent escrow returns to the customer.
    Close { session: Digest },
}

impl UsageCall {
    /// The module's name, for signing namespaces.
    pub const MODULE_NAME: &'static str = "usage";
}

impl Message for UsageCall {
    const MODULE: &'static str = Self::MODULE_NAME;

    fn name(&self) -> &'static str {
        match self {
            UsageCall::SetOffer { .. } => "set-offer",
            UsageCall::OpenSession { .. } => "open-session",
            UsageCall::Settle { .. } => "settle",
            UsageCall::Close { .. } => "close",
        }
    }
}

/// The id of the session a customer opens with `nonce`:
/// `sha256("groundwork-session" ‖ customer address ‖ nonce)`, known before it lands.
pub fn session_id(customer: &crate::address::Address, nonce: u64) -> Digest {
    crate::hash::hash_parts(&[b"groundwork-session", &customer.0, &nonce.to_be_bytes()])
}

impl Write for UsageCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            UsageCall::SetOffer {
                device,
                credits_per_unit,
                max_session_blocks,
            } => {
                0u8.write(buf);
                device.write(buf);
                credits_per_unit.write(buf);
                max_session_blocks.write(buf);
            }
            UsageCall::OpenSession {
                device,
                credits_per_unit,
                max_credits,
                expires_at,
            } => {
                1u8.write(buf);
                device.write(buf);
                credits_per_unit.write(buf);
                max_credits.write(buf);
                expires_at.write(buf);
            }
            UsageCall::Settle {
                voucher,
                customer_signature,
                device_signature,
            } => {
                2u8.write(buf);
                voucher.write(buf);
                customer_signature.write(buf);
                device_signature.write(buf);
            }
            UsageCall::Close { session } => {
                3u8.write(buf);
                session.write(buf);
            }
        }
    }
}

impl EncodeSize for UsageCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            UsageCall::SetOffer {
                device,
                credits_per_unit,
                max_session_blocks,
            } => {
                device.encode_size()
                    + credits_per_unit.encode_size()
                    + max_session_blocks.encode_size()
            }
            UsageCall::OpenSession {
                device,
                credits_per_unit,
                max_credits,
                expires_at,
            } => {
                device.encode_size()
                    + credits_per_unit.encode_size()
                    + max_credits.encode_size()
                    + expires_at.encode_size()
            }
            UsageCall::Settle {
                voucher,
                customer_signature,
                device_signature,
            } => {
                voucher.encode_size()
                    + customer_signature.encode_size()
                    + device_signature.encode_size()
            }
            UsageCall::Close { session } => session.encode_size(),
        }
    }
}

impl Read for UsageCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(UsageCall::SetOffer {
                device: DeviceId::read(buf)?,
                credits_per_unit: u64::read(buf)?,
                max_session_blocks: u64::read(buf)?,
            }),
            1 => Ok(UsageCall::OpenSession {
                device: DeviceId::read(buf)?,
                credits_per_unit: u64::read(buf)?,
                max_credits: u64::read(buf)?,
                expires_at: u64::read(buf)?,
            }),
            2 => Ok(UsageCall::Settle {
                voucher: Voucher::read(buf)?,
                customer_signature: AccountSignature::read(buf)?,
                device_signature: DeviceSignature::read(buf)?,
            }),
            3 => Ok(UsageCall::Close {
                session: Digest::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}
