//! `groundwork attest`: the chain's makers, a device's attestation, presenting a maker
//! certificate and revoking one (docs/attest.md).

use super::*;
use groundwork_primitives::AttestCall;
use groundwork_primitives::tx::attest::{BoundedBytes, MAX_CERTIFICATE_BYTES, MAX_SERIAL_BYTES};

#[derive(Subcommand)]
pub enum AttestCommand {
    /// The makers this chain trusts, the kinds each certifies, and the kinds that must be
    /// attested to report and earn.
    #[command(
        after_help = "Examples:\n  groundwork attest makers\n  groundwork attest makers --ca-dir ./makers   # writes each CA as <name>.pem"
    )]
    Makers {
        /// Write each maker's CA certificate into this directory as `<name>.pem`, for
        /// `groundwork device attest-check --ca` or `openssl verify -CAfile`.
        #[arg(long, value_name = "DIR")]
        ca_dir: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A device's maker certificate (maker, serial, when attested, when revoked) and whether
    /// it may report and earn now.
    #[command(after_help = "Example:\n  groundwork attest show gwd1…")]
    Show {
        device: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Present a registered device's maker certificate, as its owner.
    #[command(
        after_help = "Example:\n  groundwork attest present --key alice --device gwd1… --cert device.pem"
    )]
    Present {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The device certificate, PEM or DER.
        #[arg(long)]
        cert: PathBuf,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Issue a device certificate from a dev chain's maker CA (`dev-maker.key` in the data
    /// dir of `groundwork dev`), to register a device of your own as attested. Offline. A real
    /// maker issues from its own CA; this one is for dev chains and tests.
    #[command(
        after_help = "Example:\n  groundwork attest issue --maker-key groundwork-dev/dev-maker.key --device-key meter.pem \\\n      --out meter-cert.pem\n  openssl verify -CAfile groundwork-dev/dev-maker-ca.pem meter-cert.pem"
    )]
    Issue {
        /// The dev maker's account key file.
        #[arg(long)]
        maker_key: PathBuf,
        /// The device's key: keystore name or PKCS#8 PEM (ed25519 or P-256).
        #[arg(long)]
        device_key: String,
        /// Keystore directory for --device-key.
        #[arg(long)]
        keystore: Option<PathBuf>,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a certificate by serial, as the maker's account: the device it attests may no
    /// longer report, and its usage is paid nothing from the epoch this lands in.
    #[command(
        after_help = "Example:\n  groundwork attest revoke --key dev-maker.key --serial 3f09a1c4d2e8b701"
    )]
    Revoke {
        /// The certificate's serial number in hex, as `attest show` prints it.
        #[arg(long)]
        serial: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// Reads a certificate file, PEM or DER, checking it fits a transaction.
pub(super) fn read_certificate(path: &Path) -> Result<BoundedBytes<MAX_CERTIFICATE_BYTES>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading certificate {}", path.display()))?;
    let der = match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            groundwork_attest::pem_to_der(groundwork_attest::Which::Device, text)
                .with_context(|| format!("certificate {}", path.display()))?
        }
        _ => bytes,
    };
    if der.len() > MAX_CERTIFICATE_BYTES {
        bail!(
            "certificate {} is {} bytes of DER; a transaction carries at most {MAX_CERTIFICATE_BYTES}",
            path.display(),
            der.len()
        );
    }
    Ok(BoundedBytes(der))
}

fn parse_serial(text: &str) -> Result<BoundedBytes<MAX_SERIAL_BYTES>> {
    let clean = text.trim().trim_start_matches("0x").replace(':', "");
    let bytes = hex::decode(&clean)
        .with_context(|| format!("--serial {text:?} is not hex (as `attest show` prints it)"))?;
    if bytes.is_empty() || bytes.len() > MAX_SERIAL_BYTES {
        bail!(
            "--serial {text:?} is {} bytes; a serial has 1 to {MAX_SERIAL_BYTES}",
            bytes.len()
        );
    }
    Ok(BoundedBytes(bytes))
}

/// A file name from a maker's name: letters, digits and dashes.
fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-').to_string();
    if stem.is_empty() {
        "maker".to_string()
    } else {
        stem
    }
}

