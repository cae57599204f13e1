//! Shared set-up for the web UI's API tests (included with `#[path]` by `ui_api.rs`): a devnet
//! in this process with the SFC chaincode served by a real sfcbc-ccaas server, its client
//! profile, the UI server on a loopback port, and hop records and errors submitted as each
//! hop's SP. The browser test (tests/ui/run.sh) drives the real data plane instead.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sfcbc_ccaas::package::{self, PackageSpec};
use sfcbc_chaincode::types::{ErrorKind, HopErrorInput, HopRecordInput};
use sfcbc_client::SfcContract;
use sfcbc_client::profile::{Endpoint, Org, Profile};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use sha2::{Digest as _, Sha256};
use tokio::sync::{oneshot, watch};

pub const CHANNEL: &str = "sfc-chain1";
pub const ORGS: [&str; 5] = ["Manager", "Org1", "Org2", "Org3", "Tenant1"];

/// A running devnet with the SFC chaincode on [`CHANNEL`].
pub struct Devnet {
    pub network: Network,
    pub profile: Profile,
    stop_ccaas: watch::Sender<bool>,
    ccaas: tokio::task::JoinHandle<()>,
}

/// Starts a devnet in `dir` (plaintext gRPC on loopback), as `sfcbc devnet up` does.
pub async fn start_devnet(dir: &Path) -> Devnet {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let ccaas_addr = l.local_addr().expect("addr").to_string();
    drop(l);
    let pkg = package::build(&PackageSpec {
        label: "sfcbc_1.0".into(),
        address: ccaas_addr.clone(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .expect("CCaaS package");
    let listener = sfcbc_ccaas::bind(&ccaas_addr).await.expect("bind ccaas");
    let (stop_ccaas, mut stopped) = watch::channel(false);
    let contract = Arc::new(sfcbc_ccaas::SfcContract::new(
        sfcbc_chaincode::Config::default(),
    ));
    let mut server_config = sfcbc_ccaas::ServerConfig::new(pkg.package_id.clone());
    server_config.shutdown_grace = Duration::from_secs(2);
    let ccaas = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = sfcbc_ccaas::serve(listener, server_config, contract, shutdown).await {
            eprintln!("chaincode server: {e}");
        }
    });

    let mut config = NetworkConfig::new(dir).with_orgs(&ORGS).with_tls(false);
    config.batch_timeout = Duration::from_millis(50);
    let network = Network::start(config).await.expect("devnet starts");
    let package_id = network.install_package(&pkg.bytes).expect("install");
    let msps: Vec<String> = network
        .peers()
        .iter()
        .map(|p| p.msp_id().to_owned())
        .collect();
    network
        .create_channel(CHANNEL, &msps)
        .await
        .expect("create channel");
    let policy = format!(
        "OR({})",
        msps.iter()
            .map(|m| format!("'{m}.peer'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    network
        .commit_chaincode(
            CHANNEL,
            ChaincodeSpec::new("sfc", &package_id).with_policy(policy),
        )
        .await
        .expect("commit chaincode");
    let profile = profile_of(&network);
    profile
        .save(&dir.join("profile.yaml"))
        .expect("write profile");
    Devnet {
        network,
        profile,
        stop_ccaas,
        ccaas,
    }
}

fn profile_of(network: &Network) -> Profile {
    let mut orgs = std::collections::BTreeMap::new();
    for p in network.peers() {
        let users = ["Admin", "User1"]
            .into_iter()
            .map(|u| (u.to_owned(), p.org.user_msp_dir(u)))
            .collect();
        orgs.insert(
            p.org.spec.name.clone(),
            Org {
                msp_id: p.msp_id().to_owned(),
                peer: Some(Endpoint {
                    endpoint: p.address.to_string(),
                    tls_ca: None,
                    server_name: None,
                }),
                users,
            },
        );
    }
    Profile {
        name: "devnet".into(),
        chaincode: "sfc".into(),
        channels: network.channels(),
        default_identity: Some("User1@Tenant1".into()),
        orderer: Some(Endpoint {
            endpoint: network.orderer_address().to_string(),
            tls_ca: None,
            server_name: None,
        }),
        orgs,
        base_dir: network.dir().to_path_buf(),
    }
}

impl Devnet {
    pub async fn stop(self) {
        self.network.stop().await;
        let _ = self.stop_ccaas.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.ccaas).await;
    }
}

/// The UI server on a loopback port; dropping `stop` (or sending) shuts it down.
pub struct Ui {
    pub addr: SocketAddr,
    pub stop: oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<Result<(), sfcbc_client::ui::UiError>>,
}

pub async fn start_ui(profile: Profile, identity: &str, listen: SocketAddr) -> Ui {
    let listener = sfcbc_client::ui::bind(listen).await.expect("bind UI");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let identity = identity.to_owned();
    let task = tokio::spawn(async move {
        sfcbc_client::ui::serve_on(profile, Some(identity), listener, async move {
            let _ = stopped.await;
        })
        .await
    });
    Ui { addr, stop, task }
}

pub fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The SFC contract as `identity` (`USER@ORG`).
pub async fn sfc_as(profile: &Profile, identity: &str) -> SfcContract {
    let s = profile.select(Some(identity)).expect("identity");
    let g = profile.connect(&s, None).await.expect("connect");
    SfcContract::new(g.network(CHANNEL).contract("sfc"))
}

/// `n` messages through every hop of `chain`, each hop recording as its SP (what SFs do);
/// returns the messages' source hashes.
pub async fn traffic(profile: &Profile, chain: &str, n: usize, tag: &str) -> Vec<String> {
    let owner = sfc_as(profile, "User1@Tenant1").await;
    let c = owner.get_chain(chain).await.expect("chain");
    let sources: Vec<String> = (0..n)
        .map(|i| sha(format!("{tag} message {i}").as_bytes()))
        .collect();
    let mut inputs = sources.clone();
    for (h, hop) in c.hops.iter().enumerate() {
        let (org, _) = profile.org_by_msp(&hop.sp_msp).expect("hop SP in profile");
        let sp = sfc_as(profile, &format!("User1@{org}")).await;
        let next = c
            .hops
            .get(h + 1)
            .map_or_else(|| "127.0.0.1:7100".to_owned(), |x| x.address.clone());
        let src = if h == 0 {
            "127.0.0.1:7000".to_owned()
        } else {
            c.hops[h - 1].address.clone()
        };
        let records: Vec<HopRecordInput> = inputs
            .iter()
            .enumerate()
            .map(|(i, input)| HopRecordInput {
                seq: i as u64 + 1,
                input_hash: input.clone(),
                output_hash: sha(format!("{input}|{}", hop.psiid).as_bytes()),
                src: src.clone(),
                next: next.clone(),
            })
            .collect();
        sp.record_hops(chain, &hop.psiid, &records)
            .await
            .expect("RecordHops as the hop's SP");
        inputs = records.into_iter().map(|r| r.output_hash).collect();
    }
    sources
}

/// A dropped datagram at hop `psiid` of `chain`, recorded by the hop's SP.
pub async fn drop_one(profile: &Profile, chain: &str, psiid: &str, kind: ErrorKind, detail: &str) {
    let owner = sfc_as(profile, "User1@Tenant1").await;
    let c = owner.get_chain(chain).await.expect("chain");
    let (_, hop) = c.hop(psiid).expect("hop in chain");
    let (org, _) = profile.org_by_msp(&hop.sp_msp).expect("hop SP in profile");
    let sp = sfc_as(profile, &format!("User1@{org}")).await;
    sp.record_error(
        chain,
        psiid,
        &HopErrorInput {
            kind,
            detail: detail.into(),
            src: "127.0.0.9:6666".into(),
            input_hash: sha(format!("forged {detail}").as_bytes()),
        },
    )
    .await
    .expect("RecordError as the hop's SP");
}
