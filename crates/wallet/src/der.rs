//! The little DER that key files need, read strictly and written canonically.
//!
//! Only single-byte tags and definite lengths up to 65535 bytes are accepted: no key file needs
//! more, and anything else in a private key file is a sign of the wrong file. Lengths must be
//! minimal and must fit the input; a structure must be consumed to its last byte.

/// Tags used by the key formats.
pub mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OBJECT_IDENTIFIER: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;

    /// `[n]` constructed (EXPLICIT, or IMPLICIT over a constructed type).
    pub const fn context_constructed(number: u8) -> u8 {
        0xa0 | number
    }

    /// `[n]` primitive (IMPLICIT over a primitive type).
    pub const fn context_primitive(number: u8) -> u8 {
        0x80 | number
    }
}

/// Why DER did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DerError {
    #[error("DER ends inside {what}")]
    Truncated { what: &'static str },
    #[error("DER: expected {what} (tag 0x{expected:02x}), found tag 0x{found:02x}")]
    UnexpectedTag {
        what: &'static str,
        expected: u8,
        found: u8,
    },
    #[error("DER: {what} uses a multi-byte tag, which key files never do")]
    HighTag { what: &'static str },
    #[error("DER: length of {what} is indefinite, not minimal or above 65535 bytes")]
    BadLength { what: &'static str },
    #[error("DER: {what} claims {length} bytes but only {available} remain")]
    Overrun {
        what: &'static str,
        length: usize,
        available: usize,
    },
    #[error("DER: {count} unexpected bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    #[error("DER: {what} is not a small non-negative INTEGER")]
    BadInteger { what: &'static str },
    #[error("DER: {what} is a BIT STRING with unused bits")]
    BadBitString { what: &'static str },
}

/// Reads consecutive DER elements from a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// The next element, whatever its tag: `(tag, content)`.
    pub fn read_any(&mut self, what: &'static str) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self
            .input
            .split_first()
            .ok_or(DerError::Truncated { what })?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::HighTag { what });
        }
        let (&first, rest) = rest.split_first().ok_or(DerError::Truncated { what })?;
        let (length, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => {
                let (&byte, rest) = rest.split_first().ok_or(DerError::Truncated { what })?;
                if byte < 0x80 {
                    return Err(DerError::BadLength { what });
                }
                (usize::from(byte), rest)
            }
            0x82 => {
                let bytes = rest.get(..2).ok_or(DerError::Truncated { what })?;
                let length = usize::from(bytes[0]) << 8 | usize::from(bytes[1]);
                if length < 0x100 {
                    return Err(DerError::BadLength { what });
                }
                (length, &rest[2..])
            }
            _ => return Err(DerError::BadLength { what }),
        };
        if length > rest.len() {
            return Err(DerError::Overrun {
                what,
                length,
                available: rest.len(),
            });
        }
        let (content, rest) = rest.split_at(length);
        self.input = rest;
        Ok((tag, content))
    }

    /// The next element, which must have `expected` as its tag.
    pub fn read(&mut self, expected: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        let found = self.peek_tag().ok_or(DerError::Truncated { what })?;
        if found != expected {
            return Err(DerError::UnexpectedTag {
                what,
                expected,
                found,
            });
        }
        Ok(self.read_any(what)?.1)
    }

    /// The next element if it has tag `expected`; nothing (and nothing consumed) otherwise.
    pub fn read_optional(
        &mut self,
        expected: u8,
        what: &'static str,
    ) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(expected) {
            self.read(expected, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// An INTEGER between 0 and 127, as versions are.
    pub fn read_small_uint(&mut self, what: &'static str) -> Result<u8, DerError> {
        match self.read(tag::INTEGER, what)? {
            [value] if *value < 0x80 => Ok(*value),
            _ => Err(DerError::BadInteger { what }),
        }
    }

    /// A BIT STRING of whole bytes (no unused bits), as keys are.
    pub fn read_bit_string(&mut self, what: &'static str) -> Result<&'a [u8], DerError> {
        bit_string_bytes(self.read(tag::BIT_STRING, what)?, what)
    }

    /// Fails unless every byte has been read.
    pub fn finish(&self, what: &'static str) -> Result<(), DerError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingBytes {
                what,
                count: self.input.len(),
            })
        }
    }
}

/// The bytes of a BIT STRING's content (its first byte counts unused bits and must be 0).
pub fn bit_string_bytes<'a>(content: &'a [u8], what: &'static str) -> Result<&'a [u8], DerError> {
    match content.split_first() {
        Some((0, bytes)) => Ok(bytes),
        _ => Err(DerError::BadBitString { what }),
    }
}

/// Parses `input` as exactly one element with tag `expected` and returns its content.
pub fn read_single<'a>(
    input: &'a [u8],
    expected: u8,
    what: &'static str,
) -> Result<&'a [u8], DerError> {
    let mut reader = Reader::new(input);
    let content = reader.read(expected, what)?;
    reader.finish(what)?;
    Ok(content)
}

