//! Shared fixture of the endorser/validator tests: orgs generated in cryptogen's layout by
//! `sfcbc_devnet::crypto` (real ECDSA P-256 keys, NodeOUs), a channel over them, one
//! endorser per org's peer, a small key-value "chaincode" written against the simulator, and
//! helpers that assemble transactions and blocks and commit them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::Message as _;
use sfcbc_devnet::block::block_from_envelopes;
use sfcbc_devnet::chaincode::{ChaincodeOutcome, Invocation};
use sfcbc_devnet::committer::{CommittedBlock, Committer, TransientStore};
use sfcbc_devnet::crypto::{KeyAlgorithm, OrgCrypto, OrgSpec, generate};
use sfcbc_devnet::endorser::{
    BoxFuture, ChaincodeRuntimes, Endorser, EndorserChannel, ProposalOutcome, Simulate,
};
use sfcbc_devnet::ledger::Ledger;
use sfcbc_devnet::simulator::TxSimulator;
use sfcbc_devnet::validator::{
    ChaincodeDefinition, ChannelPolicies, DefinitionRegistry, EndorsementPolicy, StaticChannel,
    Validator,
};
use sfcbc_fabric::msp::MspVerifier;
use sfcbc_fabric::protos::common::{Block, Envelope, HeaderType};
use sfcbc_fabric::protos::protos::{
    ChaincodeEvent, ProposalResponse, Response, SignedProposal, TxValidationCode,
};
use sfcbc_fabric::signer::Signer;
use sfcbc_fabric::tx::{ProposalBuilder, create_signed_envelope, create_signed_transaction};

pub const CHANNEL: &str = "mychannel";
pub const CC: &str = "kv";

pub struct Org {
    pub name: String,
    pub msp_id: String,
    pub crypto: OrgCrypto,
    pub peer: Signer,
    pub user: Signer,
    pub admin: Signer,
    pub verifier: MspVerifier,
}

/// A channel of `n` peer orgs (`Org1`..), with one ledger per org's peer.
pub struct Net {
    pub dir: tempfile::TempDir,
    pub orgs: Vec<Org>,
    pub channel: Arc<dyn ChannelPolicies>,
    pub defs: Arc<DefinitionRegistry>,
    /// Per org: its peer's ledger, transient store, endorser and committer.
    pub peers: Vec<Peer>,
}

pub struct Peer {
    pub ledger: Arc<Ledger>,
    /// The peer's own chaincode connections (`kv` runs in-process).
    pub runtimes: Arc<ChaincodeRuntimes>,
    pub transient: Arc<TransientStore>,
    pub endorser: Endorser,
    pub committer: Committer,
}

