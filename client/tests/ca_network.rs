//! Identities from a real Fabric CA on a real Fabric network: an SF enrolled through
//! `sfcbc_client::ca` records hops on real Fabric 2.5 peers; once the CA revokes it and the
//! CA's CRL is in the channel's MSP config, the peers refuse it.
//!
//! Driven by `tests/real-fabric/ca.sh`, which brings up `network/fabric` (cryptogen orgs),
//! creates chain1 on sfc-chain1, and starts a fabric-ca-server that signs with Org1's CA key
//! (so its identities chain to the Org1MSP root the channel trusts, and its OU `client` is
//! Org1MSP's client NodeOU). Two phases, chosen by `SFCBC_CA_NET_PHASE`:
//! - `enroll`: enroll the CA's bootstrap admin, register and enroll `sf-org1` and `sf-org1b`
//!   (type client, affiliation org1) into MSP folders, record a hop as each through Org1's
//!   gateway, read the records back; revoke `sf-org1` (with a CRL) and write the CRL to
//!   `$SFCBC_CA_NET_DIR/sf-org1.crl` (ca.sh puts it in Org1MSP's revocation list);
//! - `revoked`: `sf-org1`'s RecordHops is refused by the peers, `sf-org1b` still records.
//!
//! Without `SFCBC_CA_NET_PHASE` the test prints that it is skipped and passes.
//! Env: SFCBC_CA_NET_PROFILE (the network's sfcbc profile), SFCBC_CA_NET_CA_URL,
//! SFCBC_CA_NET_DIR (where MSP folders and the CRL go).

use std::path::PathBuf;

use sfcbc_chaincode::types::HopRecordInput;
use sfcbc_client::SfcContract;
use sfcbc_client::ca::{self, CaTarget, EnrollOptions, MspWriteOptions, RegistrationRequest};
use sfcbc_client::profile::{Profile, Selected};
use sha2::{Digest as _, Sha256};

const CHAIN: &str = "chain1";
const PSIID: &str = "Org1:NameWriter:1";
const MSP_ID: &str = "Org1MSP";

struct Env {
    profile: Profile,
    target: CaTarget,
    dir: PathBuf,
}

fn env() -> Option<(String, Env)> {
    let Ok(phase) = std::env::var("SFCBC_CA_NET_PHASE") else {
        eprintln!(
            "SKIPPED (CA identities on a real network): SFCBC_CA_NET_PHASE is not set; \
             tests/real-fabric/ca.sh runs this against network/fabric"
        );
        return None;
    };
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} must be set"));
    let profile_path = PathBuf::from(var("SFCBC_CA_NET_PROFILE"));
    let profile = Profile::load(&profile_path).expect("the network's profile");
    Some((
        phase,
        Env {
            profile,
            target: CaTarget {
                url: var("SFCBC_CA_NET_CA_URL"),
                tls_ca: None,
                ca_name: None,
            },
            dir: PathBuf::from(var("SFCBC_CA_NET_DIR")),
        },
    ))
}

fn msp_dir(env: &Env, user: &str) -> PathBuf {
    env.dir.join(user).join("msp")
}

async fn contract(env: &Env, user: &str) -> SfcContract {
    let selected = Selected {
        org: "Org1".into(),
        msp_id: MSP_ID.into(),
        user: user.into(),
        msp_dir: msp_dir(env, user),
    };
    let gateway = env
        .profile
        .connect(&selected, None)
        .await
        .expect("connect to Org1's gateway");
    let channel = env
        .profile
        .channel_for(Some(CHAIN), None)
        .expect("a channel for chain1");
    SfcContract::new(
        gateway
            .network(channel)
            .contract(env.profile.chaincode.clone()),
    )
}

fn record(tag: &str) -> (HopRecordInput, String) {
    let h = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    let out = h(&format!("{tag}-out"));
    (
        HopRecordInput {
            seq: 1,
            input_hash: h(&format!("{tag}-in")),
            output_hash: out.clone(),
            src: "127.0.0.1:4000".into(),
            next: "127.0.0.3:9001".into(),
        },
        out,
    )
}

