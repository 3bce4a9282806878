//! `groundwork keys new|import|export|list`: the encrypted keystore on disk.
//!
//! One file per key, `<DIR>/<name>.json`, in the format of `groundwork_wallet::keystore`,
//! readable only by its owner. `DIR` is `--keystore`, else `$GROUNDWORK_HOME/keys`, with
//! `GROUNDWORK_HOME` defaulting to `~/.groundwork`.
//!
//! The passphrase comes from `GROUNDWORK_PASSPHRASE` when set (for scripts), otherwise from a
//! hidden prompt on the terminal. Other commands load keys through [`load_account_key`] and
//! [`load_device_key`], which take a key name, a PEM file or a plain key file.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Arg, ArgMatches, Args, FromArgMatches, Subcommand, ValueEnum};
use groundwork_primitives::keyfile::read_key_file;
use groundwork_primitives::{AccountKey, DeviceKey, KeyScheme};
use groundwork_wallet::{
    DerivationPath, KdfParams, Keystore, KeystoreError, Mnemonic, SecretKey, Unlocked, Zeroizing,
    pem,
};
use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Read instead of prompting, so scripts and tests can run without a terminal.
pub const PASSPHRASE_ENV: &str = "GROUNDWORK_PASSPHRASE";
/// The mnemonic for `keys import --mnemonic`, read instead of prompting.
pub const MNEMONIC_ENV: &str = "GROUNDWORK_MNEMONIC";
/// Groundwork's home directory; the keystore is its `keys` folder.
pub const HOME_ENV: &str = "GROUNDWORK_HOME";

/// Key files of any kind are small; anything larger is the wrong file.
const MAX_KEY_FILE_LENGTH: u64 = 64 * 1024;
const MAX_NAME_LENGTH: usize = 64;
const KEYSTORE_ARG: &str = "keystore";

/// `groundwork keys …`: a keystore directory shared by every subcommand, then the subcommand.
///
/// Written out by hand rather than derived so that `--keystore` can sit on `keys` itself and
/// still be accepted after the subcommand's name (`keys list --keystore DIR`).
pub struct KeysCommand {
    keystore: Option<PathBuf>,
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Create a new key in the keystore
    ///
    /// The passphrase is read from GROUNDWORK_PASSPHRASE, or asked twice on the terminal.
    /// With --mnemonic the key is derived from a new 24-word BIP39 mnemonic (SLIP-0010, path
    /// m/44'/7477'/0'/0'/0'), which is printed once: write it down.
    #[command(
        after_help = "Examples:\n  groundwork keys new --name alice\n  groundwork keys new --name sensor-7 --scheme p256\n  groundwork keys new --name savings --mnemonic"
    )]
    #[command(verbatim_doc_comment)]
    New(NewArgs),
    /// Import a key from a PKCS#8 PEM file, a BIP39 mnemonic or a plain key file
    ///
    /// PEM files are those of `openssl genpkey` (ed25519, or EC on P-256); SEC1 "EC PRIVATE
    /// KEY" files are read too. The mnemonic is read from GROUNDWORK_MNEMONIC, the terminal,
    /// or standard input when it is not a terminal. Plain key files are those written by
    /// `groundwork genesis new`.
    #[command(
        after_help = "Examples:\n  openssl genpkey -algorithm ed25519 -out alice.pem\n  groundwork keys import --name alice --pem alice.pem\n  groundwork keys import --name savings --mnemonic --derivation-path \"m/44'/7477'/1'/0'/0'\"\n  groundwork keys import --name funded --key-file ./testnet/account.key"
    )]
    #[command(verbatim_doc_comment)]
    Import(ImportArgs),
    /// Export a key as PKCS#8 PEM, or show the mnemonic it was made from
    ///
    /// Both are the key itself, unencrypted: anyone who reads them controls it. Files are
    /// written readable only by their owner.
    #[command(
        after_help = "Examples:\n  groundwork keys export --name alice --format pem --out alice.pem\n  openssl pkey -in alice.pem -pubout\n  groundwork keys export --name savings --format mnemonic"
    )]
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),
    /// List the keys in the keystore: name, scheme, address and device id
    ///
    /// Needs no passphrase: the public side of each key is stored in clear.
    #[command(
        after_help = "Examples:\n  groundwork keys list\n  groundwork keys list --json --keystore ./keys"
    )]
    #[command(verbatim_doc_comment)]
    List(ListArgs),
}