impl Net {
    pub fn new(n: usize) -> Net {
        let names: Vec<String> = (1..=n).map(|i| format!("Org{i}")).collect();
        Self::named(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// A channel of the peer orgs `names` (`Org1` → `Org1MSP`).
    pub fn named(names: &[&str]) -> Net {
        Self::with_keys(names, KeyAlgorithm::EcdsaP256)
    }

    /// [`Net::named`] with keys of `alg`.
    pub fn with_keys(names: &[&str], alg: KeyAlgorithm) -> Net {
        Self::build(names, alg, false)
    }

    /// [`Net::named`] whose channel is read from a real config block 0 (configtxgen's
    /// layout, fabric-samples' policies) by `sfcbc_devnet::channel::ChannelConfig`, which is
    /// also the peers' block 0.
    pub fn from_config_block(names: &[&str]) -> Net {
        Self::build(names, KeyAlgorithm::EcdsaP256, true)
    }

    fn build(names: &[&str], alg: KeyAlgorithm, from_block: bool) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("organizations");
        let mut orgs = Vec::new();
        let mut channel = StaticChannel::new();
        for name in names {
            let spec = OrgSpec::peer_org(name);
            let crypto = generate(&base, &spec, alg).unwrap();
            let verifier = MspVerifier::new(&crypto.msp_config().unwrap()).unwrap();
            channel = channel.with_org(&spec.name, verifier.clone());
            orgs.push(Org {
                name: spec.name.clone(),
                msp_id: spec.msp_id.clone(),
                peer: crypto.node_signer("peer0").unwrap(),
                user: crypto.user_signer("User1").unwrap(),
                admin: crypto.admin_signer().unwrap(),
                verifier,
                crypto,
            });
        }
        let mut genesis = None;
        let channel: Arc<dyn ChannelPolicies> = if from_block {
            use sfcbc_devnet::channel::{ChannelConfig, ChannelProfile, OrgProfile};
            let orderer = generate(&base, &OrgSpec::orderer_org(), alg).unwrap();
            let profile = ChannelProfile::new(
                CHANNEL,
                vec![OrgProfile::orderer(
                    orderer.msp_config().unwrap(),
                    vec!["127.0.0.1:7050".to_owned()],
                )],
                orgs.iter()
                    .map(|o| OrgProfile::application(o.crypto.msp_config().unwrap()))
                    .collect(),
            );
            let block = profile.genesis_block().unwrap();
            let config = ChannelConfig::from_block(&block).unwrap();
            genesis = Some(block);
            Arc::new(config)
        } else {
            Arc::new(channel)
        };
        let defs = Arc::new(DefinitionRegistry::new());
        let mut peers = Vec::new();
        for org in &orgs {
            let runtimes = Arc::new(ChaincodeRuntimes::new());
            runtimes.insert(CC, Arc::new(KvChaincode));
            let ledger = Arc::new(
                Ledger::open(&dir.path().join(format!("ledger-{}", org.name)), CHANNEL).unwrap(),
            );
            let transient = Arc::new(TransientStore::new());
            let endorser = Endorser::new(org.peer.clone());
            endorser.add_channel(
                CHANNEL,
                EndorserChannel {
                    policies: channel.clone(),
                    definitions: defs.clone(),
                    ledger: ledger.clone(),
                    chaincodes: runtimes.clone(),
                    transient: transient.clone(),
                },
            );
            let validator = Validator::new(CHANNEL, channel.clone(), defs.clone());
            let committer = Committer::new(
                ledger.clone(),
                validator,
                transient.clone(),
                org.msp_id.clone(),
            );
            peers.push(Peer {
                ledger,
                runtimes,
                transient,
                endorser,
                committer,
            });
        }
        let net = Net {
            dir,
            orgs,
            channel,
            defs,
            peers,
        };
        if let Some(block) = genesis {
            for p in &net.peers {
                let c = p.committer.commit(block.clone()).unwrap();
                assert_eq!(c.validation.codes(), [TxValidationCode::Valid]);
            }
            return net;
        }
        // Block 0: a config transaction (accepted as is by the validator).
        let config = create_signed_envelope(
            HeaderType::Config,
            CHANNEL,
            b"ConfigEnvelope".to_vec(),
            Vec::new(),
            &net.orgs[0].admin,
        );
        let v = net.commit_all(vec![config]);
        assert_eq!(v.len(), 1);
        net
    }

    /// Defines chaincode `kv` with `policy`.
    pub fn define(&self, policy: &str) {
        self.define_with(
            ChaincodeDefinition::new(CC, "1.0")
                .with_policy(EndorsementPolicy::parse(policy).unwrap()),
        );
    }

    pub fn define_with(&self, def: ChaincodeDefinition) {
        self.defs.insert(def);
    }

    pub fn channel_msps(&self) -> &sfcbc_fabric::msp::MspManager {
        self.channel.msps()
    }

    pub fn org(&self, i: usize) -> &Org {
        &self.orgs[i]
    }

    /// A signed proposal from `creator` invoking `kv` with `args`.
    pub fn proposal(&self, creator: &Signer, args: &[&str]) -> SignedProposal {
        self.proposal_with(creator, args, &[])
    }

    pub fn proposal_with(
        &self,
        creator: &Signer,
        args: &[&str],
        transient: &[(&str, &[u8])],
    ) -> SignedProposal {
        self.proposal_for(CC, creator, args, transient)
    }

    /// A signed proposal invoking chaincode `cc`.
    pub fn proposal_for(
        &self,
        cc: &str,
        creator: &Signer,
        args: &[&str],
        transient: &[(&str, &[u8])],
    ) -> SignedProposal {
        let mut b =
            ProposalBuilder::new(CHANNEL, cc).args(args.iter().map(|a| a.as_bytes().to_vec()));
        for (k, v) in transient {
            b = b.transient(*k, v.to_vec());
        }
        b.build(&creator.serialize()).unwrap().sign(creator)
    }

    /// Endorses `sp` on the peers of orgs `by` (indices); every endorsement must succeed.
    pub async fn endorse(&self, sp: &SignedProposal, by: &[usize]) -> Vec<ProposalOutcome> {
        let mut out = Vec::new();
        for &i in by {
            let o = self.peers[i].endorser.process_proposal(sp).await;
            assert!(
                o.endorsed(),
                "org {i} did not endorse: {:?} {:?}",
                o.response.response,
                o.rpc_error
            );
            out.push(o);
        }
        out
    }

    /// Endorses on `by` and assembles the transaction signed by `creator`.
    pub async fn tx(&self, creator: &Signer, args: &[&str], by: &[usize]) -> Envelope {
        let sp = self.proposal(creator, args);
        let outcomes = self.endorse(&sp, by).await;
        self.disseminate(&outcomes);
        let responses: Vec<ProposalResponse> = outcomes.into_iter().map(|o| o.response).collect();
        create_signed_transaction(&sp, &responses, creator).unwrap()
    }

    /// Hands each endorsement's private data to the peers of the member orgs (what gossip
    /// dissemination does).
    pub fn disseminate(&self, outcomes: &[ProposalOutcome]) {
        for o in outcomes {
            let Some(pvt) = &o.private_data else { continue };
            for (i, org) in self.orgs.iter().enumerate() {
                if let Some(p) = sfcbc_devnet::endorser::private_data_for_org(
                    pvt,
                    self.defs.as_ref(),
                    &org.msp_id,
                ) {
                    self.peers[i].transient.persist(&o.tx_id, 0, p);
                }
            }
        }
    }

    /// The next block of `envelopes` (numbered after peer 0's ledger).
    pub fn block(&self, envelopes: &[Envelope]) -> Block {
        let info = self.peers[0]
            .ledger
            .snapshot()
            .unwrap()
            .chain_info()
            .unwrap();
        block_from_envelopes(info.height, info.current_block_hash, envelopes)
    }

    /// Commits a block of `envelopes` on every peer; returns peer 0's codes (all peers must
    /// agree).
    pub fn commit_all(&self, envelopes: Vec<Envelope>) -> Vec<i32> {
        let block = self.block(&envelopes);
        let mut first: Option<Vec<i32>> = None;
        for p in &self.peers {
            let c: CommittedBlock = p.committer.commit(block.clone()).unwrap();
            let codes: Vec<i32> = c.validation.txs.iter().map(|t| t.code as i32).collect();
            match &first {
                None => first = Some(codes),
                Some(f) => assert_eq!(f, &codes, "peers disagree"),
            }
        }
        first.unwrap()
    }

    /// Commits on every peer and returns peer 0's full result.
    pub fn commit_block(&self, envelopes: Vec<Envelope>) -> CommittedBlock {
        let block = self.block(&envelopes);
        let mut out = None;
        for p in &self.peers {
            let c = p.committer.commit(block.clone()).unwrap();
            out.get_or_insert(c);
        }
        out.unwrap()
    }

    pub fn state(&self, peer: usize, key: &str) -> Option<Vec<u8>> {
        self.peers[peer]
            .ledger
            .snapshot()
            .unwrap()
            .state(CC, key)
            .unwrap()
            .map(|v| v.value)
    }
}

/// A key-value chaincode on the simulator. Functions (first argument):
/// `put k v`, `get k`, `inc k` (read then write), `range start end` (reads the whole range),
/// `range_put start end k v`, `pput coll k v` (private write), `pget coll k`,
/// `sbe k policy` (sets the key's VALIDATION_PARAMETER to a signature policy),
/// `psbe coll k policy` (the same for a private key),
/// `event name`, `fail status msg`.
pub struct KvChaincode;

fn ok(payload: &[u8]) -> ChaincodeOutcome {
    ChaincodeOutcome {
        response: Response {
            status: 200,
            message: String::new(),
            payload: payload.to_vec(),
        },
        event: None,
    }
}

fn run(inv: &Invocation, sim: &mut TxSimulator) -> Result<ChaincodeOutcome, String> {
    let args: Vec<String> = inv
        .input
        .args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let a = |i: usize| args.get(i).cloned().unwrap_or_default();
    let e = |e: sfcbc_devnet::simulator::SimError| e.0;
    match a(0).as_str() {
        "put" => {
            sim.set_state(CC, &a(1), a(2).as_bytes()).map_err(e)?;
            Ok(ok(b""))
        }
        "get" => {
            let v = sim.get_state(CC, &a(1)).map_err(e)?;
            Ok(ok(&v.unwrap_or_default()))
        }
        "inc" => {
            let v = sim.get_state(CC, &a(1)).map_err(e)?;
            let n: u64 = v
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            sim.set_state(CC, &a(1), (n + 1).to_string().as_bytes())
                .map_err(e)?;
            Ok(ok(b""))
        }
        "range" | "range_put" => {
            let mut it = sim.state_range(CC, &a(1), &a(2), None).map_err(e)?;
            let mut n = 0;
            while sim.next(&mut it).map_err(e)?.is_some() {
                n += 1;
            }
            if a(0) == "range_put" {
                sim.set_state(CC, &a(3), a(4).as_bytes()).map_err(e)?;
            }
            Ok(ok(n.to_string().as_bytes()))
        }
        "pput" => {
            // The chaincode handler checks the creator's permission first.
            sim.check_write_permission(CC, &a(1)).map_err(e)?;
            sim.set_private_data(CC, &a(1), &a(2), a(3).as_bytes())
                .map_err(e)?;
            Ok(ok(b""))
        }
        "pget" => {
            sim.check_read_permission(CC, &a(1)).map_err(e)?;
            let v = sim.get_private_data(CC, &a(1), &a(2)).map_err(e)?;
            Ok(ok(&v.unwrap_or_default()))
        }
        "sbe" => {
            let env = sfcbc_fabric::policy::from_string(&a(2)).map_err(|e| e.to_string())?;
            let mut m = BTreeMap::new();
            m.insert("VALIDATION_PARAMETER".to_owned(), env.encode_to_vec());
            sim.set_state_metadata(CC, &a(1), &m).map_err(e)?;
            Ok(ok(b""))
        }
        "psbe" => {
            let env = sfcbc_fabric::policy::from_string(&a(3)).map_err(|e| e.to_string())?;
            let mut m = BTreeMap::new();
            m.insert("VALIDATION_PARAMETER".to_owned(), env.encode_to_vec());
            sim.check_write_permission(CC, &a(1)).map_err(e)?;
            sim.set_private_data_metadata(CC, &a(1), &a(2), &m)
                .map_err(e)?;
            Ok(ok(b""))
        }
        "event" => {
            sim.set_state(CC, "evkey", b"1").map_err(e)?;
            let mut o = ok(b"");
            o.event = Some(ChaincodeEvent {
                chaincode_id: CC.into(),
                tx_id: inv.tx_id.clone(),
                event_name: a(1),
                payload: b"payload".to_vec(),
            });
            Ok(o)
        }
        "fail" => Ok(ChaincodeOutcome {
            response: Response {
                status: a(1).parse().unwrap_or(500),
                message: a(2),
                payload: b"detail".to_vec(),
            },
            event: None,
        }),
        other => Err(format!("unknown function {other}")),
    }
}

impl Simulate for KvChaincode {
    fn execute<'a>(
        &'a self,
        invocation: &'a Invocation,
        sim: &'a mut TxSimulator,
    ) -> BoxFuture<'a, Result<ChaincodeOutcome, String>> {
        let r = run(invocation, sim);
        Box::pin(async move { r })
    }
}
