//! A devnet in this process, as `sfcbc devnet up` and the tests build it: orderer and one
//! peer per org on loopback with TLS, chaincode served by in-process `sfcbc-ccaas` servers
//! that each peer dials over CCaaS.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use sfcbc_ccaas::package::{PackageSpec, build};
use sfcbc_ccaas::{Contract, ServerConfig};
use sfcbc_client::profile::{Endpoint, Org, Profile};
use sfcbc_client::sf::GatewayConfig;
use sfcbc_client::{Gateway, TlsOptions};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use tokio::sync::oneshot;

/// The network settings a JSON file reports.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkInfo {
    pub orgs: Vec<String>,
    pub tls: bool,
    pub batch_timeout_ms: u64,
    pub max_message_count: u32,
}

/// A running devnet with its chaincode servers; [`BenchNet::stop`] ends everything.
pub struct BenchNet {
    pub network: Network,
    pub info: NetworkInfo,
    stops: Vec<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl BenchNet {
    /// Starts orderer + one peer per org (`Org1` → `Org1MSP`) in a temporary folder, with
    /// devnet's default MaxMessageCount.
    pub async fn start(orgs: &[&str], batch_timeout: Duration) -> anyhow::Result<BenchNet> {
        let max = NetworkConfig::new(".").max_message_count;
        Self::start_with(orgs, batch_timeout, max).await
    }

    /// [`BenchNet::start`] with the channels' BatchSize.MaxMessageCount.
    pub async fn start_with(
        orgs: &[&str],
        batch_timeout: Duration,
        max_message_count: u32,
    ) -> anyhow::Result<BenchNet> {
        anyhow::ensure!(max_message_count > 0, "MaxMessageCount must be at least 1");
        let dir = tempfile::Builder::new()
            .prefix("sfcbc-bench-")
            .tempdir()
            .context("temporary folder")?;
        let mut config = NetworkConfig::new(dir.path()).with_orgs(orgs);
        config.batch_timeout = batch_timeout;
        config.max_message_count = max_message_count;
        let info = NetworkInfo {
            orgs: config.orgs.clone(),
            tls: config.tls,
            batch_timeout_ms: config.batch_timeout.as_millis() as u64,
            max_message_count: config.max_message_count,
        };
        let network = Network::start(config).await.context("devnet starts")?;
        Ok(BenchNet {
            network,
            info,
            stops: Vec::new(),
            _dir: dir,
        })
    }

    /// Serves `contract` from a new in-process CCaaS server and installs its package on
    /// every peer; returns the package id.
    pub async fn serve_chaincode(
        &mut self,
        label: &str,
        contract: Arc<dyn Contract>,
    ) -> anyhow::Result<String> {
        let listener = sfcbc_ccaas::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let package = build(&PackageSpec {
            label: label.into(),
            address: addr.to_string(),
            dial_timeout: "10s".into(),
            tls: None,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let mut config = ServerConfig::new(&package.package_id);
        config.shutdown_grace = Duration::from_millis(500);
        tokio::spawn(sfcbc_ccaas::serve(listener, config, contract, async move {
            let _ = stopped.await;
        }));
        self.stops.push(stop);
        let id = self
            .network
            .install_package(&package.bytes)
            .context("installing the CCaaS package")?;
        Ok(id)
    }

    /// Creates `channel` with every org and commits chaincodes on it: (name, package, policy).
    pub async fn channel(
        &self,
        channel: &str,
        chaincodes: &[(&str, &str, &str)],
    ) -> anyhow::Result<()> {
        let orgs: Vec<String> = self
            .network
            .peers()
            .iter()
            .map(|p| p.msp_id().to_owned())
            .collect();
        self.network
            .create_channel(channel, &orgs)
            .await
            .with_context(|| format!("creating channel {channel}"))?;
        for (name, package_id, policy) in chaincodes {
            self.network
                .commit_chaincode(
                    channel,
                    ChaincodeSpec::new(*name, *package_id).with_policy(*policy),
                )
                .await
                .with_context(|| format!("committing chaincode {name} ({policy})"))?;
        }
        self.network.wait_for_height(channel, 1).await?;
        Ok(())
    }

    /// `user` (`User1`, `Admin`) of `org` connected to its own org's gateway peer over TLS.
    pub async fn gateway(&self, org: &str, user: &str) -> anyhow::Result<Gateway> {
        let p = self
            .network
            .peer(org)
            .with_context(|| format!("no org {org} in the network"))?;
        let signer = p.org.user_signer(user)?;
        let tls = if self.network.tls() {
            Some(TlsOptions::with_ca_pem(p.org.tls_ca_pem()?).server_name(p.server_name()))
        } else {
            None
        };
        Ok(Gateway::connect(
            signer.identity().clone(),
            signer,
            &p.address.to_string(),
            tls,
        )
        .await?)
    }

    /// How an SF of `org` (as its User1) reaches its own peer.
    pub fn gateway_config(
        &self,
        org: &str,
        channel: &str,
        chaincode: &str,
    ) -> anyhow::Result<GatewayConfig> {
        let p = self
            .network
            .peer(org)
            .with_context(|| format!("no org {org} in the network"))?;
        let tls = self.network.tls();
        Ok(GatewayConfig {
            msp_id: p.msp_id().to_owned(),
            msp_dir: p.org.user_msp_dir("User1"),
            endpoint: p.address.to_string(),
            tls_ca: tls.then(|| p.org.tls_ca_cert_path()),
            server_name: tls.then(|| p.server_name()),
            channel: channel.to_owned(),
            chaincode: chaincode.to_owned(),
        })
    }

    /// An sfcbc client profile for this network (what `sfcbc devnet up` writes for its
    /// own): every org's peer with its TLS CA, users `Admin` and `User1`, default identity
    /// `User1@<first org>`.
    pub fn client_profile(&self, channel: &str, chaincode: &str) -> Profile {
        let tls = self.network.tls();
        let mut orgs = BTreeMap::new();
        for p in self.network.peers() {
            let msp = p.msp_id().to_owned();
            let name = msp.strip_suffix("MSP").unwrap_or(&msp).to_owned();
            let users = ["Admin", "User1"]
                .map(|u| (u.to_owned(), p.org.user_msp_dir(u)))
                .into_iter()
                .collect();
            orgs.insert(
                name,
                Org {
                    msp_id: msp,
                    peer: Some(Endpoint {
                        endpoint: p.address.to_string(),
                        tls_ca: tls.then(|| p.org.tls_ca_cert_path()),
                        server_name: tls.then(|| p.server_name()),
                    }),
                    users,
                },
            );
        }
        Profile {
            name: "sfcbc-bench devnet".into(),
            chaincode: chaincode.into(),
            channels: vec![channel.into()],
            default_identity: orgs.keys().next().map(|o| format!("User1@{o}")),
            orderer: None,
            orgs,
            base_dir: self._dir.path().to_path_buf(),
        }
    }

    /// Stops the network, then the chaincode servers.
    pub async fn stop(self) {
        self.network.stop().await;
        for s in self.stops {
            let _ = s.send(());
        }
    }
}
