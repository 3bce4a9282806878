//! PKCS#8 PEM private keys, as OpenSSL and most tools read and write them.
//!
//! Read: `-----BEGIN PRIVATE KEY-----` (PKCS#8, RFC 5208/5958) holding an ed25519 key
//! (OID 1.3.101.112, RFC 8410) or a P-256 key (id-ecPublicKey with curve prime256v1, the key
//! itself an RFC 5915 ECPrivateKey), and `-----BEGIN EC PRIVATE KEY-----` (SEC1) for P-256. A
//! public key stored beside the private key must match it. Encrypted PEM is refused with a hint
//! rather than guessed at.
//!
//! Written: PKCS#8 v1, the same bytes `openssl genpkey` writes for ed25519; for P-256 the
//! ECPrivateKey carries the uncompressed public key, as OpenSSL's does.

use crate::der::{self, DerError, Reader, tag};
use crate::secret::{KeyError, SecretKey};
use base64ct::{Base64, Encoding};
use commonware_cryptography::secp256r1::standard as p256_standard;
use groundwork_primitives::{DeviceId, KeyScheme, decode_exact};
use p256::elliptic_curve::sec1::ToSec1Point;
use zeroize::Zeroizing;

/// PEM files larger than this are refused unread; a key file is a few hundred bytes.
pub const MAX_PEM_LENGTH: usize = 64 * 1024;

const LABEL_PKCS8: &str = "PRIVATE KEY";
const LABEL_SEC1: &str = "EC PRIVATE KEY";
const LABEL_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
/// `openssl ecparam -genkey` writes the curve in its own block before the key; it says nothing
/// the key does not, so it is skipped.
const LABEL_EC_PARAMETERS: &str = "EC PARAMETERS";

