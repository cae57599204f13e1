//! `sfcbc-ccaas`: serve the SFC contract to Fabric peers, or build its install package.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use sfcbc_ccaas::package::{self, PackageSpec, PackageTls};
use sfcbc_ccaas::{KvContract, ServerConfig, SfcContract, TlsPem};

/// Chaincode-as-a-service for the SFC-BC contract on Hyperledger Fabric.
///
/// A Fabric peer runs an external (CCaaS) chaincode by dialling it: `package` writes the
/// install package that tells the peer where to dial, `serve` is the server it dials.
///
/// Typical flow:
///   sfcbc-ccaas package --label sfcbc_1.0 --address 127.0.0.1:9999 --out sfcbc.tgz
///   peer lifecycle chaincode install sfcbc.tgz      (then approveformyorg, commit)
///   sfcbc-ccaas serve --address 127.0.0.1:9999 --chaincode-id <printed package id>
#[derive(Parser, Debug)]
#[command(name = "sfcbc-ccaas", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Serve(ServeArgs),
    Package(PackageArgs),
}

/// Serve the SFC contract to the peers that dial in (protos.Chaincode/Connect).
///
/// Every flag can also be set through the environment variable named in brackets, the
/// convention of fabric-samples' CCaaS servers. Without TLS settings the server speaks
/// plaintext gRPC (connection.json "tls_required": false). Stops on SIGINT/SIGTERM after
/// in-flight transactions finish.
#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on, HOST:PORT (e.g. 0.0.0.0:9999).
    #[arg(long, env = "CHAINCODE_SERVER_ADDRESS")]
    address: String,
    /// The package id the chaincode was installed with (label:sha256, as `package` or
    /// `peer lifecycle chaincode install` prints it). Sent to the peer in REGISTER.
    #[arg(long, env = "CHAINCODE_ID")]
    chaincode_id: String,
    /// Plaintext gRPC (the default). Set to false, with --tls-cert and --tls-key, for TLS.
    #[arg(
        long,
        env = "CHAINCODE_TLS_DISABLED",
        default_value = "true",
        value_parser = parse_go_bool,
        action = clap::ArgAction::Set,
        value_name = "true|false"
    )]
    tls_disabled: bool,
    /// Server certificate (PEM file); must name the host of the package's address (an IP
    /// SAN for an IP address).
    #[arg(long, env = "CHAINCODE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// Server private key (PEM file: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, env = "CHAINCODE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// CA certificate (PEM file) that issued the peers' client certificates: enables
    /// mutual TLS, peers without such a certificate are refused.
    #[arg(long, env = "CHAINCODE_CLIENT_CA_CERT")]
    client_ca_cert: Option<PathBuf>,
    /// Largest gRPC message accepted or sent, in bytes (Fabric's default: 100 MiB).
    #[arg(long, default_value_t = sfcbc_ccaas::server::DEFAULT_MAX_MESSAGE_SIZE)]
    max_message_size: usize,
    /// Seconds that shutdown waits for in-flight transactions.
    #[arg(long, default_value_t = 30)]
    shutdown_grace_secs: u64,
    /// The manager's MSP ID: may read every chain (SFC contract). Every peer's server must
    /// use the same value, or their endorsements differ.
    #[arg(long, env = "SFCBC_MANAGER_MSP", default_value = "ManagerMSP")]
    manager_msp: String,
    /// Which contract to serve: `sfc` (the SFC-BC contract) or `kv` (a tiny key-value
    /// contract for protocol smoke tests against a peer).
    #[arg(long, value_enum, default_value_t = ContractKind::Sfc)]
    contract: ContractKind,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ContractKind {
    Sfc,
    Kv,
}

/// Write the `peer lifecycle chaincode install` package (.tgz) for a CCaaS chaincode and
/// print its package id (label:sha256 of the file, as `peer lifecycle chaincode
/// calculatepackageid` computes it).
///
/// The package is byte-for-byte reproducible: the same flags always give the same file and
/// id. It holds metadata.json {"type":"ccaas","label"} and code.tar.gz with connection.json,
/// which tells the peer where to dial the server and with which TLS settings.
#[derive(Args, Debug)]
struct PackageArgs {
    /// Package label: a letter or digit, then letters, digits, '_', '.', '+', '-'.
    /// The chaincode name is usually the part before '_' (sfcbc_1.0 → sfcbc).
    #[arg(long)]
    label: String,
    /// HOST:PORT where the peer dials the server (may contain {{.peername}}, which the
    /// CCaaS builder fills from CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG).
    #[arg(long)]
    address: String,
    /// How long the peer waits when dialling (Go duration).
    #[arg(long, default_value = "10s")]
    dial_timeout: String,
    /// Require TLS: the peer verifies the server against --tls-root-cert.
    #[arg(long, requires = "tls_root_cert")]
    tls: bool,
    /// PEM file of the CA (or self-signed cert) that issued the server's TLS certificate;
    /// embedded inline as "root_cert".
    #[arg(long, requires = "tls")]
    tls_root_cert: Option<PathBuf>,
    /// Mutual TLS: PEM client certificate the peer presents (embedded as "client_cert").
    #[arg(long, requires_all = ["tls", "tls_client_key"])]
    tls_client_cert: Option<PathBuf>,
    /// Mutual TLS: PEM key of --tls-client-cert (embedded as "client_key").
    #[arg(long, requires_all = ["tls", "tls_client_cert"])]
    tls_client_key: Option<PathBuf>,
    /// The server's own TLS certificate (PEM file). Not packaged: checked that it names the
    /// host of --address (IP SAN for an IP) and is signed by --tls-root-cert, as the peer
    /// will check when it dials.
    #[arg(long, requires = "tls")]
    tls_server_cert: Option<PathBuf>,
    /// Output file; default: <label>.tgz in the current directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print a JSON object (package_id, label, file, sha256, connection) instead of text.
    #[arg(long)]
    json: bool,
}

