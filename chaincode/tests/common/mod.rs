//! Test harness: identities from the real certificate fixtures, a chain of three SPs, and a
//! ledger that runs submit transactions (commit on 200) and evaluate transactions.
#![allow(dead_code)]

use futures::executor::block_on;
use serde_json::Value;
use sfcbc_chaincode::memstub::{MemLedger, MemStub, TxRecord};
use sfcbc_chaincode::{Creator, Response, dispatch};

pub const CHAIN: &str = "chain1";
pub const HOP1: &str = "Org1:NameWriter:1";
pub const HOP2: &str = "Org2:NameWriter:1";
pub const HOP3: &str = "Org3:NameWriter:1";
pub const HOP1_ADDR: &str = "127.0.0.2:9001";
pub const HOP2_ADDR: &str = "127.0.0.3:9002";
pub const HOP3_ADDR: &str = "127.0.0.4:9003";
pub const CLASSIFIER: &str = "127.0.0.9:9000";
pub const SOURCE: &str = "127.0.0.10:5000";
pub const DESTINATION: &str = "127.0.0.11:6000";
pub const SALT: &[u8] = b"0123456789abcdef-salt";

fn pem(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/identity/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn who(msp: &str, file: &str) -> Creator {
    Creator {
        msp_id: msp.into(),
        id_bytes: pem(file),
    }
}

/// The chain owner (a tenant user).
pub fn owner() -> Creator {
    who("Tenant1MSP", "cryptogen-User1@tenant1.example.com.pem")
}
/// Another identity of the owner's org: not the owner.
pub fn owner_colleague() -> Creator {
    who("Tenant1MSP", "cryptogen-Admin@tenant1.example.com.pem")
}
pub fn sp1() -> Creator {
    who("Org1MSP", "cryptogen-User1@org1.example.com.pem")
}
pub fn sp2() -> Creator {
    who("Org2MSP", "cryptogen-Admin@org1.example.com.pem")
}
pub fn sp3() -> Creator {
    who("Org3MSP", "cryptogen-peer0.org1.example.com.pem")
}
pub fn manager() -> Creator {
    who("ManagerMSP", "openssl-multi-ou.pem")
}
pub fn stranger() -> Creator {
    who("Org9MSP", "openssl-escaping.pem")
}

pub fn hash(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

pub fn chain_json(validation: &str) -> String {
    chain_json_with([validation; 3])
}

/// The chain with each hop's own validation policy.
pub fn chain_json_with(validation: [&str; 3]) -> String {
    serde_json::json!({
        "id": CHAIN,
        "classifier": CLASSIFIER,
        "hops": [
            {"psiid": HOP1, "spMsp": "Org1MSP", "address": HOP1_ADDR, "validation": validation[0]},
            {"psiid": HOP2, "spMsp": "Org2MSP", "address": HOP2_ADDR, "validation": validation[1]},
            {"psiid": HOP3, "spMsp": "Org3MSP", "address": HOP3_ADDR, "validation": validation[2]},
        ]
    })
    .to_string()
}

pub struct Net {
    pub ledger: MemLedger,
}

pub struct Outcome {
    pub response: Response,
    pub record: TxRecord,
    pub tx_id: String,
}

impl Outcome {
    pub fn json(&self) -> Value {
        assert_eq!(self.response.status, 200, "{}", self.response.message);
        serde_json::from_slice(&self.response.payload).unwrap()
    }

    pub fn status(&self) -> i32 {
        self.response.status
    }

    /// Asserts the status and that the message mentions `needle`.
    pub fn fails(&self, status: i32, needle: &str) {
        assert_eq!(
            self.response.status, status,
            "expected {status} ({needle}), got {}: {}",
            self.response.status, self.response.message
        );
        assert!(
            self.response.message.contains(needle),
            "message {:?} lacks {needle:?}",
            self.response.message
        );
        assert!(self.response.payload.is_empty());
    }
}

impl Default for Net {
    fn default() -> Self {
        Net {
            ledger: MemLedger::new("sfc1"),
        }
    }
}

impl Net {
    pub fn stub(&self, creator: Creator, transient: &[(&str, &[u8])]) -> MemStub {
        let mut stub = self.ledger.tx(creator);
        for (k, v) in transient {
            stub = stub.with_transient(k, v);
        }
        stub
    }

    pub fn run(&self, stub: &MemStub, args: &[&str]) -> Outcome {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let response = block_on(dispatch(stub, &args));
        Outcome {
            response,
            record: stub.record(),
            tx_id: stub.tx_id.clone(),
        }
    }

    /// Submits: simulates, and commits when the response is 200.
    pub fn submit_t(
        &mut self,
        creator: Creator,
        args: &[&str],
        transient: &[(&str, &[u8])],
    ) -> Outcome {
        let stub = self.stub(creator, transient);
        let out = self.run(&stub, args);
        if out.response.status == 200 {
            self.ledger.commit(&stub).expect("no MVCC conflict");
        }
        out
    }

    pub fn submit(&mut self, creator: Creator, args: &[&str]) -> Outcome {
        self.submit_t(creator, args, &[])
    }

    /// Evaluates: simulates, never commits.
    pub fn evaluate(&self, creator: Creator, args: &[&str]) -> Outcome {
        let stub = self.stub(creator, &[]);
        self.run(&stub, args)
    }

    /// A chain of three hops with `validation`, owned by [`owner`].
    pub fn with_chain(validation: &str) -> Net {
        let mut net = Net::default();
        net.submit(owner(), &["CreateChain", &chain_json(validation)])
            .json();
        net
    }

    /// Accounts registered by each SP and the owner's credentials shared with each hop.
    pub fn with_auth(validation: &str) -> Net {
        let mut net = Net::with_chain(validation);
        for (sp, hop) in [(sp1(), HOP1), (sp2(), HOP2), (sp3(), HOP3)] {
            net.submit_t(
                sp,
                &["RegisterAccount", "tenant1"],
                &[("secret", b"s3cret"), ("salt", SALT)],
            )
            .json();
            net.submit_t(
                owner(),
                &["ShareAuth", CHAIN, hop],
                &[
                    ("account", b"tenant1"),
                    ("secret", b"s3cret"),
                    ("salt", SALT),
                ],
            )
            .json();
        }
        net.submit_t(
            owner(),
            &["ShareEndpoints", CHAIN, HOP1],
            &[("source", SOURCE.as_bytes()), ("salt", SALT)],
        )
        .json();
        net.submit_t(
            owner(),
            &["ShareEndpoints", CHAIN, HOP3],
            &[("destination", DESTINATION.as_bytes()), ("salt", SALT)],
        )
        .json();
        net
    }

    pub fn record(&mut self, sp: Creator, hop: &str, records: Value) -> Outcome {
        self.submit(sp, &["RecordHops", CHAIN, hop, &records.to_string()])
    }
}

pub fn rec(seq: u64, input: &str, output: &str, src: &str, next: &str) -> Value {
    serde_json::json!({"seq": seq, "inputHash": input, "outputHash": output, "src": src, "next": next})
}
