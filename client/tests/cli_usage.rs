//! The `sfcbc` binary as a user meets it: `--help` with examples, usage errors (exit 2),
//! failures that say what to do (exit 1) — bad or missing profiles, bad identities.

use std::process::{Command, Output};

fn sfcbc(args: &[&str], home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(args)
        .env("SFCBC_HOME", home)
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .expect("run sfcbc")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_lists_every_command_with_examples() {
    let home = tempfile::tempdir().unwrap();
    let o = sfcbc(&["--help"], home.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    for cmd in [
        "devnet",
        "chain",
        "auth",
        "account",
        "endpoints",
        "sf",
        "classifier",
        "send",
        "sink",
        "records",
        "errors",
        "trace",
        "blocks",
        "audit",
        "collections",
        "demo",
    ] {
        assert!(
            t.contains(&format!("\n  {cmd} ")),
            "{cmd} missing from --help:\n{t}"
        );
    }
    assert!(t.contains("Examples:") && t.contains("Exit codes"), "{t}");
    for sub in [
        &["chain", "create", "--help"][..],
        &["devnet", "up", "--help"],
        &["demo", "--help"],
        &["auth", "share", "--help"],
        &["blocks", "--help"],
    ] {
        let o = sfcbc(sub, home.path());
        assert_eq!(o.status.code(), Some(0), "{sub:?}: {}", text(&o));
        assert!(text(&o).contains("Example"), "{sub:?} has no example");
    }
    let o = sfcbc(&["--version"], home.path());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["no-such-command"],
        &["chain"],
        &["chain", "create"],
        &["chain", "create", "c1"],
        &[
            "chain", "create", "c1", "--hop", "x=h:1", "--file", "f.json",
        ],
        &["auth", "share", "c1"],
        &["trace", "c1"],
        &["send", "--bind", "not-an-address", "--to", "x"],
        &["devnet", "up", "--tls", "maybe"],
        &["collections", "gen"],
        &["--json", "records"],
        &["blocks", "--from", "5", "--to", "2"],
        &[
            "collections",
            "gen",
            "--chain-id",
            "c1",
            "--sp",
            "Org1MSP",
            "--required-peer-count",
            "5",
            "--max-peer-count",
            "1",
        ],
    ] {
        let o = sfcbc(args, home.path());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}

#[test]
fn missing_profile_says_how_to_get_one() {
    let home = tempfile::tempdir().unwrap();
    let o = sfcbc(&["chain", "list"], home.path());
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("sfcbc devnet up") && t.contains("--profile"),
        "{t}"
    );
    assert!(
        t.contains(
            &home
                .path()
                .join("devnet")
                .join("profile.yaml")
                .display()
                .to_string()
        ),
        "{t}"
    );
}

#[test]
fn bad_profiles_and_identities_are_explained() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("orgs: {}\n", &["chain", "list"], "name"),
        ("name: x\norgs: {}\n", &["chain", "list"], "orgs"),
        ("{ not json", &["chain", "list"], "bad profile"),
        (
            "name: x\norgs:\n  Org1: { msp_id: Org1MSP, peer: { endpoint: \"nohost\" } }\n",
            &["chain", "list"],
            "HOST:PORT",
        ),
        (
            "name: x\norgs:\n  Org1: { msp_id: Org1MSP, users: { User1: u1 } }\n",
            &["chain", "list"],
            "--identity",
        ),
        (
            "name: x\norgs:\n  Org1: { msp_id: Org1MSP, users: { User1: u1 } }\n",
            &["-i", "User1", "chain", "list"],
            "USER@ORG",
        ),
        (
            "name: x\norgs:\n  Org1: { msp_id: Org1MSP, users: { User1: u1 } }\n",
            &["-i", "User1@Org9", "chain", "list"],
            "it has: Org1",
        ),
        (
            "name: x\norgs:\n  Org1: { msp_id: Org1MSP, users: { User1: u1 } }\n",
            &["-i", "User1@Org1", "chain", "list"],
            "has no peer",
        ),
        (
            "name: x\nchannels: [c]\norgs:\n  Org1: { msp_id: Org1MSP, peer: { endpoint: \"127.0.0.1:1\" }, users: { User1: nowhere } }\n",
            &["-i", "User1@Org1", "chain", "list"],
            "cannot load identity User1@Org1",
        ),
    ];
    for (i, (profile, args, want)) in cases.iter().enumerate() {
        let path = home.path().join(format!("p{i}.yaml"));
        std::fs::write(&path, profile).unwrap();
        let mut full = vec!["--profile", path.to_str().unwrap()];
        full.extend_from_slice(args);
        let o = sfcbc(&full, home.path());
        assert_eq!(o.status.code(), Some(1), "{profile}: {}", text(&o));
        assert!(
            text(&o).contains(want),
            "{profile} {args:?}: want {want:?} in:\n{}",
            text(&o)
        );
    }
}