const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Why a PEM file was not accepted, or a key could not be written as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    #[error("not a PEM file: no \"-----BEGIN …-----\" line")]
    NotPem,
    #[error("PEM file is larger than {MAX_PEM_LENGTH} bytes")]
    TooLarge,
    #[error("PEM block \"{label}\" has no matching \"-----END {label}-----\" line")]
    Unterminated { label: String },
    #[error(
        "PEM block \"{label}\" is not a private key (expected \"PRIVATE KEY\" or \"EC PRIVATE KEY\")"
    )]
    WrongLabel { label: String },
    #[error(
        "the PEM private key is encrypted; decrypt it first, e.g. `openssl pkey -in KEY.pem -out PLAIN.pem`"
    )]
    Encrypted,
    #[error("PEM file holds {count} private keys; expected exactly one")]
    SeveralKeys { count: usize },
    #[error("PEM block \"{label}\" has a header line; plain key files have none")]
    Headers { label: String },
    #[error("PEM body is not valid base64")]
    Base64,
    #[error("PEM body: {0}")]
    Der(#[from] DerError),
    #[error("{what} version {found} is not supported")]
    Version { what: &'static str, found: u8 },
    #[error("unsupported key algorithm {name}: Groundwork keys are ed25519 or P-256")]
    UnsupportedAlgorithm { name: String },
    #[error("unsupported elliptic curve {name}: Groundwork devices use P-256 (prime256v1)")]
    UnsupportedCurve { name: String },
    #[error("the EC private key does not name its curve")]
    MissingCurve,
    #[error("ed25519 key parameters must be absent")]
    UnexpectedParameters,
    #[error("{what} is {found} bytes, expected {expected}")]
    BadLength {
        what: &'static str,
        found: usize,
        expected: &'static str,
    },
    #[error("the public key in the PEM file does not match its private key")]
    PublicKeyMismatch,
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Reads the one private key in a PEM file.
pub fn parse(text: &str) -> Result<SecretKey, PemError> {
    if text.len() > MAX_PEM_LENGTH {
        return Err(PemError::TooLarge);
    }
    let blocks = blocks(text)?;
    let first_label = match blocks.first() {
        Some(block) => block.label.to_string(),
        None => return Err(PemError::NotPem),
    };
    if blocks.iter().any(|block| block.label == LABEL_ENCRYPTED) {
        return Err(PemError::Encrypted);
    }
    let keys: Vec<&Block> = blocks
        .iter()
        .filter(|block| block.label == LABEL_PKCS8 || block.label == LABEL_SEC1)
        .collect();
    let block = match keys.as_slice() {
        [block] => *block,
        [] => {
            let label = blocks
                .iter()
                .map(|block| block.label)
                .find(|label| *label != LABEL_EC_PARAMETERS)
                .map_or(first_label, str::to_string);
            return Err(PemError::WrongLabel { label });
        }
        several => {
            return Err(PemError::SeveralKeys {
                count: several.len(),
            });
        }
    };
    let der = block.decode()?;
    if block.label == LABEL_PKCS8 {
        parse_pkcs8(&der)
    } else {
        parse_ec_private_key(&der, false)
    }
}

/// Writes a key as a PKCS#8 PEM file. The result is as secret as the key.
pub fn to_pem(key: &SecretKey) -> Result<Zeroizing<String>, PemError> {
    let der = pkcs8_der(key)?;
    let encoded = Zeroizing::new(Base64::encode_string(&der));
    let mut pem = Zeroizing::new(String::with_capacity(encoded.len() + 128));
    pem.push_str("-----BEGIN PRIVATE KEY-----\n");
    // Base64 is ASCII, so 64-byte chunks are 64-character lines.
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).map_err(|_| PemError::Base64)?);
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

/// The PKCS#8 DER encoding of a key.
pub fn pkcs8_der(key: &SecretKey) -> Result<Zeroizing<Vec<u8>>, PemError> {
    // Capacity up front so no copy of the secret is left behind by a reallocation.
    let mut algorithm = Vec::with_capacity(32);
    let mut private = Zeroizing::new(Vec::with_capacity(160));
    match key {
        SecretKey::Ed25519(seed) => {
            der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_ED25519);
            der::write(&mut private, tag::OCTET_STRING, seed);
        }
        SecretKey::P256(scalar) => {
            der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_EC_PUBLIC_KEY);
            der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_PRIME256V1);
            let point = uncompressed_point(key)?;
            let mut bits = Vec::with_capacity(point.len() + 1);
            bits.push(0);
            bits.extend_from_slice(&point);
            let mut bit_string = Vec::with_capacity(bits.len() + 4);
            der::write(&mut bit_string, tag::BIT_STRING, &bits);
            let mut fields = Zeroizing::new(Vec::with_capacity(160));
            der::write(&mut fields, tag::INTEGER, &[1]);
            der::write(&mut fields, tag::OCTET_STRING, scalar);
            der::write(&mut fields, tag::context_constructed(1), &bit_string);
            der::write(&mut private, tag::SEQUENCE, &fields);
        }
    }
    let mut algorithm_identifier = Vec::with_capacity(algorithm.len() + 4);
    der::write(&mut algorithm_identifier, tag::SEQUENCE, &algorithm);
    let mut fields = Zeroizing::new(Vec::with_capacity(256));
    der::write(&mut fields, tag::INTEGER, &[0]);
    fields.extend_from_slice(&algorithm_identifier);
    der::write(&mut fields, tag::OCTET_STRING, &private);
    let mut out = Zeroizing::new(Vec::with_capacity(fields.len() + 4));
    der::write(&mut out, tag::SEQUENCE, &fields);
    Ok(out)
}

struct Block<'a> {
    label: &'a str,
    lines: Vec<&'a str>,
}

impl Block<'_> {
    fn decode(&self) -> Result<Zeroizing<Vec<u8>>, PemError> {
        if self.lines.iter().any(|line| line.contains(':')) {
            if self.lines.iter().any(|line| line.contains("ENCRYPTED")) {
                return Err(PemError::Encrypted);
            }
            return Err(PemError::Headers {
                label: self.label.to_string(),
            });
        }
        let mut body = Zeroizing::new(String::with_capacity(MAX_PEM_LENGTH.min(4096)));
        for line in &self.lines {
            body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
        Base64::decode_vec(&body)
            .map(Zeroizing::new)
            .map_err(|_| PemError::Base64)
    }
}

