//! The storage module's messages: a provider's capacity and collateral, a client's deal set
//! with escrowed credits, the provider device's acceptance and its possession proofs.

use super::Message;
use crate::address::Address;
use crate::amount::Amount;
use crate::hash::{Digest, hash_parts};
use crate::keys::DeviceId;
use crate::limits::{
    MAX_CHALLENGES_PER_PERIOD, MAX_ENDPOINT_BYTES, MAX_LEAF_BYTES, MAX_PROOF_PATH,
    MAX_SHARDS_PER_SET,
};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};

/// A provider's agent URL, at most [`MAX_ENDPOINT_BYTES`].
pub type Endpoint = super::attest::BoundedBytes<MAX_ENDPOINT_BYTES>;

/// One shard of a deal set: which provider keeps it, its commitment and the price asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardDeal {
    pub provider: DeviceId,
    /// The root of the shard's BLAKE3 tree (`groundwork-storage`), its length included.
    pub root: [u8; 32],
    pub size_bytes: u64,
    /// Must equal the provider's offer (credits per GiB-epoch) when the deal lands.
    pub credits_per_gib_epoch: u64,
}
crate::impl_struct_codec!(ShardDeal {
    provider,
    root,
    size_bytes,
    credits_per_gib_epoch
});

/// One challenged leaf's answer: its bytes and its sibling path to the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafAnswer {
    pub index: u64,
    pub leaf: Vec<u8>,
    pub path: Vec<[u8; 32]>,
}

/// What an account asks of the storage module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageCall {
    /// A storage device's owner offers `capacity_bytes` and locks `collateral_per_gib` for
    /// every GiB of it (rounded up). The price is the device's usage offer, in credits per
    /// GiB-epoch. Calling again resizes; capacity 0 withdraws what no deal holds.
    Provide {
        device: DeviceId,
        capacity_bytes: u64,
        collateral_per_gib: Amount,
        /// Where clients reach the device's agent: an `http://` or `https://` URL.
        endpoint: Endpoint,
    },
    /// A client stores one file as `shards` (data shards first), any `data_shards` of which
    /// rebuild it, for `periods` proving periods, escrowing every shard's price. The set's id
    /// is [`deal_set_id`]`(client, nonce)`; shard `i`'s deal is [`deal_id`]`(set, i)`.
    Propose {
        file_size: u64,
        /// BLAKE3 of the whole file, so a reader can check what it rebuilt.
        file_hash: [u8; 32],
        data_shards: u8,
        periods: u32,
        shards: Vec<ShardDeal>,
    },
    /// The client ends every deal of the set now: unspent escrow comes back; providers keep
    /// what they proved.
    End { set: Digest },
}

/// What a storage device reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageReport {
    /// The provider holds the deal's bytes and checked them against its root.
    Accept { deal: Digest },
    /// The answers to the deal's challenges for `period`, in the order they were drawn.
    Prove {
        deal: Digest,
        period: u64,
        leaves: Vec<LeafAnswer>,
    },
    /// A retrieval checker's result: it was drawn at `position` to fetch `block` of the
    /// deal's shard from its provider in `period`, and got it verified (`ok`) or not.
    Check {
        deal: Digest,
        period: u64,
        position: u16,
        block: u64,
        ok: bool,
    },
}

impl StorageCall {
    pub const MODULE_NAME: &'static str = "storage";
}

impl Message for StorageCall {
    const MODULE: &'static str = StorageCall::MODULE_NAME;

    fn name(&self) -> &'static str {
        match self {
            StorageCall::Provide { .. } => "provide",
            StorageCall::Propose { .. } => "propose",
            StorageCall::End { .. } => "end",
        }
    }
}

impl Message for StorageReport {
    const MODULE: &'static str = StorageCall::MODULE_NAME;

    fn name(&self) -> &'static str {
        match self {
            StorageReport::Accept { .. } => "accept",
            StorageReport::Prove { .. } => "prove",
            StorageReport::Check { .. } => "check",
        }
    }
}

