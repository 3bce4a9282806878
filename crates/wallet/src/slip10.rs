//! SLIP-0010 key derivation for ed25519: from a BIP39 seed to a key along a path.
//!
//! The master key is HMAC-SHA512 keyed with `"ed25519 seed"` over the seed; each child is
//! HMAC-SHA512 keyed with the parent's chain code over `0x00 ‖ parent key ‖ index`. The left
//! half is the child's key (an ed25519 seed), the right half its chain code. ed25519 has no
//! public derivation, so every index must be hardened (at least 2³¹, written `i'`).
//!
//! Groundwork accounts live at [`DEFAULT_ACCOUNT_PATH`], `m/44'/7477'/0'/0'/0'`: purpose 44
//! (BIP44), coin type [`COIN_TYPE`], then account, change and index, all hardened. Any SLIP-0010
//! wallet given the same words and path reaches the same key.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use std::fmt;
use std::str::FromStr;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Indices at or above this are hardened.
pub const HARDENED_OFFSET: u32 = 0x8000_0000;

/// Groundwork's BIP44 coin type. 7477 is not registered in SLIP-0044; it was chosen because no
/// other chain uses it, so a mnemonic shared with another wallet never yields the same key here.
pub const COIN_TYPE: u32 = 7477;

/// Where `groundwork keys new --mnemonic` and `keys import --mnemonic` put an account key.
pub const DEFAULT_ACCOUNT_PATH: &str = "m/44'/7477'/0'/0'/0'";

/// Longest path accepted: BIP32 serialises the depth in one byte.
pub const MAX_DEPTH: usize = 255;

/// BIP32 seeds are 128 to 512 bits.
pub const MIN_SEED_LENGTH: usize = 16;
pub const MAX_SEED_LENGTH: usize = 64;

const ED25519_CURVE_KEY: &[u8] = b"ed25519 seed";

/// Why a path did not parse or a key did not derive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerivationError {
    #[error("derivation path {path:?}: {reason}")]
    Syntax { path: String, reason: String },
    #[error(
        "derivation path segment {position} ({index}) is not hardened: ed25519 keys (SLIP-0010) \
         derive only hardened children; write {index}'"
    )]
    NotHardened { position: usize, index: u32 },
    #[error("seed is {found} bytes; BIP32 seeds are {MIN_SEED_LENGTH} to {MAX_SEED_LENGTH} bytes")]
    SeedLength { found: usize },
}

/// A derivation path such as `m/44'/7477'/0'/0'/0'`. Each index is stored with its hardened
/// bit; `'`, `h` and `H` all mark a hardened segment when parsing, and `'` is used when shown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// The default account path, [`DEFAULT_ACCOUNT_PATH`].
    pub fn default_account() -> Self {
        DerivationPath(
            [44, COIN_TYPE, 0, 0, 0]
                .iter()
                .map(|index| index | HARDENED_OFFSET)
                .collect(),
        )
    }

    /// A path from indices (hardened ones already carry [`HARDENED_OFFSET`]).
    pub fn from_indices(indices: Vec<u32>) -> Result<Self, DerivationError> {
        if indices.len() > MAX_DEPTH {
            return Err(DerivationError::Syntax {
                path: format!("{} segments", indices.len()),
                reason: format!("more than {MAX_DEPTH} segments"),
            });
        }
        Ok(DerivationPath(indices))
    }

    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    /// Checks that every segment is hardened, as ed25519 derivation requires, so a bad path
    /// is refused before anything else is asked for.
    pub fn check_ed25519(&self) -> Result<(), DerivationError> {
        match self.0.iter().position(|index| index & HARDENED_OFFSET == 0) {
            Some(position) => Err(DerivationError::NotHardened {
                position: position + 1,
                index: self.0[position],
            }),
            None => Ok(()),
        }
    }
}

