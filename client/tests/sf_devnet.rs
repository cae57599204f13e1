//! The SF runtime over a real Fabric Gateway ([`FabricLedger`]): a devnet (orderer + peers
//! for Org1, Org2, Tenant1 over TLS, the SFC contract served by `sfcbc-ccaas`), two SFs on
//! their own loopback addresses, each through its own org's gateway peer. Checks what the
//! embedded-ledger tests cannot: chaincode events over the gateway feed the view, `CheckIn`
//! endorsed by the SP's own org reads its private data, records commit through ordering, and
//! hop 2's hash validation finds hop 1's committed record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sfcbc_ccaas::package::{PackageSpec, build};
use sfcbc_ccaas::{ServerConfig, SfcContract as SfcChaincode};
use sfcbc_chaincode::types::{ChainSpec, Endpoint, ErrorKind, Hop, Validation};
use sfcbc_client::sf::function::stamps;
use sfcbc_client::sf::{FabricLedger, FunctionConfig, HopRef, Sf, SfConfig};
use sfcbc_client::{Gateway, SfcContract, TlsOptions};
use sfcbc_devnet::network::{ChaincodeSpec, Network, NetworkConfig};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

const CHANNEL: &str = "sfc";
const CC: &str = "sfc";

fn free_addr(ip: &str) -> std::net::SocketAddr {
    std::net::UdpSocket::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
}

async fn gateway(net: &Network, org: &str) -> Gateway {
    let p = net.peer(org).expect("org");
    let signer = p.org.user_signer("User1").unwrap();
    let tls = TlsOptions::with_ca_pem(p.org.tls_ca_pem().unwrap()).server_name(p.server_name());
    Gateway::connect(
        signer.identity().clone(),
        signer,
        &p.address.to_string(),
        Some(tls),
    )
    .await
    .expect("gateway connects")
}