impl StorageReport {
    /// The deal a report is about: a device may have one of each message pending per deal.
    pub fn deal(&self) -> Digest {
        match self {
            StorageReport::Accept { deal }
            | StorageReport::Prove { deal, .. }
            | StorageReport::Check { deal, .. } => *deal,
        }
    }
}

/// `sha256("groundwork-deal-set" ‖ client ‖ nonce)`: known before the proposal lands.
pub fn deal_set_id(client: &Address, nonce: u64) -> Digest {
    hash_parts(&[b"groundwork-deal-set", &client.0, &nonce.to_be_bytes()])
}

/// `sha256("groundwork-deal" ‖ set ‖ shard index)`.
pub fn deal_id(set: &Digest, index: u8) -> Digest {
    hash_parts(&[b"groundwork-deal", set.as_ref(), &[index]])
}

// ---- codec -----------------------------------------------------------------------------

fn write_list<T: Write>(items: &[T], max: usize, buf: &mut impl bytes::BufMut) {
    // The decoder refuses more than `max` (< 256), so the count fits a byte.
    let n = items.len().min(max);
    (n as u8).write(buf);
    items.iter().take(n).for_each(|item| item.write(buf));
}

fn list_size<T: EncodeSize>(items: &[T], max: usize) -> usize {
    1 + items
        .iter()
        .take(max)
        .map(EncodeSize::encode_size)
        .sum::<usize>()
}

impl Write for LeafAnswer {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.index.write(buf);
        let n = self.leaf.len().min(MAX_LEAF_BYTES);
        (n as u16).write(buf);
        buf.put_slice(&self.leaf[..n]);
        write_list(&self.path, MAX_PROOF_PATH, buf);
    }
}

impl EncodeSize for LeafAnswer {
    fn encode_size(&self) -> usize {
        8 + 2 + self.leaf.len().min(MAX_LEAF_BYTES) + list_size(&self.path, MAX_PROOF_PATH)
    }
}

impl Read for LeafAnswer {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let index = u64::read(buf)?;
        let len = usize::from(u16::read(buf)?);
        if len > MAX_LEAF_BYTES {
            return Err(CodecError::InvalidLength(len));
        }
        if buf.remaining() < len {
            return Err(CodecError::EndOfBuffer);
        }
        let mut leaf = vec![0u8; len];
        buf.copy_to_slice(&mut leaf);
        let count = usize::from(u8::read(buf)?);
        if count > MAX_PROOF_PATH {
            return Err(CodecError::InvalidLength(count));
        }
        let mut path = Vec::with_capacity(count);
        for _ in 0..count {
            path.push(<[u8; 32]>::read(buf)?);
        }
        Ok(Self { index, leaf, path })
    }
}

impl Write for StorageCall {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            StorageCall::Provide {
                device,
                capacity_bytes,
                collateral_per_gib,
                endpoint,
            } => {
                0u8.write(buf);
                device.write(buf);
                capacity_bytes.write(buf);
                collateral_per_gib.write(buf);
                endpoint.write(buf);
            }
            StorageCall::Propose {
                file_size,
                file_hash,
                data_shards,
                periods,
                shards,
            } => {
                1u8.write(buf);
                file_size.write(buf);
                file_hash.write(buf);
                data_shards.write(buf);
                periods.write(buf);
                write_list(shards, MAX_SHARDS_PER_SET, buf);
            }
            StorageCall::End { set } => {
                2u8.write(buf);
                set.write(buf);
            }
        }
    }
}

impl EncodeSize for StorageCall {
    fn encode_size(&self) -> usize {
        1 + match self {
            StorageCall::Provide {
                device,
                capacity_bytes,
                collateral_per_gib,
                endpoint,
            } => {
                device.encode_size()
                    + capacity_bytes.encode_size()
                    + collateral_per_gib.encode_size()
                    + endpoint.encode_size()
            }
            StorageCall::Propose { shards, .. } => {
                8 + 32 + 1 + 4 + list_size(shards, MAX_SHARDS_PER_SET)
            }
            StorageCall::End { set } => set.encode_size(),
        }
    }
}