impl FromStr for DerivationPath {
    type Err = DerivationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let syntax = |reason: String| DerivationError::Syntax {
            path: text.chars().take(80).collect(),
            reason,
        };
        let mut segments = text.trim().split('/');
        if segments.next() != Some("m") {
            return Err(syntax("must start with \"m\"".to_string()));
        }
        let mut indices = Vec::new();
        for (position, segment) in segments.enumerate() {
            if indices.len() == MAX_DEPTH {
                return Err(syntax(format!("more than {MAX_DEPTH} segments")));
            }
            let (digits, hardened) = match segment.strip_suffix(['\'', 'h', 'H']) {
                Some(digits) => (digits, true),
                None => (segment, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax(format!(
                    "segment {} ({segment:?}) is not a number optionally followed by '",
                    position + 1
                )));
            }
            let index = digits
                .parse::<u32>()
                .ok()
                .filter(|index| *index < HARDENED_OFFSET)
                .ok_or_else(|| {
                    syntax(format!(
                        "segment {} ({segment:?}) is not below 2^31",
                        position + 1
                    ))
                })?;
            indices.push(if hardened {
                index | HARDENED_OFFSET
            } else {
                index
            });
        }
        Ok(DerivationPath(indices))
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for index in &self.0 {
            if index & HARDENED_OFFSET != 0 {
                write!(f, "/{}'", index & !HARDENED_OFFSET)?;
            } else {
                write!(f, "/{index}")?;
            }
        }
        Ok(())
    }
}

/// A key and its chain code: one node of the derivation tree. Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ExtendedKey {
    secret: [u8; 32],
    chain_code: [u8; 32],
}

impl fmt::Debug for ExtendedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExtendedKey(<redacted>)")
    }
}

impl ExtendedKey {
    /// The master node of a seed.
    pub fn master(seed: &[u8]) -> Result<Self, DerivationError> {
        if !(MIN_SEED_LENGTH..=MAX_SEED_LENGTH).contains(&seed.len()) {
            return Err(DerivationError::SeedLength { found: seed.len() });
        }
        Ok(Self::from_hmac(ED25519_CURVE_KEY, &[seed]))
    }

    /// The hardened child at `index` (which must include [`HARDENED_OFFSET`]).
    pub fn child(&self, index: u32) -> Result<Self, DerivationError> {
        if index & HARDENED_OFFSET == 0 {
            return Err(DerivationError::NotHardened { position: 1, index });
        }
        Ok(Self::from_hmac(
            &self.chain_code,
            &[&[0u8], &self.secret, &index.to_be_bytes()],
        ))
    }

    /// The node at `path` below this one.
    pub fn derive(&self, path: &DerivationPath) -> Result<Self, DerivationError> {
        let mut node = self.clone();
        for (position, index) in path.indices().iter().enumerate() {
            node = node.child(*index).map_err(|error| match error {
                DerivationError::NotHardened { index, .. } => DerivationError::NotHardened {
                    position: position + 1,
                    index,
                },
                other => other,
            })?;
        }
        Ok(node)
    }

    /// The node's key: an ed25519 seed.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    fn from_hmac(key: &[u8], parts: &[&[u8]]) -> Self {
        // HMAC takes keys of any length, so this never fails; the fallback keeps it panic-free.
        let mut mac = match <Hmac<Sha512> as KeyInit>::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => <Hmac<Sha512> as KeyInit>::new(&Default::default()),
        };
        for part in parts {
            mac.update(part);
        }
        let output = Zeroizing::new(<[u8; 64]>::from(mac.finalize().into_bytes()));
        let mut node = ExtendedKey {
            secret: [0; 32],
            chain_code: [0; 32],
        };
        node.secret.copy_from_slice(&output[..32]);
        node.chain_code.copy_from_slice(&output[32..]);
        node
    }
}