pub(super) fn print_attestation(a: &Option<api::Attestation>) {
    match a {
        Some(a) => {
            println!("maker         {}", a.maker);
            println!("serial        {}", a.serial);
            println!("attested      block {}", a.attested_at_height);
            if let Some(h) = a.revoked_at_height {
                println!("revoked       block {h}");
            }
        }
        None => println!("attestation   none"),
    }
}

pub fn attest(command: AttestCommand) -> Result<()> {
    match command {
        AttestCommand::Makers { ca_dir, client } => {
            let rpc = client.client()?;
            let answer: api::AttestMakers = rpc.get("attest_makers", json!({}))?;
            if let Some(dir) = &ca_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                for (i, maker) in answer.makers.iter().enumerate() {
                    let path = dir.join(format!("{}-{i}.pem", file_stem(&maker.name)));
                    std::fs::write(&path, &maker.ca_pem)
                        .with_context(|| format!("writing {}", path.display()))?;
                    if !client.json {
                        println!("wrote {}", path.display());
                    }
                }
            }
            if client.json {
                return print_json(&answer);
            }
            if answer.makers.is_empty() {
                println!("no makers: devices register without certificates");
            }
            let rows: Vec<Vec<String>> = answer
                .makers
                .iter()
                .map(|m| vec![m.name.clone(), m.account.clone(), m.kinds.join(",")])
                .collect();
            print!("{}", columns(&rows));
            if answer.required.is_empty() {
                println!("required      none: every kind may work unattested");
            } else {
                println!("required      {}", answer.required.join(", "));
            }
            Ok(())
        }
        AttestCommand::Show { device, client } => {
            let id = parse_device(&device)?;
            let rpc = client.client()?;
            let answer: api::DeviceAttestation =
                rpc.get("attest_get", json!({ "device": id.to_string() }))?;
            if client.json {
                return print_json(&answer);
            }
            println!("device        {}", answer.device);
            let required = if answer.required {
                " (must be attested)"
            } else {
                ""
            };
            println!("kind          {}{required}", answer.kind);
            print_attestation(&answer.attestation);
            match &answer.refused {
                Some(e) => println!("may work      no: {} ({})", e.message, e.code),
                None => println!("may work      yes"),
            }
            Ok(())
        }
        AttestCommand::Present {
            device,
            cert,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let certificate = read_certificate(&cert)?;
            send(&client, &signer, |_, _| {
                Ok(AttestCall::Attest {
                    device,
                    certificate,
                })
            })
        }
        AttestCommand::Issue {
            maker_key,
            device_key,
            keystore,
            out,
        } => {
            let maker = crate::dev_maker::maker(&load_account_key(
                &maker_key.display().to_string(),
                None,
            )?)?;
            let device = load_device_key(&device_key, keystore.as_deref())?;
            let der = crate::dev_maker::certificate(&maker, &device)?;
            let pem = groundwork_attest::der_to_pem(groundwork_attest::Which::Device, &der)?;
            std::fs::write(&out, pem).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {} for device {}", out.display(), device.id());
            Ok(())
        }
        AttestCommand::Revoke {
            serial,
            signer,
            client,
        } => {
            let serial = parse_serial(&serial)?;
            send(&client, &signer, |_, _| Ok(AttestCall::Revoke { serial }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_parse_from_hex_with_or_without_colons_and_bad_ones_are_named() {
        assert_eq!(parse_serial("3f:09:a1").unwrap().0, vec![0x3f, 0x09, 0xa1]);
        assert_eq!(parse_serial("0x3f09a1").unwrap().0, vec![0x3f, 0x09, 0xa1]);
        assert!(
            parse_serial("zz")
                .unwrap_err()
                .to_string()
                .contains("not hex")
        );
        assert!(parse_serial("").is_err());
        assert!(parse_serial(&"ab".repeat(MAX_SERIAL_BYTES + 1)).is_err());
        assert_eq!(file_stem("Groundwork dev maker"), "groundwork-dev-maker");
        assert_eq!(file_stem("!!"), "maker");
    }
}
