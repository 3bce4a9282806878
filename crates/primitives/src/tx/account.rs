//! The account envelope: signer, nonce, validity window, one module call, signature.

use super::Call;
use crate::address::Address;
use crate::domain::ChainId;
use crate::keys::{AccountKey, AccountPublicKey, AccountSignature, account_address};
use crate::limits::MAX_TRANSACTION_LIFETIME_BLOCKS;
use commonware_codec::{EncodeSize, Write};
use commonware_cryptography::{Signer, Verifier};

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
    pub call: Call,
    pub signature: AccountSignature,
}

impl AccountTransaction {
    /// Signs `call` as the account of `key` with `nonce` on `chain`, includable up to the
    /// block at height `valid_until`.
    pub fn sign(
        key: &AccountKey,
        chain: &ChainId,
        nonce: u64,
        valid_until: u64,
        call: impl Into<Call>,
    ) -> Self {
        let call = call.into();
        let signer = key.public_key();
        let payload = Self::payload(&signer, nonce, valid_until, &call);
        let signature = key.sign(&call.namespace(chain), &payload);
        Self {
            signer,
            nonce,
            valid_until,
            call,
            signature,
        }
    }

    /// The bytes the signature covers (after the namespace).
    pub fn payload(
        signer: &AccountPublicKey,
        nonce: u64,
        valid_until: u64,
        call: &Call,
    ) -> Vec<u8> {
        let mut buf = Vec::with_capacity(signer.encode_size() + 16 + call.encode_size());
        signer.write(&mut buf);
        nonce.write(&mut buf);
        valid_until.write(&mut buf);
        call.write(&mut buf);
        buf
    }

    pub fn signing_payload(&self) -> Vec<u8> {
        Self::payload(&self.signer, self.nonce, self.valid_until, &self.call)
    }

    /// The namespace the signature is made under on `chain`.
    pub fn namespace(&self, chain: &ChainId) -> Vec<u8> {
        self.call.namespace(chain)
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
            &self.namespace(chain),
            &self.signing_payload(),
            &self.signature,
        )
    }
}

crate::impl_struct_codec!(AccountTransaction {
    signer,
    nonce,
    valid_until,
    call,
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