/// The ed25519 node at `path` below `seed`.
pub fn derive_ed25519(seed: &[u8], path: &DerivationPath) -> Result<ExtendedKey, DerivationError> {
    ExtendedKey::master(seed)?.derive(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{Signer, ed25519};
    use groundwork_primitives::decode_exact;

    /// (path, chain code, private key, public key with SLIP-0010's leading 00 byte).
    type Vector = (&'static str, &'static str, &'static str, &'static str);

    fn check_vectors(seed: &str, vectors: &[Vector]) {
        let seed = hex::decode(seed).unwrap();
        for (path, chain_code, private, public) in vectors {
            let node = derive_ed25519(&seed, &path.parse().unwrap()).unwrap();
            assert_eq!(
                hex::encode(node.chain_code()),
                *chain_code,
                "chain code at {path}"
            );
            assert_eq!(
                hex::encode(node.secret()),
                *private,
                "private key at {path}"
            );
            let key = decode_exact::<ed25519::PrivateKey>(node.secret()).unwrap();
            let public = public.strip_prefix("00").unwrap();
            assert_eq!(
                hex::encode(key.public_key().as_ref()),
                public,
                "public key at {path}"
            );
        }
    }

    #[test]
    fn slip10_ed25519_test_vector_1() {
        check_vectors(
            "000102030405060708090a0b0c0d0e0f",
            &[
                (
                    "m",
                    "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
                    "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
                    "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
                ),
                (
                    "m/0'",
                    "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
                    "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
                    "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
                ),
                (
                    "m/0'/1'",
                    "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
                    "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
                    "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
                ),
                (
                    "m/0'/1'/2'",
                    "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
                    "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
                    "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
                ),
                (
                    "m/0'/1'/2'/2'",
                    "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
                    "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
                    "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
                ),
                (
                    "m/0'/1'/2'/2'/1000000000'",
                    "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
                    "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
                    "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
                ),
            ],
        );
    }

    #[test]
    fn slip10_ed25519_test_vector_2() {
        check_vectors(
            "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c99969390\
             8d8a8784817e7b7875726f6c696663605d5a5754514e4b484542",
            &[
                (
                    "m",
                    "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
                    "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
                    "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a",
                ),
                (
                    "m/0'",
                    "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d",
                    "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635",
                    "0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037",
                ),
                (
                    "m/0'/2147483647'",
                    "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
                    "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
                    "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d",
                ),
                (
                    "m/0'/2147483647'/1'",
                    "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90",
                    "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c",
                    "002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45",
                ),
                (
                    "m/0'/2147483647'/1'/2147483646'",
                    "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a",
                    "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72",
                    "00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b",
                ),
                (
                    "m/0'/2147483647'/1'/2147483646'/2'",
                    "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
                    "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
                    "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0",
                ),
            ],
        );
    }

    #[test]
    fn paths_parse_print_and_reject_bad_input() {
        let default: DerivationPath = DEFAULT_ACCOUNT_PATH.parse().unwrap();
        assert_eq!(default, DerivationPath::default_account());
        assert_eq!(default.to_string(), DEFAULT_ACCOUNT_PATH);
        assert_eq!(
            "m/44h/7477H/0'/0'/0'".parse::<DerivationPath>().unwrap(),
            default
        );
        assert_eq!(
            "m".parse::<DerivationPath>().unwrap().indices(),
            &[] as &[u32]
        );
        for bad in [
            "",
            "44'/0'",
            "m/",
            "m//0'",
            "m/x'",
            "m/-1'",
            "m/+1'",
            "m/2147483648'",
            "m/99999999999999999999'",
            "m/0''",
            "n/0'",
            "m/0'/",
        ] {
            assert!(
                matches!(
                    bad.parse::<DerivationPath>(),
                    Err(DerivationError::Syntax { .. })
                ),
                "{bad:?} parsed"
            );
        }
        let too_deep = format!("m{}", "/0'".repeat(MAX_DEPTH + 1));
        assert!(too_deep.parse::<DerivationPath>().is_err());
        let deepest = format!("m{}", "/0'".repeat(MAX_DEPTH));
        assert!(deepest.parse::<DerivationPath>().is_ok());
    }

    #[test]
    fn unhardened_segments_and_bad_seeds_are_refused() {
        let seed = [7u8; 64];
        let path: DerivationPath = "m/44'/7477'/0'/0/0'".parse().unwrap();
        let error = derive_ed25519(&seed, &path).unwrap_err();
        assert_eq!(
            error,
            DerivationError::NotHardened {
                position: 4,
                index: 0
            }
        );
        assert!(error.to_string().contains("not hardened"));
        assert_eq!(path.check_ed25519(), Err(error));
        assert_eq!(DerivationPath::default_account().check_ed25519(), Ok(()));
        assert_eq!(
            derive_ed25519(&[0u8; 15], &DerivationPath::default_account()).unwrap_err(),
            DerivationError::SeedLength { found: 15 }
        );
        assert!(derive_ed25519(&[0u8; 65], &DerivationPath::default_account()).is_err());
    }
}