/// Appends one element. Contents longer than 65535 bytes are never written by this crate.
pub fn write(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let length = content.len();
    if length < 0x80 {
        out.push(length as u8);
    } else if length < 0x100 {
        out.extend_from_slice(&[0x81, length as u8]);
    } else {
        out.extend_from_slice(&[0x82, (length >> 8) as u8, length as u8]);
    }
    out.extend_from_slice(content);
}

/// An object identifier's content bytes in dotted form, for error messages.
pub fn oid_to_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (position, byte) in content.iter().enumerate() {
        if value > (u64::MAX >> 7) || (value == 0 && *byte == 0x80) {
            return format!("<malformed OID {}>", hex::encode(content));
        }
        value = value << 7 | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if position + 1 == content.len() {
            return format!("<malformed OID {}>", hex::encode(content));
        }
    }
    if arcs.is_empty() {
        return "<empty OID>".to_string();
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_and_must_be_minimal() {
        for length in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234] {
            let content = vec![0xabu8; length];
            let mut out = Vec::new();
            write(&mut out, tag::OCTET_STRING, &content);
            assert_eq!(
                read_single(&out, tag::OCTET_STRING, "test").unwrap(),
                &content[..]
            );
        }
        // Long form for a short length, indefinite length, four length bytes.
        for bad in [
            &[0x04, 0x81, 0x05, 1, 2, 3, 4, 5][..],
            &[0x04, 0x82, 0x00, 0x80],
            &[0x04, 0x80, 0, 0],
            &[0x04, 0x84, 0, 0, 0, 1, 0],
        ] {
            assert!(matches!(
                read_single(bad, tag::OCTET_STRING, "test"),
                Err(DerError::BadLength { .. })
            ));
        }
        assert!(matches!(
            read_single(&[0x04, 0x05, 1, 2], tag::OCTET_STRING, "test"),
            Err(DerError::Overrun {
                length: 5,
                available: 2,
                ..
            })
        ));
        assert!(matches!(
            read_single(&[0x04, 0x01, 1, 2], tag::OCTET_STRING, "test"),
            Err(DerError::TrailingBytes { count: 1, .. })
        ));
        assert!(matches!(
            read_single(&[0x1f, 0x01, 1], 0x1f, "test"),
            Err(DerError::HighTag { .. })
        ));
        assert!(matches!(
            read_single(&[], tag::SEQUENCE, "test"),
            Err(DerError::Truncated { .. })
        ));
        assert!(matches!(
            read_single(&[0x04], tag::OCTET_STRING, "test"),
            Err(DerError::Truncated { .. })
        ));
    }

    #[test]
    fn integers_and_bit_strings_are_checked() {
        assert_eq!(Reader::new(&[0x02, 0x01, 0x01]).read_small_uint("v"), Ok(1));
        for bad in [
            &[0x02, 0x00][..],
            &[0x02, 0x02, 0x00, 0x01],
            &[0x02, 0x01, 0x80],
        ] {
            assert!(Reader::new(bad).read_small_uint("v").is_err());
        }
        assert_eq!(
            Reader::new(&[0x03, 0x02, 0x00, 0x07]).read_bit_string("k"),
            Ok(&[7u8][..])
        );
        assert!(
            Reader::new(&[0x03, 0x02, 0x01, 0x07])
                .read_bit_string("k")
                .is_err()
        );
        assert!(Reader::new(&[0x03, 0x00]).read_bit_string("k").is_err());
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(oid_to_string(&[0x2b, 0x65, 0x70]), "1.3.101.112");
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            "1.2.840.10045.3.1.7"
        );
        assert!(oid_to_string(&[0x2a, 0x86]).starts_with("<malformed"));
        assert!(oid_to_string(&[0xff; 20]).starts_with("<malformed"));
        assert_eq!(oid_to_string(&[]), "<empty OID>");
    }
}