#[derive(Args)]
struct NewArgs {
    /// Name of the key: 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
    #[arg(long, value_parser = parse_name)]
    name: String,
    /// Signature scheme. Accounts sign with ed25519; devices with either.
    #[arg(long, value_enum, default_value_t = SchemeArg::Ed25519)]
    scheme: SchemeArg,
    /// Derive the key from a new BIP39 mnemonic, printed once (ed25519 only).
    #[arg(long)]
    mnemonic: bool,
    /// Overwrite an existing key of the same name.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ImportArgs {
    /// Name of the key: 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
    #[arg(long, value_parser = parse_name)]
    name: String,
    #[command(flatten)]
    source: ImportSource,
    /// Derivation path for --mnemonic; every segment hardened.
    #[arg(long, value_name = "PATH", value_parser = parse_path)]
    derivation_path: Option<DerivationPath>,
    /// Overwrite an existing key of the same name.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct ImportSource {
    /// A PKCS#8 (or SEC1) PEM private key file.
    #[arg(long, value_name = "FILE")]
    pem: Option<PathBuf>,
    /// A BIP39 mnemonic (read from GROUNDWORK_MNEMONIC, the terminal or standard input).
    #[arg(long)]
    mnemonic: bool,
    /// A plain key file written by `groundwork genesis new`.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// Name of the key in the keystore.
    #[arg(long, value_parser = parse_name)]
    name: String,
    /// What to export.
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Write to this file (readable only by its owner) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ListArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemeArg {
    Ed25519,
    P256,
}

impl From<SchemeArg> for KeyScheme {
    fn from(scheme: SchemeArg) -> Self {
        match scheme {
            SchemeArg::Ed25519 => KeyScheme::Ed25519,
            SchemeArg::P256 => KeyScheme::P256,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Pem,
    Mnemonic,
}

fn keystore_arg() -> Arg {
    Arg::new(KEYSTORE_ARG)
        .long("keystore")
        .value_name("DIR")
        .global(true)
        .value_parser(clap::value_parser!(PathBuf))
        .help("Keystore directory [default: $GROUNDWORK_HOME/keys, GROUNDWORK_HOME defaulting to ~/.groundwork]")
}

impl FromArgMatches for KeysCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut matches.clone())
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        Ok(KeysCommand {
            keystore: matches.get_one::<PathBuf>(KEYSTORE_ARG).cloned(),
            action: Action::from_arg_matches_mut(matches)?,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.update_from_arg_matches_mut(&mut matches.clone())
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        if let Some(dir) = matches.get_one::<PathBuf>(KEYSTORE_ARG) {
            self.keystore = Some(dir.clone());
        }
        self.action.update_from_arg_matches_mut(matches)
    }
}

impl Subcommand for KeysCommand {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        Action::augment_subcommands(command.arg(keystore_arg()))
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Action::augment_subcommands_for_update(command.arg(keystore_arg()))
    }

    fn has_subcommand(name: &str) -> bool {
        Action::has_subcommand(name)
    }
}

pub fn run(command: KeysCommand) -> Result<()> {
    let dir = keystore_dir(command.keystore.as_deref())?;
    match command.action {
        Action::New(args) => new(&dir, args),
        Action::Import(args) => import(&dir, args),
        Action::Export(args) => export(&dir, args),
        Action::List(args) => list(&dir, args),
    }
}

/// Loads an account (ed25519) key. `spec` is a key name in the keystore, or the path of a PEM
/// file, a plain key file or a keystore file; keystore keys ask for their passphrase.
pub fn load_account_key(spec: &str, keystore: Option<&Path>) -> Result<AccountKey> {
    load_secret(spec, keystore)?
        .account_key()
        .with_context(|| format!("key {spec:?} cannot sign for an account"))
}

/// Loads a device key (ed25519 or P-256); `spec` as for [`load_account_key`].
pub fn load_device_key(spec: &str, keystore: Option<&Path>) -> Result<DeviceKey> {
    load_secret(spec, keystore)?
        .device_key()
        .with_context(|| format!("key {spec:?} is not a usable device key"))
}

/// A plain key file is a secret in the clear: say so when other users may read it.
fn warn_if_others_can_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: key file {} can be read by other users (mode {mode:o}); run chmod 600 on it",
                path.display()
            );
        }
    }
}

