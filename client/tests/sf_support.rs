//! Shared set-up for the SF data-plane tests (included with `#[path]`): identities, an
//! embedded ledger running the real contract, chains with credentials and endpoints shared,
//! SFs on their own 127.0.0.x addresses, and ledger queries for assertions.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sfcbc_chaincode::Creator;
use sfcbc_chaincode::types::{Chain, HopError, HopRecord, Page, Trace};
use sfcbc_client::local_ledger::{LocalClient, LocalLedger};
use sfcbc_client::sf::{FunctionConfig, HopRef, Sf, SfConfig, SfLedger};
use sfcbc_client::tools::{Sink, SinkConfig, SinkReport};
use tokio::sync::oneshot;

pub const USER: &str = "user1";
pub const SECRET: &[u8] = b"correct horse battery staple";
pub const SALT: &[u8] = b"0123456789abcdef-test-salt";

/// A client identity: MSP ID + a fresh self-signed P-256 certificate.
pub fn creator(msp: &str, cn: &str) -> Creator {
    let key = sfcbc_fabric::PrivateKey::generate_p256();
    let kp = rcgen::KeyPair::from_pem(&key.to_pkcs8_pem()).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let pem = params.self_signed(&kp).expect("cert").pem();
    Creator {
        msp_id: msp.into(),
        id_bytes: pem.into_bytes(),
    }
}

/// A free UDP address on `ip` (bind port 0, release).
pub fn free_addr(ip: &str) -> SocketAddr {
    // Never the same address twice in one process: tests run in parallel, and the kernel may
    // hand a port just released here to another test's probe before the first binds it.
    static GIVEN: std::sync::Mutex<Vec<SocketAddr>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let s = std::net::UdpSocket::bind((ip, 0)).expect("bind a free port");
        let addr = s.local_addr().expect("addr");
        if !given.contains(&addr) {
            given.push(addr);
            return addr;
        }
    }
}

/// The owner, three SPs (Org1..Org3) and the manager on one embedded ledger.
pub struct Net {
    pub ledger: LocalLedger,
    pub owner: LocalClient,
    pub sps: Vec<LocalClient>,
    pub manager: LocalClient,
}

/// One hop of a test chain.
#[derive(Clone, Debug)]
pub struct HopSpec {
    pub psiid: String,
    /// 0..3 → Org1MSP..Org3MSP
    pub sp: usize,
    pub address: SocketAddr,
    pub validation: &'static str,
}

pub fn hop(sp: usize, n: u32, address: SocketAddr, validation: &'static str) -> HopSpec {
    HopSpec {
        psiid: format!("Org{}:NameWriter:{n}", sp + 1),
        sp,
        address,
        validation,
    }
}

impl Net {
    pub async fn new() -> Net {
        let ledger = LocalLedger::new("sfc-test");
        let owner = ledger.client(creator("Tenant1MSP", "User1@tenant1"));
        let sps: Vec<LocalClient> = (1..=3)
            .map(|i| ledger.client(creator(&format!("Org{i}MSP"), &format!("sf@org{i}"))))
            .collect();
        let manager = ledger.client(creator("ManagerMSP", "Admin@manager"));
        for sp in &sps {
            sp.submit(
                "RegisterAccount",
                &[USER],
                &[("secret", SECRET), ("salt", SALT)],
            )
            .await
            .expect("RegisterAccount");
        }
        Net {
            ledger,
            owner,
            sps,
            manager,
        }
    }

    pub fn spec_json(id: &str, hops: &[HopSpec], classifier: Option<SocketAddr>) -> String {
        let hops: Vec<serde_json::Value> = hops
            .iter()
            .map(|h| {
                serde_json::json!({
                    "psiid": h.psiid,
                    "spMsp": format!("Org{}MSP", h.sp + 1),
                    "address": h.address.to_string(),
                    "validation": h.validation,
                })
            })
            .collect();
        let mut spec = serde_json::json!({"id": id, "hops": hops});
        if let Some(c) = classifier {
            spec["classifier"] = c.to_string().into();
        }
        spec.to_string()
    }

    /// Creates the chain, shares the user's credential with every hop (`secret` for the
    /// hops in `wrong_secret`: a wrong one), the source with hop 1 and the destination with
    /// the last hop.
    pub async fn create_chain(
        &self,
        id: &str,
        hops: &[HopSpec],
        classifier: Option<SocketAddr>,
        source: SocketAddr,
        destination: SocketAddr,
        wrong_secret: &[usize],
    ) -> Chain {
        self.owner
            .submit(
                "CreateChain",
                &[&Self::spec_json(id, hops, classifier)],
                &[],
            )
            .await
            .expect("CreateChain");
        self.share(id, hops, source, destination, wrong_secret)
            .await;
        self.owner
            .evaluate_json("GetChain", &[id])
            .await
            .expect("GetChain")
    }