#[test]
fn collections_gen_writes_fabric_samples_json() {
    let home = tempfile::tempdir().unwrap();
    let o = sfcbc(
        &["collections", "gen", "--sp", "Org1MSP", "--sp", "Org2MSP"],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["name"], "sfc_Org1MSP");
    assert_eq!(a[0]["policy"], "OR('Org1MSP.member')");
    assert_eq!(a[0]["memberOnlyRead"], true);
    let o = sfcbc(&["collections", "gen", "--sp", "bad msp"], home.path());
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_data_plane_configs_are_explained() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("missing.toml");
    let o = sfcbc(
        &["sf", "run", "--config", missing.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot read"), "{}", text(&o));
    let bad = home.path().join("bad.toml");
    std::fs::write(&bad, "hops = []\n").unwrap();
    let o = sfcbc(
        &["sf", "run", "--config", bad.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("hops"), "{}", text(&o));
    std::fs::write(&bad, "listen = [\"127.0.0.1:1\"]\nrules = []\ntypo = 1\n").unwrap();
    let o = sfcbc(
        &["classifier", "run", "--config", bad.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("typo"), "{}", text(&o));
    // An SF without [gateway] takes it from the profile: no profile, clear message.
    std::fs::write(&bad, "[[hops]]\nchain = \"c\"\npsiid = \"Org1:X:1\"\n").unwrap();
    let o = sfcbc(
        &["sf", "run", "--config", bad.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("sfcbc devnet up"), "{}", text(&o));
    let o = sfcbc(
        &[
            "send",
            "--bind",
            "127.0.0.1:0",
            "--to",
            "127.0.0.1:9",
            "--size",
            "70000",
        ],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("UDP maximum"), "{}", text(&o));
}

#[test]
fn devnet_down_leaves_a_process_alone_that_reused_the_devnets_pid() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dn");
    std::fs::create_dir_all(&dir).unwrap();
    // A process that is not a devnet, with its pid in the devnet's pid file.
    let mut other = Command::new("sleep").arg("30").spawn().expect("sleep");
    std::fs::write(dir.join("devnet.pid"), other.id().to_string()).unwrap();
    let o = sfcbc(
        &["devnet", "down", "--dir", dir.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not a `sfcbc devnet up`"), "{}", text(&o));
    assert!(
        other.try_wait().unwrap().is_none(),
        "the other process was signalled"
    );
    assert!(!dir.join("devnet.pid").exists(), "stale pid file kept");
    other.kill().unwrap();
    let _ = other.wait();
}

#[test]
fn an_empty_environment_variable_counts_as_unset() {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(["chain", "list"])
        .env("SFCBC_HOME", home.path())
        .env("SFCBC_PROFILE", "")
        .env("SFCBC_IDENTITY", "")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .expect("run sfcbc");
    // No devnet there: the usual "no profile" failure (1), not a usage error (2).
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("devnet up"), "{}", text(&o));
}

#[test]
fn demo_checks_its_arguments_before_starting_a_devnet() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["demo", "--chain", "BAD CHAIN"][..], "--chain"),
        (&["demo", "--chain", "Chain1"], "channel names"),
        (&["demo", "--owner", "nobody"], "USER@ORG"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
            .args(args)
            .env("SFCBC_HOME", home.path())
            .env("TMPDIR", tmp.path())
            .env_remove("SFCBC_PROFILE")
            .output()
            .expect("run sfcbc");
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{args:?}: {}", text(&o));
    }
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn devnet_up_checks_policy_and_orgs_before_making_anything() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dn");
    for (extra, says) in [
        (&["--policy", "garbage("][..], "--policy"),
        (&["--orgs", "Manager,Org1,org1"], "twice"),
    ] {
        let mut args = vec!["devnet", "up", "--dir", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = sfcbc(&args, home.path());
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", text(&o));
        assert!(text(&o).contains(says), "{extra:?}: {}", text(&o));
        assert!(!dir.exists(), "{extra:?} made {}", dir.display());
    }
}