fn load_secret(spec: &str, keystore: Option<&Path>) -> Result<SecretKey> {
    // A path needs no keystore directory, so failing to find one is reported only if needed.
    let dir = keystore_dir(keystore);
    if let Ok(dir) = &dir
        && parse_name(spec).is_ok()
    {
        let path = key_path(dir, spec);
        if path.is_file() {
            return Ok(unlock(&path, spec)?.secret);
        }
    }
    let path = Path::new(spec);
    if path.is_dir() {
        bail!("{spec} is a directory, not a key file: give the key file inside it, or a key name");
    }
    if !path.is_file() {
        let dir = dir?;
        bail!(
            "no key named {spec:?} in {} and no file at {spec}",
            dir.display()
        );
    }
    warn_if_others_can_read(path);
    let text = read_small_file(path)?;
    if text.contains("-----BEGIN") {
        pem::parse(&text).with_context(|| format!("{} is not a usable PEM key", path.display()))
    } else if text.trim_start().starts_with('{') {
        let name = path
            .file_stem()
            .map_or_else(|| spec.to_string(), |stem| stem.to_string_lossy().into());
        Ok(unlock(path, &name)?.secret)
    } else {
        let key = read_key_file(&text)
            .with_context(|| format!("{} is not a valid key file", path.display()))?;
        Ok(SecretKey::from_account_key(&key)?)
    }
}

fn new(dir: &Path, args: NewArgs) -> Result<()> {
    let scheme = KeyScheme::from(args.scheme);
    let path = key_path(dir, &args.name);
    refuse_existing(&path, &args.name, args.force)?;
    let (secret, mnemonic) = if args.mnemonic {
        if scheme != KeyScheme::Ed25519 {
            bail!("--mnemonic derives ed25519 keys only (SLIP-0010); drop --scheme p256");
        }
        let mnemonic = Mnemonic::generate()?;
        let path = DerivationPath::default_account();
        let secret = SecretKey::from_mnemonic(&mnemonic, "", &path)?;
        (secret, Some((mnemonic, path)))
    } else {
        (SecretKey::generate(scheme)?, None)
    };
    let passphrase = new_passphrase(&args.name)?;
    let keystore = Keystore::encrypt(
        &secret,
        mnemonic.as_ref().map(|(words, path)| (words, path)),
        &passphrase,
        KdfParams::DEFAULT,
    )?;
    save(dir, &path, &keystore, args.force)?;
    print_summary("Created", &args.name, &path, &keystore);
    if let Some((words, derivation_path)) = &mnemonic {
        println!();
        println!(
            "Mnemonic ({} words, derivation path {derivation_path}):",
            words.word_count()
        );
        println!();
        println!("  {}", words.phrase().as_str());
        println!();
        println!(
            "Write these words down and keep them offline. Anyone who has them controls the key; \
             with them the key can be restored without this keystore file or its passphrase."
        );
    }
    Ok(())
}