    pub async fn share(
        &self,
        id: &str,
        hops: &[HopSpec],
        source: SocketAddr,
        destination: SocketAddr,
        wrong_secret: &[usize],
    ) {
        for (i, h) in hops.iter().enumerate() {
            let secret: &[u8] = if wrong_secret.contains(&i) {
                b"not the secret"
            } else {
                SECRET
            };
            self.owner
                .submit(
                    "ShareAuth",
                    &[id, &h.psiid],
                    &[
                        ("account", USER.as_bytes()),
                        ("secret", secret),
                        ("salt", SALT),
                    ],
                )
                .await
                .expect("ShareAuth");
        }
        let src = source.to_string();
        let dst = destination.to_string();
        let first = &hops[0].psiid;
        let last = &hops[hops.len() - 1].psiid;
        if first == last {
            self.owner
                .submit(
                    "ShareEndpoints",
                    &[id, first],
                    &[
                        ("source", src.as_bytes()),
                        ("destination", dst.as_bytes()),
                        ("salt", SALT),
                    ],
                )
                .await
                .expect("ShareEndpoints");
        } else {
            self.owner
                .submit(
                    "ShareEndpoints",
                    &[id, first],
                    &[("source", src.as_bytes()), ("salt", SALT)],
                )
                .await
                .expect("ShareEndpoints source");
            self.owner
                .submit(
                    "ShareEndpoints",
                    &[id, last],
                    &[("destination", dst.as_bytes()), ("salt", SALT)],
                )
                .await
                .expect("ShareEndpoints destination");
        }
    }

    /// The SP client of hop `h`, as an `SfLedger`.
    pub fn sp_ledger(&self, sp: usize) -> Arc<dyn SfLedger> {
        Arc::new(self.sps[sp].clone())
    }

    /// Starts an SF for `hops` (chain, spec) as their SP, with quick test timings.
    pub async fn start_sf(
        &self,
        hops: &[(&str, &HopSpec)],
        function: FunctionConfig,
        tweak: impl FnOnce(&mut SfConfig),
    ) -> Sf {
        let ledger = self.sp_ledger(hops[0].1.sp);
        Self::start_sf_on(ledger, hops, function, tweak).await
    }

    /// [`Self::start_sf`] over `ledger` (e.g. the SP's, wrapped).
    pub async fn start_sf_on(
        ledger: Arc<dyn SfLedger>,
        hops: &[(&str, &HopSpec)],
        function: FunctionConfig,
        tweak: impl FnOnce(&mut SfConfig),
    ) -> Sf {
        let mut config = SfConfig::new(
            hops.iter()
                .map(|(chain, h)| HopRef {
                    chain: chain.to_string(),
                    psiid: h.psiid.clone(),
                    sources: vec![],
                    channel: None,
                })
                .collect(),
        );
        config.function = function;
        config.listen = Some(hops[0].1.address);
        config.records.batch_interval_ms = 10;
        config.validation.hash_wait_ms = 500;
        tweak(&mut config);
        let sf = Sf::start(config, ledger).await.expect("SF starts");
        assert!(
            sf.wait_ready(Duration::from_secs(5)).await,
            "SF never loaded its chains"
        );
        sf
    }

    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        function: &str,
        chain: &str,
        psiid: &str,
    ) -> Vec<T> {
        let mut out = Vec::new();
        let mut bookmark = String::new();
        loop {
            let page: Page<T> = self
                .owner
                .evaluate_json(function, &[chain, psiid, "1000", &bookmark])
                .await
                .expect(function);
            out.extend(page.items);
            if page.bookmark.is_empty() {
                return out;
            }
            bookmark = page.bookmark;
        }
    }

    pub async fn errors(&self, chain: &str, psiid: &str) -> Vec<HopError> {
        self.all_pages("GetErrors", chain, psiid).await
    }

    pub async fn records(&self, chain: &str, psiid: &str) -> Vec<HopRecord> {
        self.all_pages("GetRecords", chain, psiid).await
    }

    pub async fn trace(&self, chain: &str, source_hash: &str) -> Trace {
        self.owner
            .evaluate_json("TraceMessage", &[chain, source_hash])
            .await
            .expect("TraceMessage")
    }

    /// Waits until hop `psiid` recorded an error for `input_hash`.
    pub async fn wait_error(&self, chain: &str, psiid: &str, input_hash: &str) -> HopError {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self
                .errors(chain, psiid)
                .await
                .into_iter()
                .find(|e| e.input_hash == input_hash)
            {
                return e;
            }
            assert!(
                Instant::now() < end,
                "no error recorded at {psiid} for {input_hash}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until hop `psiid` has at least `n` records.
    pub async fn wait_records(&self, chain: &str, psiid: &str, n: usize) -> Vec<HopRecord> {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.records(chain, psiid).await;
            if r.len() >= n {
                return r;
            }
            assert!(
                Instant::now() < end,
                "{psiid} has {} records, expected {n}",
                r.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A sink running in the background; `stop()` returns what it saw.
pub struct BgSink {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<SinkReport>,
}

impl BgSink {
    pub async fn start(listen: SocketAddr) -> BgSink {
        let sink = Sink::bind(SinkConfig {
            listen,
            count: None,
            idle_ms: None,
            expect_stamps: None,
            print: false,
        })
        .await
        .expect("sink binds");
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(sink.run(async move {
            let _ = rx.await;
        }));
        BgSink { stop, task }
    }

    pub async fn stop(self) -> SinkReport {
        let _ = self.stop.send(());
        self.task.await.expect("sink task")
    }
}

/// A UDP socket bound to `addr` that receives with a time-out.
pub async fn recv_within(
    socket: &tokio::net::UdpSocket,
    within: Duration,
) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(within, socket.recv_from(&mut buf)).await {
        Ok(Ok((n, from))) => {
            buf.truncate(n);
            Some((buf, from))
        }
        _ => None,
    }
}

pub fn sha(data: &[u8]) -> String {
    sfcbc_client::sf::sha256_hex(data)
}