/// Splits PEM text into its blocks; text outside blocks is ignored, as OpenSSL does.
fn blocks(text: &str) -> Result<Vec<Block<'_>>, PemError> {
    let mut blocks = Vec::new();
    let mut open: Option<Block<'_>> = None;
    // A byte-order mark, as some editors on Windows save, is not text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for raw in text.lines() {
        let line = raw.trim();
        match open.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|rest| rest.strip_suffix("-----"))
                {
                    open = Some(Block {
                        label,
                        lines: Vec::new(),
                    });
                }
            }
            Some(block) => {
                if let Some(label) = line
                    .strip_prefix("-----END ")
                    .and_then(|rest| rest.strip_suffix("-----"))
                {
                    if label != block.label {
                        return Err(PemError::Unterminated {
                            label: block.label.to_string(),
                        });
                    }
                    if let Some(done) = open.take() {
                        blocks.push(done);
                    }
                } else if line.starts_with("-----") {
                    return Err(PemError::Unterminated {
                        label: block.label.to_string(),
                    });
                } else {
                    block.lines.push(line);
                }
            }
        }
    }
    if let Some(block) = open {
        return Err(PemError::Unterminated {
            label: block.label.to_string(),
        });
    }
    Ok(blocks)
}

fn parse_pkcs8(der: &[u8]) -> Result<SecretKey, PemError> {
    let mut fields = Reader::new(der::read_single(der, tag::SEQUENCE, "PrivateKeyInfo")?);
    let version = fields.read_small_uint("PKCS#8 version")?;
    if version > 1 {
        return Err(PemError::Version {
            what: "PKCS#8",
            found: version,
        });
    }
    let mut algorithm = Reader::new(fields.read(tag::SEQUENCE, "AlgorithmIdentifier")?);
    let oid = algorithm.read(tag::OBJECT_IDENTIFIER, "algorithm OID")?;
    let private = fields.read(tag::OCTET_STRING, "privateKey")?;
    fields.read_optional(tag::context_constructed(0), "attributes")?;
    // PKCS#8 v2 (RFC 5958) may carry the public key; v1 may not.
    let public = if version == 1 {
        fields
            .read_optional(tag::context_primitive(1), "publicKey")?
            .map(|content| der::bit_string_bytes(content, "publicKey"))
            .transpose()?
    } else {
        None
    };
    fields.finish("PrivateKeyInfo")?;

    let key = if oid == OID_ED25519 {
        if !algorithm.is_empty() {
            return Err(PemError::UnexpectedParameters);
        }
        let seed = der::read_single(private, tag::OCTET_STRING, "ed25519 private key")?;
        if seed.len() != 32 {
            return Err(PemError::BadLength {
                what: "ed25519 private key",
                found: seed.len(),
                expected: "32",
            });
        }
        SecretKey::from_bytes(KeyScheme::Ed25519, seed)?
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = algorithm.read(tag::OBJECT_IDENTIFIER, "EC curve")?;
        algorithm.finish("EC AlgorithmIdentifier")?;
        check_curve(curve)?;
        parse_ec_private_key(private, true)?
    } else {
        return Err(PemError::UnsupportedAlgorithm {
            name: algorithm_name(oid),
        });
    };
    if let Some(public) = public {
        check_public_key(&key, public)?;
    }
    Ok(key)
}