fn import(dir: &Path, args: ImportArgs) -> Result<()> {
    let path = key_path(dir, &args.name);
    refuse_existing(&path, &args.name, args.force)?;
    let source = args.source;
    // clap's `requires` cannot see whether a flag was given, so this is checked here.
    if args.derivation_path.is_some() && !source.mnemonic {
        bail!("--derivation-path applies to --mnemonic only");
    }
    let (secret, mnemonic) = if let Some(file) = &source.pem {
        let text = read_small_file(file)?;
        let secret = pem::parse(&text)
            .with_context(|| format!("{} is not a usable PEM key", file.display()))?;
        (secret, None)
    } else if let Some(file) = &source.key_file {
        let text = read_small_file(file)?;
        let key = read_key_file(&text)
            .with_context(|| format!("{} is not a valid key file", file.display()))?;
        (SecretKey::from_account_key(&key)?, None)
    } else {
        let mnemonic = read_mnemonic()?;
        let path = args
            .derivation_path
            .unwrap_or_else(DerivationPath::default_account);
        let secret = SecretKey::from_mnemonic(&mnemonic, "", &path)?;
        (secret, Some((mnemonic, path)))
    };
    // One key, one name: a second name for the same key would make the keystore lie about
    // how many keys it holds.
    let public = secret.public_description()?;
    if let Some((other, _, _)) = stored_keys(dir)?.into_iter().find(|(name, _, stored)| {
        *name != args.name && stored.public().public_key == public.public_key
    }) {
        bail!("this key is already in the keystore as {other:?}; use that name");
    }
    let passphrase = new_passphrase(&args.name)?;
    let keystore = Keystore::encrypt(
        &secret,
        mnemonic.as_ref().map(|(words, path)| (words, path)),
        &passphrase,
        KdfParams::DEFAULT,
    )?;
    save(dir, &path, &keystore, args.force)?;
    print_summary("Imported", &args.name, &path, &keystore);
    Ok(())
}

fn export(dir: &Path, args: ExportArgs) -> Result<()> {
    let path = key_path(dir, &args.name);
    if !path.is_file() {
        bail!("no key named {:?} in {}", args.name, dir.display());
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        bail!(
            "{} already exists; pass --force to overwrite it",
            out.display()
        );
    }
    let unlocked = unlock(&path, &args.name)?;
    let text: Zeroizing<String> = match args.format {
        ExportFormat::Pem => pem::to_pem(&unlocked.secret)?,
        ExportFormat::Mnemonic => match &unlocked.mnemonic {
            Some((words, derivation_path)) => {
                eprintln!("derivation path: {derivation_path}");
                let mut text = words.phrase();
                text.push('\n');
                text
            }
            None => bail!(
                "key {:?} was not made from a mnemonic; export it with --format pem",
                args.name
            ),
        },
    };
    match &args.out {
        Some(out) => {
            write_private(out, text.as_bytes(), args.force)?;
            eprintln!(
                "Wrote key {:?} to {} (unencrypted; readable only by you)",
                args.name,
                out.display()
            );
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("writing to standard output")?;
        }
    }
    Ok(())
}