/// Go's `strconv.ParseBool`, which the Go shim's CCaaS examples use for their env vars.
fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("{other:?} is not a boolean; use true or false")),
    }
}

fn read_pem(what: &str, path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {what} {}", path.display()))
}

fn run_package(args: PackageArgs) -> anyhow::Result<()> {
    let tls = if args.tls {
        let root = args
            .tls_root_cert
            .as_ref()
            .context("--tls needs --tls-root-cert")?;
        let client = match (&args.tls_client_cert, &args.tls_client_key) {
            (Some(c), Some(k)) => Some((
                read_pem("client certificate", c)?,
                read_pem("client key", k)?,
            )),
            _ => None,
        };
        let server_cert = match &args.tls_server_cert {
            Some(p) => Some(read_pem("server certificate", p)?),
            None => None,
        };
        Some(PackageTls {
            root_cert: read_pem("TLS root certificate", root)?,
            client,
            server_cert,
        })
    } else {
        None
    };
    let spec = PackageSpec {
        label: args.label.clone(),
        address: args.address.clone(),
        dial_timeout: args.dial_timeout.clone(),
        tls,
    };
    let pkg = package::build(&spec)?;
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}.tgz", pkg.label)));
    std::fs::write(&out, &pkg.bytes).with_context(|| format!("writing {}", out.display()))?;
    if args.json {
        let connection: serde_json::Value = serde_json::from_str(&pkg.connection_json)?;
        let mut connection = connection;
        // Keys stay out of logs and terminals; the file has them.
        if let Some(obj) = connection.as_object_mut()
            && obj.contains_key("client_key")
        {
            obj.insert("client_key".into(), "<redacted>".into());
        }
        let v = serde_json::json!({
            "package_id": pkg.package_id,
            "label": pkg.label,
            "file": out.display().to_string(),
            "sha256": pkg.package_id.rsplit(':').next(),
            "connection": connection,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        eprintln!(
            "wrote {} ({} bytes) for {}",
            out.display(),
            pkg.bytes.len(),
            args.address
        );
        println!("{}", pkg.package_id);
    }
    Ok(())
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.chaincode_id.is_empty() {
        bail!("--chaincode-id (CHAINCODE_ID) is empty: set it to the installed package id");
    }
    let tls = if args.tls_disabled {
        if args.tls_cert.is_some() || args.tls_key.is_some() || args.client_ca_cert.is_some() {
            tracing::warn!(
                "TLS files are set but CHAINCODE_TLS_DISABLED is true: serving plaintext"
            );
        }
        None
    } else {
        let cert = args.tls_cert.as_ref().context(
            "TLS is enabled (CHAINCODE_TLS_DISABLED=false) but --tls-cert / CHAINCODE_TLS_CERT is not set",
        )?;
        let key = args.tls_key.as_ref().context(
            "TLS is enabled (CHAINCODE_TLS_DISABLED=false) but --tls-key / CHAINCODE_TLS_KEY is not set",
        )?;
        Some(TlsPem::from_files(cert, key, args.client_ca_cert.as_ref())?)
    };
    let mut config = ServerConfig::new(args.chaincode_id);
    config.tls = tls;
    config.max_message_size = args.max_message_size;
    config.shutdown_grace = Duration::from_secs(args.shutdown_grace_secs);
    let listener = sfcbc_ccaas::bind(&args.address).await?;
    let contract: Arc<dyn sfcbc_ccaas::Contract> = match args.contract {
        ContractKind::Sfc => Arc::new(SfcContract::new(sfcbc_chaincode::Config {
            manager_msp: args.manager_msp.clone(),
        })),
        ContractKind::Kv => Arc::new(KvContract),
    };
    sfcbc_ccaas::serve(listener, config, contract, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let result = match cli.command {
        Command::Package(args) => run_package(args),
        Command::Serve(args) => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(run_serve(args)),
            Err(e) => Err(anyhow::Error::from(e).context("starting the async runtime")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