/// An RFC 5915 ECPrivateKey. `curve_known` says the enclosing PKCS#8 already named P-256.
fn parse_ec_private_key(der: &[u8], curve_known: bool) -> Result<SecretKey, PemError> {
    let mut fields = Reader::new(der::read_single(der, tag::SEQUENCE, "ECPrivateKey")?);
    let version = fields.read_small_uint("ECPrivateKey version")?;
    if version != 1 {
        return Err(PemError::Version {
            what: "ECPrivateKey",
            found: version,
        });
    }
    let scalar = fields.read(tag::OCTET_STRING, "EC private key")?;
    // RFC 5915 fixes the length at 32 for P-256; some old encoders dropped leading zeros.
    if scalar.is_empty() || scalar.len() > 32 {
        return Err(PemError::BadLength {
            what: "P-256 private key",
            found: scalar.len(),
            expected: "32",
        });
    }
    let mut padded = Zeroizing::new([0u8; 32]);
    padded[32 - scalar.len()..].copy_from_slice(scalar);
    let parameters = fields.read_optional(tag::context_constructed(0), "EC parameters")?;
    let public = fields.read_optional(tag::context_constructed(1), "EC public key")?;
    fields.finish("ECPrivateKey")?;
    match parameters {
        Some(content) => check_curve(der::read_single(
            content,
            tag::OBJECT_IDENTIFIER,
            "EC named curve",
        )?)?,
        None if curve_known => {}
        None => return Err(PemError::MissingCurve),
    }
    let key = SecretKey::from_bytes(KeyScheme::P256, padded.as_ref())?;
    if let Some(content) = public {
        let mut reader = Reader::new(content);
        let point = reader.read_bit_string("EC public key")?;
        reader.finish("EC public key")?;
        check_public_key(&key, point)?;
    }
    Ok(key)
}

fn check_curve(oid: &[u8]) -> Result<(), PemError> {
    if oid == OID_PRIME256V1 {
        Ok(())
    } else {
        Err(PemError::UnsupportedCurve {
            name: curve_name(oid),
        })
    }
}

/// Checks a public key stored in the file against the one computed from the private key.
fn check_public_key(key: &SecretKey, stored: &[u8]) -> Result<(), PemError> {
    let id = key.device_id()?;
    let matches = match &id {
        DeviceId::Ed25519(public) => stored == public.as_ref(),
        // P-256 points may be stored compressed or not; compare them compressed, as ids are.
        DeviceId::P256(public) => match p256::PublicKey::from_sec1_bytes(stored) {
            Ok(point) => point.to_sec1_point(true).as_bytes() == public.as_ref(),
            Err(_) => false,
        },
    };
    if matches {
        Ok(())
    } else {
        Err(PemError::PublicKeyMismatch)
    }
}

/// The uncompressed SEC1 encoding (`04 ‖ x ‖ y`) of a P-256 key's public point.
fn uncompressed_point(key: &SecretKey) -> Result<Vec<u8>, PemError> {
    let compressed: p256_standard::PublicKey = match key.device_id()? {
        DeviceId::P256(public) => public,
        DeviceId::Ed25519(_) => {
            return Err(PemError::UnsupportedAlgorithm {
                name: "ed25519 as an EC key".to_string(),
            });
        }
    };
    let point = p256::PublicKey::from_sec1_bytes(compressed.as_ref()).map_err(|_| {
        KeyError::InvalidPublic {
            scheme: KeyScheme::P256.name(),
            reason: "not a point on the curve".to_string(),
        }
    })?;
    let encoded = point.to_sec1_point(false);
    // Round trip through the id type so a mismatch between the two libraries cannot go unseen.
    let mut tagged = vec![KeyScheme::P256 as u8];
    tagged.extend_from_slice(point.to_sec1_point(true).as_bytes());
    if decode_exact::<DeviceId>(&tagged).ok() != Some(DeviceId::P256(compressed)) {
        return Err(PemError::PublicKeyMismatch);
    }
    Ok(encoded.as_bytes().to_vec())
}

fn algorithm_name(oid: &[u8]) -> String {
    let dotted = der::oid_to_string(oid);
    let known = match dotted.as_str() {
        "1.2.840.113549.1.1.1" => Some("RSA"),
        "1.2.840.10040.4.1" => Some("DSA"),
        "1.3.101.110" => Some("X25519"),
        "1.3.101.111" => Some("X448"),
        "1.3.101.113" => Some("Ed448"),
        _ => None,
    };
    match known {
        Some(name) => format!("{name} ({dotted})"),
        None => dotted,
    }
}

