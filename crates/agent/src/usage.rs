//! Usage: what a device checks before it co-signs a customer's voucher.
//!
//! A voucher says "the customer received this many units, worth this many credits, in this
//! session so far". The device co-signs it only if the session on chain is this device's and
//! still open, the credits are the units at the session's price and within its escrow, the
//! session's customer signed it, and it is not below a voucher already co-signed: co-signing
//! less would let the customer settle for less than was served.

use commonware_codec::Encode;
use commonware_cryptography::Verifier;
use groundwork_api as api;
use groundwork_primitives::hash::{Digest, digest_from_hex, digest_hex};
use groundwork_primitives::keys::{AccountPublicKey, AccountSignature, account_address};
use groundwork_primitives::{ChainId, DeviceKey, Voucher, decode_exact};

/// Why a device does not co-sign a voucher.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoucherRefusal {
    #[error("`session` is not 64 hex characters")]
    MalformedSession,
    #[error("`customer_signature` is missing or malformed")]
    MalformedSignature,
    #[error("session {session} is with device {device}, not this one")]
    OtherDevice { session: String, device: String },
    #[error("session {session} is {status}: no more service")]
    NotOpen { session: String, status: String },
    #[error("{credits} credits for {units} units is not the session's price of {price} per unit")]
    WrongPrice {
        credits: u64,
        units: u64,
        price: u64,
    },
    #[error("{credits} credits is above the {escrow} in escrow")]
    AboveEscrow { credits: u64, escrow: u64 },
    #[error("the node sent a malformed customer key")]
    MalformedCustomerKey,
    #[error("the voucher is not signed by the session's customer")]
    NotTheCustomers,
    #[error("a voucher for {cosigned} credits was co-signed already; this one is for {credits}")]
    BelowCosigned { cosigned: u64, credits: u64 },
}

/// Who is at fault for a refusal, for the service port's HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The request is malformed.
    Request,
    /// The request is well formed but disagrees with the session.
    Conflict,
    /// The node's answer is malformed.
    Node,
}

impl VoucherRefusal {
    pub fn fault(&self) -> Fault {
        match self {
            VoucherRefusal::MalformedSession | VoucherRefusal::MalformedSignature => Fault::Request,
            VoucherRefusal::MalformedCustomerKey => Fault::Node,
            _ => Fault::Conflict,
        }
    }
}

/// The session a voucher names.
pub fn session_of(offered: &api::SignedVoucher) -> Result<Digest, VoucherRefusal> {
    digest_from_hex(&offered.session).ok_or(VoucherRefusal::MalformedSession)
}

/// What the device answers a voucher with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cosigned {
    /// The same credits as the voucher co-signed before: that one again.
    Again(api::SignedVoucher),
    /// Newly co-signed: the device keeps it (before it answers) and answers with it.
    New(api::SignedVoucher),
}

