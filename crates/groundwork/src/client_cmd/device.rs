//! `groundwork device`: register, show, list, move, hand over and retire devices.

use super::*;

/// Where a device is: an H3 cell, or a latitude and longitude.
#[derive(Args, Clone)]
pub struct LocationArgs {
    /// H3 cell of resolution 7 to 15 (hex like 8c1f05a4e9a5dff, or decimal). Locations are
    /// resolution 12: a finer cell (a GNSS fix) gives the cell holding it, a coarser one the
    /// cell at its centre.
    #[arg(long, conflicts_with_all = ["lat", "lng"])]
    pub location: Option<String>,
    /// Latitude in degrees, -90 to 90 (with --lng).
    #[arg(long, requires = "lng", allow_hyphen_values = true, value_parser = latitude)]
    pub lat: Option<f64>,
    /// Longitude in degrees, -180 to 180 (with --lat).
    #[arg(long, requires = "lat", allow_hyphen_values = true, value_parser = longitude)]
    pub lng: Option<f64>,
}

impl LocationArgs {
    fn cell(&self) -> Result<Cell> {
        match (&self.location, self.lat, self.lng) {
            (Some(text), _, _) => text
                .parse::<groundwork_primitives::PlaceCell>()
                .map(|place| place.location())
                .with_context(|| format!("--location {text:?}")),
            (None, Some(lat), Some(lng)) => {
                Cell::from_lat_lng(lat, lng).with_context(|| format!("--lat {lat} --lng {lng}"))
            }
            _ => bail!("give --location CELL or --lat and --lng"),
        }
    }
}

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Register a device: bonds tokens and records its kind and place.
    ///
    /// The device key signs the owner's address, proving the owner holds the device.
    #[command(
        after_help = "Examples:\n  groundwork device register --key alice --device-key hotspot.pem --kind wireless \\\n      --lat 52.52 --lng 13.405\n  groundwork device register --key alice --device-key meter.pem --kind energy \\\n      --cert meter-cert.pem --lat 52.52 --lng 13.405"
    )]
    Register {
        /// The device's key: keystore name or PKCS#8 PEM (ed25519 or P-256).
        #[arg(long)]
        device_key: String,
        /// Resource kind: wireless, storage, compute, sensor, energy, ev_charger or vehicle.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        location: LocationArgs,
        /// The device's maker certificate (PEM or DER): registers and attests in one
        /// transaction. Required on chains where the kind must be attested.
        #[arg(long)]
        cert: Option<PathBuf>,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show one device.
    #[command(after_help = "Example:\n  groundwork device show gwd1…")]
    Show {
        device: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List devices by owner, by H3 cell (any resolution, children included), or both.
    #[command(
        after_help = "Examples:\n  groundwork device list --owner gw1…\n  groundwork device list --cell 85283473fffffff --limit 50"
    )]
    List {
        /// List only devices of this owner (gw1… address).
        #[arg(long)]
        owner: Option<String>,
        /// H3 cell of any resolution; devices in it or in its children are listed.
        #[arg(long)]
        cell: Option<String>,
        /// Most devices per page (1..=1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Start after this device id (the `next` of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Assert a new location for a device.
    #[command(
        after_help = "Example:\n  groundwork device move --key alice --device gwd1… --lat 48.8566 --lng 2.3522"
    )]
    Move {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        #[command(flatten)]
        location: LocationArgs,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Hand a device to a new owner.
    #[command(
        after_help = "Example:\n  groundwork device transfer --key alice --device gwd1… --to gw1…"
    )]
    Transfer {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        /// The new owner's address (gw1…).
        #[arg(long)]
        to: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Check offline that a device certificate was issued by a maker's CA and is valid: the
    /// check the chain makes of attested devices. Prints the certified key and serial; exits 1
    /// if the certificate does not pass, saying why.
    #[command(
        after_help = "Example:\n  groundwork device attest-check --ca maker-ca.pem --cert device.pem --json"
    )]
    AttestCheck {
        /// The maker's CA certificate (PEM).
        #[arg(long)]
        ca: PathBuf,
        /// The device certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// Check validity at this time, in ms since the Unix epoch (default: now).
        #[arg(long, value_name = "MS")]
        at: Option<u64>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Retire a device; its bond returns after the unbonding period.
    #[command(after_help = "Example:\n  groundwork device decommission --key alice --device gwd1…")]
    Decommission {
        /// The device's id (gwd1…).
        #[arg(long)]
        device: String,
        #[command(flatten)]
        signer: SignerArgs,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(super) fn print_device(status: &ChainStatus, client: &ClientArgs, d: &api::Device) {
    println!("device        {}", d.device);
    println!("scheme        {}", d.scheme);
    println!("owner         {}", d.owner);
    println!("kind          {}", d.kind);
    match d.location.parse::<Cell>() {
        Ok(cell) => {
            let centre = h3o::LatLng::from(cell.index());
            println!(
                "location      {} (centre {:.5}, {:.5})",
                d.location,
                centre.lat(),
                centre.lng()
            );
        }
        Err(_) => println!("location      {}", d.location),
    }
    println!("status        {}", d.status);
    println!("bond          {}", show_amount(status, client, d.bond));
    println!("registered    block {}", d.registered_at_height);
    let units = d.pending_work_units;
    let plural = if units == 1 { "" } else { "s" };
    println!("pending work  {units} unit{plural} this epoch");
    if let Some(a) = &d.attestation {
        let revoked = a
            .revoked_at_height
            .map_or(String::new(), |h| format!(", revoked at block {h}"));
        println!(
            "attested      by {} (serial {}){revoked}",
            a.maker, a.serial
        );
    }
}

fn attest_check(ca: &Path, cert: &Path, at: Option<u64>, json: bool) -> Result<()> {
    use groundwork_attest::{Which, check, pem_to_der};
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let (ca_pem, cert_pem) = (read(ca)?, read(cert)?);
    let at_ms = match at {
        Some(ms) => ms,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_millis() as u64,
    };
    let result = pem_to_der(Which::Ca, &ca_pem).and_then(|ca_der| {
        pem_to_der(Which::Device, &cert_pem).and_then(|der| check(&ca_der, &der, at_ms))
    });
    match result {
        Ok(attested) => {
            let (scheme, key) = attested.subject_key.describe();
            if json {
                print_json(&json!({
                    "valid": true,
                    "scheme": scheme,
                    "subject_key": key,
                    "serial": attested.serial_hex(),
                    "not_after_ms": attested.not_after_ms,
                }))?;
            } else {
                println!("valid: a device key ({scheme}) certified by this CA");
                println!("subject key  {key}");
                println!("serial       {}", attested.serial_hex());
                println!(
                    "valid until  {}",
                    crate::clock::iso8601(attested.not_after_ms)
                );
            }
            Ok(())
        }
        Err(reason) => {
            if json {
                print_json(&json!({ "valid": false, "reason": reason.to_string() }))?;
            } else {
                eprintln!("not valid: {reason}");
            }
            std::process::exit(1);
        }
    }
}

pub fn device(command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Register {
            device_key,
            kind,
            location,
            cert,
            signer,
            client,
        } => {
            let certificate = cert
                .as_deref()
                .map(super::attest::read_certificate)
                .transpose()?;
            let device = load_device_key(&device_key, signer.keystore.as_deref())?;
            let kind: ResourceKind = kind.parse().map_err(|_| {
                anyhow::anyhow!(
                    "--kind {kind:?} is not a resource kind; expected one of: {}",
                    ResourceKind::ALL.map(|k| k.name()).join(", ")
                )
            })?;
            let cell = location.cell()?;
            if !client.json {
                println!("device id {}", device.id());
            }
            send(&client, &signer, |owner, status| {
                Ok::<Call, _>(match certificate {
                    Some(certificate) => groundwork_primitives::AttestCall::register(
                        &status.chain_id,
                        owner,
                        &device,
                        kind,
                        cell,
                        certificate,
                    )
                    .into(),
                    None => CoreCall::register_device(&status.chain_id, owner, &device, kind, cell)
                        .into(),
                })
            })
        }
        DeviceCommand::Show { device, client } => {
            let id = parse_device(&device)?;
            let rpc = client.client()?;
            let answer: api::Device = rpc.get("device_get", json!([id.to_string()]))?;
            if client.json {
                return print_json(&answer);
            }
            print_device(&rpc.status()?, &client, &answer);
            Ok(())
        }
        DeviceCommand::List {
            owner,
            cell,
            limit,
            after,
            client,
        } => {
            let rpc = client.client()?;
            let answer: api::DevicePage = rpc.get(
                "device_list",
                json!({ "owner": owner, "cell": cell, "limit": limit, "after": after }),
            )?;
            if client.json {
                return print_json(&answer);
            }
            if answer.devices.is_empty() {
                println!("no devices");
            }
            let rows: Vec<Vec<String>> = answer
                .devices
                .iter()
                .map(|d| {
                    vec![
                        d.device.clone(),
                        d.kind.clone(),
                        d.location.clone(),
                        d.status.clone(),
                    ]
                })
                .collect();
            print!("{}", columns(&rows));
            if let Some(next) = &answer.next {
                println!("more: --after {next}");
            }
            Ok(())
        }
        DeviceCommand::Move {
            device,
            location,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let location = location.cell()?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::AssertLocation { device, location })
            })
        }
        DeviceCommand::Transfer {
            device,
            to,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            let new_owner: Address = to.parse().context("invalid --to address")?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::TransferDevice { device, new_owner })
            })
        }
        DeviceCommand::AttestCheck { ca, cert, at, json } => attest_check(&ca, &cert, at, json),
        DeviceCommand::Decommission {
            device,
            signer,
            client,
        } => {
            let device = parse_device(&device)?;
            send(&client, &signer, |_, _| {
                Ok(CoreCall::DecommissionDevice { device })
            })
        }
    }
}

// ---- rewards -------------------------------------------------------------------------------