fn curve_name(oid: &[u8]) -> String {
    let dotted = der::oid_to_string(oid);
    let known = match dotted.as_str() {
        "1.3.132.0.10" => Some("secp256k1"),
        "1.3.132.0.34" => Some("P-384"),
        "1.3.132.0.35" => Some("P-521"),
        "1.2.840.10045.3.1.1" => Some("P-192"),
        "1.3.132.0.33" => Some("P-224"),
        _ => None,
    };
    match known {
        Some(name) => format!("{name} ({dotted})"),
        None => dotted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl genpkey -algorithm ed25519` output for a fixed seed (RFC 8410's example key).
    const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";

    fn pem_of(label: &str, der: &[u8]) -> String {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            Base64::encode_string(der)
        )
    }

    #[test]
    fn a_byte_order_mark_before_the_pem_is_ignored() {
        let with_bom = format!("\u{feff}{ED25519_PEM}");
        assert_eq!(
            parse(&with_bom).unwrap().as_bytes(),
            parse(ED25519_PEM).unwrap().as_bytes()
        );
    }

    #[test]
    fn reads_rfc8410_example_key() {
        let key = parse(ED25519_PEM).unwrap();
        assert_eq!(
            hex::encode(key.as_bytes()),
            "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842"
        );
        // RFC 8410 section 10.3 gives this key's public half.
        assert_eq!(
            hex::encode(key.public_description().unwrap().public_key),
            "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
        );
        assert_eq!(to_pem(&key).unwrap().as_str(), ED25519_PEM);
    }

    #[test]
    fn round_trips_both_schemes() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let key = SecretKey::generate(scheme).unwrap();
            let pem = to_pem(&key).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            assert_eq!(parse(&pem).unwrap(), key);
            // CRLF line ends and surrounding text are tolerated.
            let noisy = format!("a comment\r\n{}trailer\n", pem.replace('\n', "\r\n"));
            assert_eq!(parse(&noisy).unwrap(), key);
        }
    }

    #[test]
    fn reads_sec1_and_short_scalars() {
        let key = SecretKey::generate(KeyScheme::P256).unwrap();
        let point = uncompressed_point(&key).unwrap();
        let mut curve = Vec::new();
        der::write(&mut curve, tag::OBJECT_IDENTIFIER, OID_PRIME256V1);
        let mut bits = vec![0u8];
        bits.extend_from_slice(&point);
        let mut public = Vec::new();
        der::write(&mut public, tag::BIT_STRING, &bits);
        let sec1 = |scalar: &[u8], with_curve: bool, public_key: &[u8]| {
            let mut fields = Vec::new();
            der::write(&mut fields, tag::INTEGER, &[1]);
            der::write(&mut fields, tag::OCTET_STRING, scalar);
            if with_curve {
                der::write(&mut fields, tag::context_constructed(0), &curve);
            }
            der::write(&mut fields, tag::context_constructed(1), public_key);
            let mut out = Vec::new();
            der::write(&mut out, tag::SEQUENCE, &fields);
            out
        };
        let text = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            pem_of(LABEL_SEC1, &sec1(key.as_bytes(), true, &public))
        );
        assert_eq!(parse(&text).unwrap(), key);
        assert_eq!(
            parse(&pem_of(LABEL_SEC1, &sec1(key.as_bytes(), false, &public))),
            Err(PemError::MissingCurve)
        );

        // A scalar with a leading zero byte, written without it.
        let small = SecretKey::from_bytes(KeyScheme::P256, &{
            let mut raw = [0x11u8; 32];
            raw[0] = 0;
            raw
        })
        .unwrap();
        let small_point = uncompressed_point(&small).unwrap();
        let mut bits = vec![0u8];
        bits.extend_from_slice(&small_point);
        let mut small_public = Vec::new();
        der::write(&mut small_public, tag::BIT_STRING, &bits);
        let text = pem_of(
            LABEL_SEC1,
            &sec1(&small.as_bytes()[1..], true, &small_public),
        );
        assert_eq!(parse(&text).unwrap(), small);

        // Someone else's public key beside this private key.
        let other = SecretKey::generate(KeyScheme::P256).unwrap();
        let text = pem_of(LABEL_SEC1, &sec1(other.as_bytes(), true, &public));
        assert_eq!(parse(&text), Err(PemError::PublicKeyMismatch));
    }

    #[test]
    fn pkcs8_v2_public_key_is_checked() {
        let key = SecretKey::generate(KeyScheme::Ed25519).unwrap();
        let build = |public: &[u8]| {
            let mut fields = Vec::new();
            der::write(&mut fields, tag::INTEGER, &[1]);
            let mut algorithm = Vec::new();
            der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_ED25519);
            der::write(&mut fields, tag::SEQUENCE, &algorithm);
            let mut private = Vec::new();
            der::write(&mut private, tag::OCTET_STRING, key.as_bytes());
            der::write(&mut fields, tag::OCTET_STRING, &private);
            let mut bits = vec![0u8];
            bits.extend_from_slice(public);
            der::write(&mut fields, tag::context_primitive(1), &bits);
            let mut out = Vec::new();
            der::write(&mut out, tag::SEQUENCE, &fields);
            pem_of(LABEL_PKCS8, &out)
        };
        let public = key.public_description().unwrap().public_key;
        assert_eq!(parse(&build(&public)).unwrap(), key);
        assert_eq!(parse(&build(&[9u8; 32])), Err(PemError::PublicKeyMismatch));
    }

    #[test]
    fn malformed_pem_gives_typed_errors() {
        let body = ED25519_PEM.lines().nth(1).unwrap().to_string();
        let der = Base64::decode_vec(&body).unwrap();
        type Check = fn(&PemError) -> bool;
        let cases: Vec<(String, Check)> = vec![
            ("just text".into(), |e| matches!(e, PemError::NotPem)),
            ("".into(), |e| matches!(e, PemError::NotPem)),
            (
                pem_of("PUBLIC KEY", &der),
                |e| matches!(e, PemError::WrongLabel { label } if label == "PUBLIC KEY"),
            ),
            (
                pem_of("ENCRYPTED PRIVATE KEY", &der),
                |e| matches!(e, PemError::Encrypted),
            ),
            (
                format!("-----BEGIN PRIVATE KEY-----\n{body}\n"),
                |e| matches!(e, PemError::Unterminated { .. }),
            ),
            (
                format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PUBLIC KEY-----\n"),
                |e| matches!(e, PemError::Unterminated { .. }),
            ),
            (
                format!("{ED25519_PEM}{ED25519_PEM}"),
                |e| matches!(e, PemError::SeveralKeys { count: 2 }),
            ),
            (
                ED25519_PEM.replace("MC4C", "MC4*"),
                |e| matches!(e, PemError::Base64),
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n\
                 AAAA\n-----END EC PRIVATE KEY-----\n"
                    .into(),
                |e| matches!(e, PemError::Encrypted),
            ),
            (
                pem_of(LABEL_PKCS8, &der[..der.len() - 1]),
                |e| matches!(e, PemError::Der(_)),
            ),
            (
                pem_of(LABEL_PKCS8, &[der.as_slice(), &[0]].concat()),
                |e| matches!(e, PemError::Der(DerError::TrailingBytes { .. })),
            ),
            (
                "x".repeat(MAX_PEM_LENGTH + 1),
                |e| matches!(e, PemError::TooLarge),
            ),
        ];
        for (text, expected) in cases {
            let error = parse(&text).unwrap_err();
            assert!(expected(&error), "{text:?} gave {error:?}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn unsupported_algorithms_and_curves_are_named() {
        // An RSA AlgorithmIdentifier (with its NULL parameters) in front of junk.
        let mut algorithm = Vec::new();
        der::write(
            &mut algorithm,
            tag::OBJECT_IDENTIFIER,
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
        );
        der::write(&mut algorithm, 0x05, &[]);
        let mut fields = Vec::new();
        der::write(&mut fields, tag::INTEGER, &[0]);
        der::write(&mut fields, tag::SEQUENCE, &algorithm);
        der::write(&mut fields, tag::OCTET_STRING, &[0u8; 8]);
        let mut out = Vec::new();
        der::write(&mut out, tag::SEQUENCE, &fields);
        let error = parse(&pem_of(LABEL_PKCS8, &out)).unwrap_err();
        assert_eq!(
            error,
            PemError::UnsupportedAlgorithm {
                name: "RSA (1.2.840.113549.1.1.1)".to_string()
            }
        );

        // An EC key on secp256k1.
        let mut algorithm = Vec::new();
        der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_EC_PUBLIC_KEY);
        der::write(
            &mut algorithm,
            tag::OBJECT_IDENTIFIER,
            &[0x2b, 0x81, 0x04, 0x00, 0x0a],
        );
        let mut fields = Vec::new();
        der::write(&mut fields, tag::INTEGER, &[0]);
        der::write(&mut fields, tag::SEQUENCE, &algorithm);
        der::write(&mut fields, tag::OCTET_STRING, &[0u8; 8]);
        let mut out = Vec::new();
        der::write(&mut out, tag::SEQUENCE, &fields);
        let error = parse(&pem_of(LABEL_PKCS8, &out)).unwrap_err();
        assert!(
            error.to_string().contains("secp256k1 (1.3.132.0.10)"),
            "{error}"
        );

        // An ed25519 seed of the wrong length, and a P-256 scalar of zero.
        let mut algorithm = Vec::new();
        der::write(&mut algorithm, tag::OBJECT_IDENTIFIER, OID_ED25519);
        let mut private = Vec::new();
        der::write(&mut private, tag::OCTET_STRING, &[1u8; 31]);
        let mut fields = Vec::new();
        der::write(&mut fields, tag::INTEGER, &[0]);
        der::write(&mut fields, tag::SEQUENCE, &algorithm);
        der::write(&mut fields, tag::OCTET_STRING, &private);
        let mut out = Vec::new();
        der::write(&mut out, tag::SEQUENCE, &fields);
        assert!(matches!(
            parse(&pem_of(LABEL_PKCS8, &out)),
            Err(PemError::BadLength { found: 31, .. })
        ));
        let zero = SecretKey::P256([0x11; 32]);
        let mut der_bytes = pkcs8_der(&zero).unwrap().to_vec();
        let at = der_bytes
            .windows(34)
            .position(|window| window[..2] == [0x04, 0x20] && window[2..] == [0x11; 32])
            .unwrap();
        der_bytes[at + 2..at + 34].fill(0);
        assert!(matches!(
            parse(&pem_of(LABEL_PKCS8, &der_bytes)),
            Err(PemError::Key(KeyError::InvalidSecret { .. }))
        ));
    }

    #[test]
    fn every_truncation_and_byte_flip_is_an_error_or_harmless() {
        for scheme in [KeyScheme::Ed25519, KeyScheme::P256] {
            let key = SecretKey::generate(scheme).unwrap();
            let der = pkcs8_der(&key).unwrap();
            for end in 0..der.len() {
                assert!(parse(&pem_of(LABEL_PKCS8, &der[..end])).is_err());
            }
            let secret_at = der
                .windows(32)
                .position(|window| window == key.as_bytes())
                .unwrap();
            for index in 0..der.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut bytes = der.to_vec();
                    bytes[index] ^= flip;
                    let Ok(parsed) = parse(&pem_of(LABEL_PKCS8, &bytes)) else {
                        continue;
                    };
                    if (secret_at..secret_at + 32).contains(&index) {
                        // Another key (ed25519 stores no public key to catch it).
                        assert_ne!(parsed, key, "flip at {index}");
                    } else {
                        // Only a harmless change, such as version 0 becoming 1 (PKCS#8 v2).
                        assert_eq!(parsed, key, "flip at {index}");
                    }
                }
            }
        }
    }
}