async fn records_hold(env: &Env, user: &str, output_hash: &str) -> bool {
    let page = contract(env, user)
        .await
        .get_records(CHAIN, Some(PSIID), 100, "")
        .await
        .expect("GetRecords");
    page.items.iter().any(|r| r.output_hash == output_hash)
}

#[tokio::test]
async fn ca_identity_on_real_network() {
    let Some((phase, env)) = env() else { return };
    match phase.as_str() {
        "enroll" => enroll_phase(&env).await,
        "revoked" => revoked_phase(&env).await,
        other => panic!("unknown SFCBC_CA_NET_PHASE {other}"),
    }
}

async fn enroll_phase(env: &Env) {
    let admin_dir = msp_dir(env, "ca-admin");
    ca::enroll(
        &env.target,
        "admin",
        "adminpw",
        &admin_dir,
        &EnrollOptions::default(),
        &MspWriteOptions::default(),
        Some(MSP_ID),
    )
    .await
    .expect("enroll the CA's bootstrap admin");
    let admin = ca::load_signer(&admin_dir, MSP_ID).unwrap();
    for user in ["sf-org1", "sf-org1b"] {
        let secret = ca::register(
            &env.target,
            &admin,
            &RegistrationRequest {
                name: user.into(),
                kind: "client".into(),
                affiliation: "org1".into(),
                attributes: ca::parse_attrs("role=sf:ecert").unwrap(),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("register {user}: {e}"));
        ca::enroll(
            &env.target,
            user,
            &secret,
            &msp_dir(env, user),
            &EnrollOptions::default(),
            &MspWriteOptions::default(),
            Some(MSP_ID),
        )
        .await
        .unwrap_or_else(|e| panic!("enroll {user}: {e}"));
        eprintln!(
            "enrolled {user} from the Fabric CA into {}",
            msp_dir(env, user).display()
        );

        // The real peers accept it: RecordHops commits, and the record reads back.
        let (rec, out) = record(user);
        let ev = contract(env, user)
            .await
            .record_hops(CHAIN, PSIID, &[rec])
            .await
            .unwrap_or_else(|e| panic!("RecordHops as CA-enrolled {user}: {e}"));
        eprintln!("RecordHops as {user} committed: {ev:?}");
        assert!(
            records_hold(env, user, &out).await,
            "{user}'s record is on the ledger"
        );
    }

    // Revoke sf-org1 at the CA; its CRL goes into the channel config next (ca.sh).
    let resp = ca::revoke(
        &env.target,
        &admin,
        &ca::RevocationRequest {
            name: "sf-org1".into(),
            reason: "keycompromise".into(),
            gencrl: true,
            ..Default::default()
        },
    )
    .await
    .expect("revoke sf-org1");
    assert_eq!(resp.revoked.len(), 1, "{resp:?}");
    assert!(String::from_utf8_lossy(&resp.crl).contains("BEGIN X509 CRL"));
    std::fs::write(env.dir.join("sf-org1.crl"), &resp.crl).unwrap();
    eprintln!(
        "revoked sf-org1 (serial {}), CRL written",
        resp.revoked[0].serial
    );
}

async fn revoked_phase(env: &Env) {
    let (rec, out) = record("sf-org1-after-revocation");
    let err = contract(env, "sf-org1")
        .await
        .record_hops(CHAIN, PSIID, &[rec])
        .await
        .expect_err("the peers refuse a revoked identity");
    eprintln!("RecordHops as revoked sf-org1 refused: {err}");
    let text = format!("{err:?}").to_lowercase();
    assert!(
        text.contains("revoked") || text.contains("access denied") || text.contains("not valid"),
        "refused for its identity: {err:?}"
    );
    assert!(
        !records_hold(env, "sf-org1b", &out).await,
        "no record written"
    );

    let (rec, out) = record("sf-org1b-after");
    contract(env, "sf-org1b")
        .await
        .record_hops(CHAIN, PSIID, &[rec])
        .await
        .expect("a CA-enrolled identity that was not revoked still records");
    assert!(records_hold(env, "sf-org1b", &out).await);
}
