//! `sfcbc-bench fabric --profile FILE` drives whatever network a client profile describes.
//! Here that network is a devnet started by this test (real sockets on 127.0.0.1, TLS, the
//! kv contract over CCaaS) with unusual batch settings, so the test proves that the bench
//! reached it through the profile and read the channel's config from the network itself.
//! Figures are not checked; the real-Fabric run is tests/real-fabric/bench.sh.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sfcbc_bench::setup::BenchNet;

const BATCH_TIMEOUT_MS: u64 = 70;
const MAX_MESSAGE_COUNT: u32 = 123;

async fn bench(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_sfcbc-bench"))
        .args(args)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_GATEWAY")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .await
        .expect("sfcbc-bench runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn start() -> (BenchNet, tempfile::TempDir, String) {
    let mut net = BenchNet::start_with(
        &["Org1", "Org2", "Org3"],
        Duration::from_millis(BATCH_TIMEOUT_MS),
        MAX_MESSAGE_COUNT,
    )
    .await
    .expect("devnet starts");
    let id = net
        .serve_chaincode("kv_1.0", Arc::new(sfcbc_ccaas::KvContract))
        .await
        .expect("kv chaincode served");
    net.channel(
        "bench",
        &[
            (
                "kv_one",
                &id,
                "OR('Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
            ),
            (
                "kv_2of3",
                &id,
                "OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')",
            ),
        ],
    )
    .await
    .expect("channel with two kv definitions");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.yaml");
    net.client_profile("bench", "kv_one")
        .save(&profile)
        .expect("profile written");
    let p = profile.to_str().unwrap().to_owned();
    (net, dir, p)
}

fn read(dir: &Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).expect("JSON written");
    serde_json::from_str(&text).expect("valid JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fabric_bench_runs_against_the_network_of_a_profile() {
    let (net, dir, profile) = start().await;
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();

    let o = bench(&[
        "--quick",
        "--quiet",
        "--out",
        out_s,
        "fabric",
        "--profile",
        &profile,
        "-i",
        "User1@Org2",
        "--chaincodes",
        "one=kv_one,2of3=kv_2of3",
        "--concurrency",
        "2",
    ])
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("fabric-real.json"), "{}", text(&o));
    let v = read(&out, "fabric-real.json");

    // devnet.json's shape for the runs, one per (chaincode, concurrency), labelled.
    let runs = v["runs"].as_array().expect("runs");
    let labels: Vec<(&str, u64)> = runs
        .iter()
        .map(|r| {
            (
                r["policy"].as_str().unwrap(),
                r["concurrency"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(labels, [("one", 2), ("2of3", 2)], "{v}");
    for r in runs {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "committed_tx_per_s",
                "concurrency",
                "p50_ms",
                "p99_ms",
                "policy"
            ]
        );
        assert!(r["committed_tx_per_s"].as_f64().unwrap() > 0.0, "{v}");
    }
    assert!(v["machine"]["cores"].as_u64().is_some_and(|c| c > 0), "{v}");
    assert_eq!(v["baseline"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["profile"].as_array().map(Vec::len), Some(2), "{v}");

    // Which network: from the profile and, for the batch settings, from the channel's
    // config block on the network (the values no default has).
    let n = &v["network"];
    assert_eq!(n["profile"], profile.as_str(), "{n}");
    assert_eq!(n["channel"], "bench", "{n}");
    assert_eq!(n["identity"], "User1@Org2", "{n}");
    assert_eq!(n["gateway_org"], "Org2", "{n}");
    assert_eq!(
        n["gateway_endpoint"],
        net.network.peer("Org2").unwrap().address.to_string(),
        "{n}"
    );
    assert_eq!(n["tls"], true, "{n}");
    assert_eq!(n["batch_timeout_ms"], BATCH_TIMEOUT_MS, "{n}");
    assert_eq!(n["max_message_count"], MAX_MESSAGE_COUNT, "{n}");
    assert_eq!(
        n["members"],
        serde_json::json!(["Org1MSP", "Org2MSP", "Org3MSP"]),
        "{n}"
    );
    let cc: Vec<(&str, &str)> = v["chaincodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap(),
                c["chaincode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(cc, [("one", "kv_one"), ("2of3", "kv_2of3")]);
    assert!(
        v["transaction"].as_str().unwrap().contains("User1@Org2"),
        "{v}"
    );

    // --json prints the report itself; --file names it.
    let o = bench(&[
        "--quick",
        "--quiet",
        "--json",
        "--out",
        out_s,
        "fabric",
        "--profile",
        &profile,
        "--file",
        "other.json",
    ])
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let printed: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(printed["runs"][0]["policy"], "kv_one", "{printed}");
    assert_eq!(
        read(&out, "other.json")["network"]["identity"],
        "User1@Org1"
    );

    // Errors say what is wrong, without a panic.
    let o = bench(&[
        "--quick",
        "--quiet",
        "--out",
        out_s,
        "fabric",
        "--profile",
        &profile,
        "--chaincodes",
        "nosuchcc",
    ])
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nosuchcc") && !err.contains("panicked"),
        "{}",
        text(&o)
    );

    let o = bench(&[
        "--quick",
        "--quiet",
        "--out",
        out_s,
        "fabric",
        "--profile",
        &profile,
        "-i",
        "Nobody@Org9",
    ])
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Org9"),
        "{}",
        text(&o)
    );

    net.stop().await;
}

#[tokio::test]
async fn fabric_bench_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.yaml");
    let o = bench(&["--quiet", "fabric", "--profile", missing.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no profile at") && err.contains("none.yaml"),
        "{}",
        text(&o)
    );

    for bad in [
        vec!["fabric"],
        vec!["fabric", "--profile", "p.yaml", "--chaincodes", "a=b c"],
        vec!["fabric", "--profile", "p.yaml", "--concurrency", "0"],
        vec!["fabric", "--profile", "p.yaml", "--duration", "-1"],
        vec!["fabric", "--profile", "p.yaml", "--file", "../x.json"],
        vec!["devnet", "--max-message-count", "0"],
        vec!["devnet", "--orgs", "Org1,Org 2"],
        vec!["--quick", "devnet", "--orgs", "Org1,Org2"],
        vec!["--quick", "devnet", "--orgs", "Org1,Org2,Org3,org1"],
    ] {
        let o = bench(&bad).await;
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "{bad:?}: {}",
            text(&o)
        );
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "{bad:?}: {}",
            text(&o)
        );
    }

    let o = bench(&["fabric", "--help"]).await;
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for want in ["--profile", "--chaincodes", "LABEL=", "_lifecycle", "kv"] {
        assert!(help.contains(want), "{want} not in --help:\n{help}");
    }
}

/// What bench.sh compares against the real channel (Manager, Org1-3): a devnet with the same
/// members, so as many peers validate every block.
#[tokio::test]
async fn devnet_bench_takes_the_real_channels_members() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = bench(&[
        "--quick",
        "--quiet",
        "--out",
        out,
        "devnet",
        "--file",
        "devnet-vs-fabric.json",
        "--orgs",
        "Manager,Org1,Org2,Org3",
        "--policies",
        "2of3",
        "--batch-timeout-ms",
        "30",
        "--max-message-count",
        "77",
    ])
    .await;
    assert!(o.status.success(), "{}", text(&o));
    // --file keeps this run apart from the standard devnet.json.
    assert!(!dir.path().join("devnet.json").exists());
    let v = read(dir.path(), "devnet-vs-fabric.json");
    let n = &v["network"];
    assert_eq!(
        n["orgs"],
        serde_json::json!(["Manager", "Org1", "Org2", "Org3"]),
        "{n}"
    );
    assert_eq!(
        (
            n["batch_timeout_ms"].as_u64(),
            n["max_message_count"].as_u64()
        ),
        (Some(30), Some(77))
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{v}");
    assert_eq!(runs[0]["policy"], "2of3");
    assert!(runs[0]["committed_tx_per_s"].as_f64().unwrap() > 0.0, "{v}");
}