impl Read for StorageCall {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(StorageCall::Provide {
                device: DeviceId::read(buf)?,
                capacity_bytes: u64::read(buf)?,
                collateral_per_gib: Amount::read(buf)?,
                endpoint: Endpoint::read(buf)?,
            }),
            1 => {
                let file_size = u64::read(buf)?;
                let file_hash = <[u8; 32]>::read(buf)?;
                let data_shards = u8::read(buf)?;
                let periods = u32::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if count == 0 || count > MAX_SHARDS_PER_SET {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut shards = Vec::with_capacity(count);
                for _ in 0..count {
                    shards.push(ShardDeal::read(buf)?);
                }
                Ok(StorageCall::Propose {
                    file_size,
                    file_hash,
                    data_shards,
                    periods,
                    shards,
                })
            }
            2 => Ok(StorageCall::End {
                set: Digest::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

impl Write for StorageReport {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        match self {
            StorageReport::Accept { deal } => {
                0u8.write(buf);
                deal.write(buf);
            }
            StorageReport::Prove {
                deal,
                period,
                leaves,
            } => {
                1u8.write(buf);
                deal.write(buf);
                period.write(buf);
                write_list(leaves, MAX_CHALLENGES_PER_PERIOD, buf);
            }
            StorageReport::Check {
                deal,
                period,
                position,
                block,
                ok,
            } => {
                2u8.write(buf);
                deal.write(buf);
                period.write(buf);
                position.write(buf);
                block.write(buf);
                ok.write(buf);
            }
        }
    }
}

impl EncodeSize for StorageReport {
    fn encode_size(&self) -> usize {
        1 + match self {
            StorageReport::Accept { deal } => deal.encode_size(),
            StorageReport::Prove { deal, leaves, .. } => {
                deal.encode_size() + 8 + list_size(leaves, MAX_CHALLENGES_PER_PERIOD)
            }
            StorageReport::Check { deal, .. } => deal.encode_size() + 8 + 2 + 8 + 1,
        }
    }
}

impl Read for StorageReport {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(StorageReport::Accept {
                deal: Digest::read(buf)?,
            }),
            1 => {
                let deal = Digest::read(buf)?;
                let period = u64::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if count == 0 || count > MAX_CHALLENGES_PER_PERIOD {
                    return Err(CodecError::InvalidLength(count));
                }
                let mut leaves = Vec::with_capacity(count);
                for _ in 0..count {
                    leaves.push(LeafAnswer::read(buf)?);
                }
                Ok(StorageReport::Prove {
                    deal,
                    period,
                    leaves,
                })
            }
            2 => Ok(StorageReport::Check {
                deal: Digest::read(buf)?,
                period: u64::read(buf)?,
                position: u16::read(buf)?,
                block: u64::read(buf)?,
                ok: bool::read(buf)?,
            }),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;

    #[test]
    fn a_proof_round_trips_and_oversized_lists_are_refused() {
        let report = StorageReport::Prove {
            deal: hash_parts(&[b"d"]),
            period: 9,
            leaves: vec![LeafAnswer {
                index: 3,
                leaf: vec![7; 256],
                path: vec![[1; 32]; 16],
            }],
        };
        let bytes = report.encode();
        assert_eq!(bytes.len(), report.encode_size());
        assert_eq!(
            crate::decode_exact::<StorageReport>(&bytes).unwrap(),
            report
        );
        // A leaf longer than MAX_LEAF_BYTES is refused by its length, before any allocation.
        let mut long = bytes.to_vec();
        let at = 1 + 32 + 8 + 1 + 8;
        long[at..at + 2].copy_from_slice(&((MAX_LEAF_BYTES + 1) as u16).to_be_bytes());
        assert!(crate::decode_exact::<StorageReport>(&long).is_err());
    }
}