async fn recv_within(s: &UdpSocket, d: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(d, s.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => {
            buf.truncate(n);
            Some(buf)
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sfs_over_devnet_gateways() {
    // chaincode server + network + channel + chaincode definition
    let dir = tempfile::tempdir().unwrap();
    let listener = sfcbc_ccaas::bind("127.0.0.1:0").await.unwrap();
    let package = build(&PackageSpec {
        label: "sfcbc_1.0".into(),
        address: listener.local_addr().unwrap().to_string(),
        dial_timeout: "10s".into(),
        tls: None,
    })
    .unwrap();
    let (_stop, stopped) = oneshot::channel::<()>();
    let mut config = ServerConfig::new(&package.package_id);
    config.shutdown_grace = Duration::from_millis(200);
    tokio::spawn(sfcbc_ccaas::serve(
        listener,
        config,
        Arc::new(SfcChaincode::default()),
        async move {
            let _ = stopped.await;
        },
    ));
    let net =
        Network::start(NetworkConfig::new(dir.path()).with_orgs(&["Org1", "Org2", "Tenant1"]))
            .await
            .expect("network starts");
    net.create_channel(CHANNEL, &[] as &[&str]).await.unwrap();
    let package_id = net.install_package(&package.bytes).unwrap();
    net.commit_chaincode(
        CHANNEL,
        ChaincodeSpec::new(CC, &package_id)
            .with_policy("OR('Org1MSP.peer','Org2MSP.peer','Tenant1MSP.peer')"),
    )
    .await
    .unwrap();
    net.wait_for_height(CHANNEL, 1).await.unwrap();

    let owner = SfcContract::new(gateway(&net, "Tenant1").await.network(CHANNEL).contract(CC));
    let sp1 = SfcContract::new(gateway(&net, "Org1").await.network(CHANNEL).contract(CC));
    let sp2 = SfcContract::new(gateway(&net, "Org2").await.network(CHANNEL).contract(CC));

    let src = free_addr("127.0.0.10");
    let dst = free_addr("127.0.0.11");
    let a1 = free_addr("127.0.0.2");
    let a2 = free_addr("127.0.0.3");
    let hop = |psiid: &str, msp: &str, addr: std::net::SocketAddr, v| Hop {
        psiid: psiid.into(),
        sp_msp: msp.into(),
        address: addr.to_string(),
        validation: v,
        collection: None,
    };
    let chain = owner
        .create_chain(&ChainSpec {
            id: "dev1".into(),
            hops: vec![
                hop("Org1:NameWriter:1", "Org1MSP", a1, Validation::Address),
                hop("Org2:NameWriter:1", "Org2MSP", a2, Validation::Hash),
            ],
            classifier: None,
        })
        .await
        .expect("CreateChain");
    let secret = b"s3cret-for-the-sps";
    sp1.register_account("alice", secret).await.unwrap();
    sp2.register_account("alice", secret).await.unwrap();
    for h in ["Org1:NameWriter:1", "Org2:NameWriter:1"] {
        owner.share_auth(&chain, h, "alice", secret).await.unwrap();
    }
    owner
        .share_endpoints(
            &chain,
            "Org1:NameWriter:1",
            &Endpoint {
                source: Some(src.to_string()),
                destination: None,
            },
        )
        .await
        .unwrap();
    owner
        .share_endpoints(
            &chain,
            "Org2:NameWriter:1",
            &Endpoint {
                source: None,
                destination: Some(dst.to_string()),
            },
        )
        .await
        .unwrap();

    let start = |psiid: &str, ledger: SfcContract| {
        let mut c = SfConfig::new(vec![HopRef {
            chain: "dev1".into(),
            psiid: psiid.into(),
            sources: vec![],
            channel: None,
        }]);
        c.function = FunctionConfig::NameWriter;
        c.records.batch_interval_ms = 10;
        c.validation.hash_wait_ms = 3_000;
        async move {
            let sf = Sf::start(c, Arc::new(FabricLedger::new(ledger)))
                .await
                .expect("SF starts");
            assert!(sf.wait_ready(Duration::from_secs(10)).await);
            sf
        }
    };
    let sf1 = start("Org1:NameWriter:1", sp1.clone()).await;
    assert_eq!(
        sf1.local_addr, a1,
        "listens on its registered address by default"
    );
    // SF2 exactly as `sfcbc sf run --config sf2.toml` runs it: TOML, MSP folder, TLS CA.
    let org2 = &net.peer("Org2").unwrap();
    let metrics = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let toml = format!(
        r#"
metrics = "{metrics}"
function = {{ kind = "name-writer" }}

[[hops]]
chain = "dev1"
psiid = "Org2:NameWriter:1"

[records]
batch_interval_ms = 10

[gateway]
msp_id = "Org2MSP"
msp_dir = {msp:?}
endpoint = "{endpoint}"
tls_ca = {ca:?}
server_name = "{server_name}"
channel = "{CHANNEL}"
"#,
        msp = org2.org.user_msp_dir("User1"),
        endpoint = org2.address,
        ca = org2.org.tls_ca_cert_path(),
        server_name = org2.server_name(),
    );
    let config = SfConfig::from_toml(&toml).expect("TOML config");
    let (stop2, stopped2) = oneshot::channel::<()>();
    let sf2 = tokio::spawn(sfcbc_client::sf::run(config, async move {
        let _ = stopped2.await;
    }));
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Ok(mut s) = tokio::net::TcpStream::connect(metrics).await {
            s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").await.unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out).await;
            if out.starts_with("HTTP/1.0 200") {
                break;
            }
        }
        assert!(Instant::now() < end, "SF2 never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sink = UdpSocket::bind(dst).await.unwrap();
    let source = UdpSocket::bind(src).await.unwrap();
    for i in 0..3 {
        let payload = format!("hello devnet {i}");
        source.send_to(payload.as_bytes(), a1).await.unwrap();
        let got = recv_within(&sink, Duration::from_secs(20))
            .await
            .expect("arrives through both SFs");
        assert!(got.starts_with(payload.as_bytes()));
        let s = stamps(&got);
        assert_eq!(s.len(), 2, "{}", String::from_utf8_lossy(&got));
        assert_eq!(s[1].0, "Org2:NameWriter:1");
    }

    // a forged source at hop 1: dropped, the error on the ledger
    let forger = UdpSocket::bind("127.0.0.12:0").await.unwrap();
    forger.send_to(b"forged", a1).await.unwrap();
    let want = sfcbc_client::sf::sha256_hex(b"forged");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let page = owner
            .get_errors("dev1", Some("Org1:NameWriter:1"), 100, "")
            .await
            .unwrap();
        if let Some(e) = page.items.iter().find(|e| e.input_hash == want) {
            assert_eq!(e.kind, ErrorKind::Source);
            break;
        }
        assert!(Instant::now() < end, "no error recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        recv_within(&sink, Duration::from_millis(300))
            .await
            .is_none()
    );

    stop2.send(()).unwrap();
    let r2 = sf2.await.unwrap().expect("sf::run ends cleanly");
    let r1 = sf1.shutdown().await;
    assert_eq!((r1.records.committed, r2.records.committed), (3, 3));
    assert_eq!(r1.records.errors, 1);
    let trace = owner
        .trace_message("dev1", &sfcbc_client::sf::sha256_hex(b"hello devnet 0"))
        .await
        .unwrap();
    assert!(trace.complete, "{trace:?}");
}
