//! BIP39 mnemonics (English word list): a key written down as words.
//!
//! The words encode entropy plus a checksum, so a mistyped or swapped word is caught before any
//! key is derived. The seed is PBKDF2-HMAC-SHA512 over the words, 2048 rounds, salted with
//! `"mnemonic"` followed by an optional passphrase; [`crate::slip10`] turns it into keys.

use std::fmt;
use zeroize::Zeroizing;

/// Words in a mnemonic made by [`Mnemonic::generate`]: 256 bits of entropy.
pub const NEW_MNEMONIC_WORDS: usize = 24;

/// Longer input than any 24-word English mnemonic with generous spacing is refused unread.
const MAX_PHRASE_LENGTH: usize = 1024;

/// Why a mnemonic was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MnemonicError {
    #[error("mnemonic has {count} words; BIP39 mnemonics have 12, 15, 18, 21 or 24")]
    WordCount { count: usize },
    #[error("mnemonic word {position} is not in the BIP39 English word list")]
    UnknownWord { position: usize },
    #[error("mnemonic checksum does not match: a word is wrong or out of order")]
    Checksum,
    #[error("mnemonic is longer than {MAX_PHRASE_LENGTH} characters")]
    TooLong,
    #[error("invalid mnemonic: {reason}")]
    Invalid { reason: String },
    #[error("no randomness from the operating system: {reason}")]
    Randomness { reason: String },
}

impl From<bip39::Error> for MnemonicError {
    fn from(error: bip39::Error) -> Self {
        match error {
            bip39::Error::BadWordCount(count) => MnemonicError::WordCount { count },
            bip39::Error::UnknownWord(index) => MnemonicError::UnknownWord {
                position: index + 1,
            },
            bip39::Error::InvalidChecksum => MnemonicError::Checksum,
            other => MnemonicError::Invalid {
                reason: other.to_string(),
            },
        }
    }
}

/// A valid English BIP39 mnemonic. Wiped from memory when dropped; never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Mnemonic(bip39::Mnemonic);

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mnemonic(<{} words>)", self.word_count())
    }
}

impl Mnemonic {
    /// A new 24-word mnemonic from the operating system's randomness.
    pub fn generate() -> Result<Self, MnemonicError> {
        let mut entropy = Zeroizing::new([0u8; 32]);
        getrandom::fill(entropy.as_mut()).map_err(|e| MnemonicError::Randomness {
            reason: e.to_string(),
        })?;
        Ok(Mnemonic(bip39::Mnemonic::from_entropy(entropy.as_ref())?))
    }

    /// Parses words separated by any whitespace, in any letter case; checks every word and the
    /// checksum.
    pub fn parse(phrase: &str) -> Result<Self, MnemonicError> {
        if phrase.len() > MAX_PHRASE_LENGTH {
            return Err(MnemonicError::TooLong);
        }
        let words: Zeroizing<Vec<String>> = Zeroizing::new(
            phrase
                .split_whitespace()
                .map(|word| word.to_lowercase())
                .collect(),
        );
        let normalized = Zeroizing::new(words.join(" "));
        let parsed = bip39::Mnemonic::parse_in(bip39::Language::English, normalized.as_str())?;
        Ok(Mnemonic(parsed))
    }

    /// The words, separated by single spaces. A secret: show it only to the key's owner.
    pub fn phrase(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.to_string())
    }

    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The 64-byte BIP39 seed. `passphrase` is BIP39's optional extra word ("" for none).
    pub fn to_seed(&self, passphrase: &str) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.0.to_seed(passphrase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABANDON_ABOUT: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                                 abandon abandon abandon about";

    #[test]
    fn bip39_vector_with_trezor_passphrase() {
        let mnemonic = Mnemonic::parse(ABANDON_ABOUT).unwrap();
        assert_eq!(
            hex::encode(mnemonic.to_seed("TREZOR").as_ref()),
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f\
             09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        );
    }

    #[test]
    fn parsing_normalises_spacing_and_case() {
        let messy = format!("  {}\n", ABANDON_ABOUT.to_uppercase().replace(' ', " \t "));
        assert_eq!(
            Mnemonic::parse(&messy).unwrap(),
            Mnemonic::parse(ABANDON_ABOUT).unwrap()
        );
        assert_eq!(
            Mnemonic::parse(ABANDON_ABOUT).unwrap().phrase().as_str(),
            ABANDON_ABOUT
        );
    }

    #[test]
    fn bad_mnemonics_give_typed_errors() {
        // "about" carries the checksum; "abandon" in its place breaks it.
        let bad_checksum = ABANDON_ABOUT.replace("about", "abandon");
        assert_eq!(Mnemonic::parse(&bad_checksum), Err(MnemonicError::Checksum));
        let unknown = ABANDON_ABOUT.replacen("abandon", "abandonx", 2);
        assert_eq!(
            Mnemonic::parse(&unknown),
            Err(MnemonicError::UnknownWord { position: 1 })
        );
        assert!(matches!(
            Mnemonic::parse("abandon abandon about"),
            Err(MnemonicError::WordCount { count: 3 })
        ));
        assert!(matches!(
            Mnemonic::parse(""),
            Err(MnemonicError::WordCount { .. })
        ));
        assert_eq!(
            Mnemonic::parse(&"a".repeat(2000)),
            Err(MnemonicError::TooLong)
        );
        assert!(Mnemonic::parse("abandon\u{0}abandon").is_err());
    }

    #[test]
    fn generated_mnemonics_have_24_words_and_differ() {
        let first = Mnemonic::generate().unwrap();
        let second = Mnemonic::generate().unwrap();
        assert_eq!(first.word_count(), NEW_MNEMONIC_WORDS);
        assert_ne!(first, second);
        assert_eq!(Mnemonic::parse(&first.phrase()).unwrap(), first);
        assert!(!format!("{first:?}").contains(first.phrase().as_str()));
    }
}
