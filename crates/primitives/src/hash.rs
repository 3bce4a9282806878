//! The one hash function of the protocol: SHA-256 (hardware-accelerated on the machines we run).

use commonware_cryptography::{Hasher, Sha256};

/// A 32-byte SHA-256 digest: block ids, transaction ids, roots.
pub type Digest = commonware_cryptography::sha256::Digest;

/// Hashes one byte string.
pub fn hash(bytes: &[u8]) -> Digest {
    Sha256::hash(&[bytes])
}

/// Hashes the concatenation of several byte strings without copying them together.
pub fn hash_parts(parts: &[&[u8]]) -> Digest {
    Sha256::hash(parts)
}

/// Binary Merkle root over leaf digests; an odd node is paired with itself, the empty list has
/// the all-zero root. Leaves and inner nodes are domain-separated so no inner node can pose as
/// a leaf.
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    if leaves.is_empty() {
        return Digest::from([0u8; 32]);
    }
    let mut level: Vec<Digest> = leaves
        .iter()
        .map(|leaf| hash_parts(&[&[0u8], leaf.as_ref()]))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let right = pair.get(1).unwrap_or(&pair[0]);
                hash_parts(&[&[1u8], pair[0].as_ref(), right.as_ref()])
            })
            .collect();
    }
    level[0]
}

/// Lower-case hex of a digest, the form shown to people.
pub fn digest_hex(digest: &Digest) -> String {
    hex::encode(digest.as_ref())
}

/// Parses a 64-character hex digest.
pub fn digest_from_hex(text: &str) -> Option<Digest> {
    let bytes = hex::decode(text.trim_start_matches("0x")).ok()?;
    let array: [u8; 32] = bytes.try_into().ok()?;
    Some(Digest::from(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_root_depends_on_order_and_content() {
        let a = hash(b"a");
        let b = hash(b"b");
        assert_ne!(merkle_root(&[a, b]), merkle_root(&[b, a]));
        assert_ne!(merkle_root(&[a]), merkle_root(&[a, a, a]));
        assert_eq!(merkle_root(&[]), Digest::from([0u8; 32]));
        assert_eq!(digest_from_hex(&digest_hex(&a)), Some(a));
    }
}