/// Checks `offered` against `session` as the chain has it and `previous` (the latest voucher
/// the device co-signed in that session), and co-signs it with `key`.
pub fn cosign(
    key: &DeviceKey,
    chain: &ChainId,
    session: &api::Session,
    previous: Option<&api::SignedVoucher>,
    offered: &api::SignedVoucher,
) -> Result<Cosigned, VoucherRefusal> {
    let id = session_of(offered)?;
    if session.device != key.id().to_string() {
        return Err(VoucherRefusal::OtherDevice {
            session: session.id.clone(),
            device: session.device.clone(),
        });
    }
    if session.status != "open" {
        return Err(VoucherRefusal::NotOpen {
            session: session.id.clone(),
            status: session.status.clone(),
        });
    }
    let (units, credits) = (offered.cumulative_units, offered.cumulative_credits);
    if units.checked_mul(session.credits_per_unit) != Some(credits) {
        return Err(VoucherRefusal::WrongPrice {
            credits,
            units,
            price: session.credits_per_unit,
        });
    }
    if credits > session.max_credits {
        return Err(VoucherRefusal::AboveEscrow {
            credits,
            escrow: session.max_credits,
        });
    }
    let voucher = Voucher {
        session: id,
        cumulative_units: units,
        cumulative_credits: credits,
    };
    let signature = offered
        .customer_signature
        .as_deref()
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| decode_exact::<AccountSignature>(&b).ok())
        .ok_or(VoucherRefusal::MalformedSignature)?;
    let customer_key = hex::decode(&session.customer_key)
        .ok()
        .and_then(|b| decode_exact::<AccountPublicKey>(&b).ok())
        .ok_or(VoucherRefusal::MalformedCustomerKey)?;
    if account_address(&customer_key).to_string() != session.customer
        || !customer_key.verify(&Voucher::namespace(chain), &voucher.message(), &signature)
    {
        return Err(VoucherRefusal::NotTheCustomers);
    }
    if let Some(previous) = previous {
        if previous.cumulative_credits > credits {
            return Err(VoucherRefusal::BelowCosigned {
                cosigned: previous.cumulative_credits,
                credits,
            });
        }
        if previous.cumulative_credits == credits {
            return Ok(Cosigned::Again(previous.clone()));
        }
    }
    let device_signature = voucher.sign_as_device(key, chain);
    Ok(Cosigned::New(api::SignedVoucher {
        session: digest_hex(&id),
        cumulative_units: units,
        cumulative_credits: credits,
        customer_signature: offered.customer_signature.clone(),
        device_signature: Some(hex::encode(device_signature.encode())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Signer;
    use groundwork_primitives::AccountKey;
    use groundwork_primitives::hash::hash;
    use groundwork_primitives::keys::KeyScheme;

    struct Case {
        chain: ChainId,
        device: DeviceKey,
        customer: AccountKey,
        session: api::Session,
    }

    fn case() -> Case {
        let chain: ChainId = "groundwork-test".parse().unwrap();
        let device = DeviceKey::from_seed(KeyScheme::Ed25519, 9);
        let customer = AccountKey::from_seed(5);
        let session = api::Session {
            id: digest_hex(&hash(b"session")),
            customer: account_address(&customer.public_key()).to_string(),
            customer_key: hex::encode(customer.public_key().encode()),
            device: device.id().to_string(),
            credits_per_unit: 3,
            max_credits: 300,
            opened_at: 1,
            ends_at: 100,
            settle_by: 130,
            settled_units: 0,
            settled_credits: 0,
            escrowed: 300,
            refunded: None,
            status: "open".to_string(),
        };
        Case {
            chain,
            device,
            customer,
            session,
        }
    }

    fn offer(c: &Case, units: u64, credits: u64) -> api::SignedVoucher {
        let voucher = Voucher {
            session: hash(b"session"),
            cumulative_units: units,
            cumulative_credits: credits,
        };
        let signature = voucher.sign_as_customer(&c.customer, &c.chain);
        api::SignedVoucher {
            session: c.session.id.clone(),
            cumulative_units: units,
            cumulative_credits: credits,
            customer_signature: Some(hex::encode(signature.encode())),
            device_signature: None,
        }
    }

    #[test]
    fn a_good_voucher_is_cosigned_once_and_answered_again() {
        let c = case();
        let Ok(Cosigned::New(first)) =
            cosign(&c.device, &c.chain, &c.session, None, &offer(&c, 10, 30))
        else {
            panic!("refused");
        };
        assert!(first.device_signature.is_some());
        assert_eq!(
            cosign(
                &c.device,
                &c.chain,
                &c.session,
                Some(&first),
                &offer(&c, 10, 30)
            ),
            Ok(Cosigned::Again(first.clone()))
        );
        assert_eq!(
            cosign(
                &c.device,
                &c.chain,
                &c.session,
                Some(&first),
                &offer(&c, 9, 27)
            ),
            Err(VoucherRefusal::BelowCosigned {
                cosigned: 30,
                credits: 27
            })
        );
    }

    #[test]
    fn each_check_refuses_by_name() {
        let c = case();
        let refuse = |session: &api::Session, offered: &api::SignedVoucher| {
            cosign(&c.device, &c.chain, session, None, offered).unwrap_err()
        };
        assert_eq!(
            refuse(&c.session, &offer(&c, 10, 31)),
            VoucherRefusal::WrongPrice {
                credits: 31,
                units: 10,
                price: 3
            }
        );
        assert_eq!(
            refuse(&c.session, &offer(&c, 101, 303)),
            VoucherRefusal::AboveEscrow {
                credits: 303,
                escrow: 300
            }
        );
        let mut closed = c.session.clone();
        closed.status = "ended".to_string();
        assert!(matches!(
            refuse(&closed, &offer(&c, 1, 3)),
            VoucherRefusal::NotOpen { .. }
        ));
        let mut other = c.session.clone();
        other.device = DeviceKey::from_seed(KeyScheme::Ed25519, 10)
            .id()
            .to_string();
        assert!(matches!(
            refuse(&other, &offer(&c, 1, 3)),
            VoucherRefusal::OtherDevice { .. }
        ));
        // Signed by someone else.
        let mut forged = offer(&c, 1, 3);
        let stranger = AccountKey::from_seed(6);
        let voucher = Voucher {
            session: hash(b"session"),
            cumulative_units: 1,
            cumulative_credits: 3,
        };
        forged.customer_signature = Some(hex::encode(
            voucher.sign_as_customer(&stranger, &c.chain).encode(),
        ));
        assert_eq!(refuse(&c.session, &forged), VoucherRefusal::NotTheCustomers);
        let mut unsigned = offer(&c, 1, 3);
        unsigned.customer_signature = None;
        assert_eq!(
            refuse(&c.session, &unsigned),
            VoucherRefusal::MalformedSignature
        );
        assert_eq!(VoucherRefusal::MalformedSignature.fault(), Fault::Request);
        let mut bad_id = offer(&c, 1, 3);
        bad_id.session = "zz".to_string();
        assert_eq!(
            refuse(&c.session, &bad_id),
            VoucherRefusal::MalformedSession
        );
    }
}
