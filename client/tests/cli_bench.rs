//! `sfcbc bench fabric`: sfcbc's global options given before `bench` reach sfcbc-bench —
//! `--json` as an argument, `--profile`/`--identity`/`--gateway`/`--channel` as the
//! environment `sfcbc-bench fabric` reads — and nothing is forwarded that was not given.
//! (`$SFCBC_BENCH` points at a script that prints what it received.)

#![cfg(unix)]

use std::path::Path;
use std::process::Command;

fn fake_bench(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("fake-bench");
    std::fs::write(
        &path,
        "#!/bin/sh\necho \"ARGS:$*\"\necho \"PROFILE:${SFCBC_PROFILE-unset} IDENTITY:${SFCBC_IDENTITY-unset} GATEWAY:${SFCBC_GATEWAY-unset} CHANNEL:${SFCBC_CHANNEL-unset}\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn run(dir: &Path, args: &[&str]) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_sfcbc"))
        .args(args)
        .env("SFCBC_HOME", dir)
        .env("SFCBC_BENCH", fake_bench(dir))
        .env_remove("SFCBC_PROFILE")
        .env_remove("SFCBC_IDENTITY")
        .env_remove("SFCBC_GATEWAY")
        .env_remove("SFCBC_CHANNEL")
        .output()
        .expect("sfcbc runs");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn global_options_reach_sfcbc_bench() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(
        d,
        &[
            "--profile",
            "/x/net.yaml",
            "-i",
            "User1@Org2",
            "--gateway",
            "Org3",
            "-C",
            "bench",
            "--json",
            "bench",
            "fabric",
            "--chaincodes",
            "one=kv_one",
        ],
    );
    assert_eq!(
        out,
        [
            "ARGS:--json fabric --chaincodes one=kv_one",
            "PROFILE:/x/net.yaml IDENTITY:User1@Org2 GATEWAY:Org3 CHANNEL:bench"
        ]
    );

    // Options after `bench` are sfcbc-bench's own, passed as given; nothing else is set.
    let out = run(d, &["bench", "fabric", "--profile", "p.yaml", "--json"]);
    assert_eq!(
        out,
        [
            "ARGS:fabric --profile p.yaml --json",
            "PROFILE:unset IDENTITY:unset GATEWAY:unset CHANNEL:unset"
        ]
    );
}