/// Every readable key in the keystore, sorted by name; unreadable ones are skipped with a
/// warning.
fn stored_keys(dir: &Path) -> Result<Vec<(String, PathBuf, Keystore)>> {
    let mut entries = Vec::new();
    if dir.is_dir() {
        let listing =
            fs::read_dir(dir).with_context(|| format!("reading keystore {}", dir.display()))?;
        for entry in listing {
            let path = entry
                .with_context(|| format!("reading keystore {}", dir.display()))?
                .path();
            let Some(name) = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| name.strip_suffix(".json"))
                .filter(|name| parse_name(name).is_ok())
                .map(str::to_string)
            else {
                continue;
            };
            match read_keystore(&path) {
                Ok(keystore) => entries.push((name, path, keystore)),
                Err(error) => eprintln!("warning: skipping key {name:?}: {error:#}"),
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

fn list(dir: &Path, args: ListArgs) -> Result<()> {
    let entries = stored_keys(dir)?;
    if args.json {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .map(|(name, path, keystore)| {
                let public = keystore.public();
                serde_json::json!({
                    "name": name,
                    "scheme": public.scheme.name(),
                    "address": public.address.map(|address| address.to_string()),
                    "device_id": public.device_id.to_string(),
                    "public_key": hex::encode(&public.public_key),
                    "mnemonic": keystore.has_mnemonic(),
                    "file": path.display().to_string(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if entries.is_empty() {
        eprintln!("no keys in {}", dir.display());
        return Ok(());
    }
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|(name, _, keystore)| {
            let public = keystore.public();
            [
                name.clone(),
                public.scheme.name().to_string(),
                public
                    .address
                    .map_or_else(|| "-".to_string(), |address| address.to_string()),
                public.device_id.to_string(),
            ]
        })
        .collect();
    let header = ["NAME", "SCHEME", "ADDRESS", "DEVICE ID"].map(str::to_string);
    let widths: Vec<usize> = (0..3)
        .map(|column| {
            rows.iter()
                .chain([&header])
                .map(|row| row[column].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(&rows) {
        println!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    Ok(())
}

fn print_summary(verb: &str, name: &str, path: &Path, keystore: &Keystore) {
    let public = keystore.public();
    println!("{verb} key {name:?} in {}", path.display());
    println!("  scheme:    {}", public.scheme.name());
    if let Some(address) = &public.address {
        println!("  address:   {address}");
    }
    println!("  device id: {}", public.device_id);
    if let Some(derivation_path) = keystore.derivation_path() {
        println!("  path:      {derivation_path}");
    }
}

/// `--keystore`, else `$GROUNDWORK_HOME/keys`, else `~/.groundwork/keys`.
fn keystore_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let home = match std::env::var_os(HOME_ENV) {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => std::env::home_dir()
            .filter(|home| !home.as_os_str().is_empty())
            .ok_or_else(|| anyhow!("no home directory: set {HOME_ENV} or pass --keystore DIR"))?
            .join(".groundwork"),
    };
    Ok(home.join("keys"))
}

fn key_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// Key names become file names: a short, safe alphabet keeps them from naming other paths.
fn parse_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(name.to_string())
    } else {
        Err(format!(
            "key names are 1 to {MAX_NAME_LENGTH} of A-Z, a-z, 0-9, '.', '_' and '-', \
             starting with a letter or digit; got {name:?}"
        ))
    }
}

fn parse_path(text: &str) -> Result<DerivationPath, String> {
    let path: DerivationPath = text.parse().map_err(|e| format!("{e}"))?;
    path.check_ed25519().map_err(|e| format!("{e}"))?;
    Ok(path)
}

fn refuse_existing(path: &Path, name: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "key {name:?} already exists at {}; pass --force to overwrite it",
            path.display()
        );
    }
    Ok(())
}

fn save(dir: &Path, path: &Path, keystore: &Keystore, force: bool) -> Result<()> {
    if !dir.is_dir() {
        fs::create_dir_all(dir).with_context(|| format!("creating keystore {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("restricting permissions of {}", dir.display()))?;
        }
    }
    write_private(path, keystore.to_json()?.as_bytes(), force)
}

/// Writes a file readable only by its owner. Without `overwrite` an existing file is never
/// touched; with it, the new content is written beside it and renamed over it, so a crash
/// leaves either the old file or the new one.
fn write_private(path: &Path, contents: &[u8], overwrite: bool) -> Result<()> {
    let target = if overwrite {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        path.with_file_name(name)
    } else {
        path.to_path_buf()
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&target).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!(
                "{} already exists; pass --force to overwrite it",
                target.display()
            )
        } else {
            anyhow!(error).context(format!("creating {}", target.display()))
        }
    })?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", target.display()));
    drop(file);
    if let Err(error) = written {
        let _ = fs::remove_file(&target);
        return Err(error);
    }
    if overwrite && let Err(error) = fs::rename(&target, path) {
        let _ = fs::remove_file(&target);
        return Err(anyhow!(error).context(format!("replacing {}", path.display())));
    }
    Ok(())
}

fn read_small_file(path: &Path) -> Result<Zeroizing<String>> {
    let file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE_LENGTH + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {} (is it a text file?)", path.display()))?;
    if text.len() as u64 > MAX_KEY_FILE_LENGTH {
        bail!(
            "{} is larger than {MAX_KEY_FILE_LENGTH} bytes; not a key file",
            path.display()
        );
    }
    Ok(text)
}

fn read_keystore(path: &Path) -> Result<Keystore> {
    let text = read_small_file(path)?;
    Keystore::from_json(&text).with_context(|| format!("reading {}", path.display()))
}

fn unlock(path: &Path, name: &str) -> Result<Unlocked> {
    let keystore = read_keystore(path)?;
    let passphrase = existing_passphrase(name)?;
    keystore.decrypt(&passphrase).map_err(|error| match error {
        KeystoreError::WrongPassphrase => anyhow!(
            "wrong passphrase for key {name:?} ({}); if it is right, the file was altered",
            path.display()
        ),
        other => anyhow!(other).context(format!("unlocking {}", path.display())),
    })
}

fn passphrase_from_env() -> Result<Option<Zeroizing<String>>> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(value) => Ok(Some(Zeroizing::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{PASSPHRASE_ENV} is not valid UTF-8"),
    }
}

fn existing_passphrase(name: &str) -> Result<Zeroizing<String>> {
    match passphrase_from_env()? {
        Some(passphrase) => Ok(passphrase),
        None => prompt(&format!("Passphrase for key {name:?}: ")),
    }
}

/// Passphrases shorter than this draw a warning: argon2id slows guessing, but a short
/// passphrase is still found quickly.
const SHORT_PASSPHRASE_CHARS: usize = 12;

fn new_passphrase(name: &str) -> Result<Zeroizing<String>> {
    let passphrase = if let Some(passphrase) = passphrase_from_env()? {
        if passphrase.is_empty() {
            bail!("{PASSPHRASE_ENV} is empty; a keystore needs a passphrase");
        }
        passphrase
    } else {
        let first = prompt(&format!("New passphrase for key {name:?}: "))?;
        if first.is_empty() {
            bail!("the passphrase must not be empty");
        }
        let second = prompt("Repeat the passphrase: ")?;
        if *first != *second {
            bail!("the two passphrases differ");
        }
        first
    };
    let length = passphrase.chars().count();
    if length < SHORT_PASSPHRASE_CHARS {
        eprintln!(
            "warning: the passphrase has {length} characters; anyone who copies the key file \
             can guess a short one. Use {SHORT_PASSPHRASE_CHARS} or more (several words)."
        );
    }
    Ok(passphrase)
}

/// A hidden prompt on the controlling terminal (not standard input, which may be a pipe).
fn prompt(message: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(message)
        .map(Zeroizing::new)
        .map_err(|error| {
            anyhow!(
                "cannot ask for a passphrase on a terminal ({error}); set {PASSPHRASE_ENV} instead"
            )
        })
}

/// The mnemonic from GROUNDWORK_MNEMONIC, else a hidden prompt, else standard input.
fn read_mnemonic() -> Result<Mnemonic> {
    let text = match std::env::var(MNEMONIC_ENV) {
        Ok(value) => Zeroizing::new(value),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{MNEMONIC_ENV} is not valid UTF-8"),
        Err(std::env::VarError::NotPresent) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Mnemonic (words separated by spaces; hidden): ")
                .map(Zeroizing::new)
                .map_err(|error| {
                    anyhow!("cannot read the mnemonic ({error}); set {MNEMONIC_ENV} instead")
                })?
        }
        Err(std::env::VarError::NotPresent) => {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut text)
                .context("reading the mnemonic from standard input")?;
            text
        }
    };
    Mnemonic::parse(&text).context("the mnemonic was not accepted")
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_wallet::slip10::DEFAULT_ACCOUNT_PATH;

    #[test]
    fn key_names_cannot_escape_the_keystore() {
        for good in ["alice", "sensor-7", "a", "v1.2_b", &"x".repeat(64)] {
            assert!(parse_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "-flag",
            "../x",
            "a/b",
            "a\\b",
            "é",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_account_path_is_documented_path() {
        assert_eq!(
            DerivationPath::default_account().to_string(),
            DEFAULT_ACCOUNT_PATH
        );
    }
}
