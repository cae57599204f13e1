//! A devnet with the SFC chaincode and the web UI, in one process, for the browser tests
//! (tests/ui/run.sh) and for trying the UI by hand:
//!
//! ```text
//! cargo run -p sfcbc-client --example ui_devnet -- [--listen 127.0.0.1:8080] [--dir DIR]
//! ```
//!
//! Prints `UI_URL http://…/` once the UI serves. Then takes commands on standard input, one
//! per line, standing in for the service functions a real deployment runs:
//! - `traffic CHAIN N TAG` — N messages through every hop (each hop's SP records them);
//!   answers `OK traffic HASH…` (the messages' source hashes; payloads are `TAG message i`)
//! - `drop CHAIN PSIID KIND DETAIL…` — one dropped datagram at that hop, recorded by its SP
//! - `quit` (or end of input) — stops the UI and the devnet.
//!
//! With `--profile FILE` it starts neither: it only answers those commands against the
//! network the profile names (e.g. one `sfcbc devnet up` runs, with `sfcbc ui` serving the
//! page), and prints `READY` instead of `UI_URL`.

#[path = "../tests/ui_support.rs"]
mod support;

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt as _, BufReader};

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut dir: Option<PathBuf> = None;
    let mut identity = "User1@Tenant1".to_owned();
    let mut existing: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_default().parse()?,
            "--dir" => dir = args.next().map(PathBuf::from),
            "--identity" => identity = args.next().unwrap_or(identity),
            "--profile" => existing = args.next().map(PathBuf::from),
            other => anyhow::bail!(
                "unknown argument {other:?}: --listen ADDR, --dir DIR, --identity USER@ORG"
            ),
        }
    }
    if let Some(path) = existing {
        let profile = sfcbc_client::profile::Profile::load(&path)?;
        println!("READY");
        commands(profile).await;
        return Ok(());
    }
    let temp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    let devnet = support::start_devnet(&dir).await;
    let profile = devnet.profile.clone();
    let ui = support::start_ui(profile.clone(), &identity, listen).await;
    println!("UI_URL http://{}/", ui.addr);
    commands(profile).await;
    let _ = ui.stop.send(());
    let _ = ui.task.await;
    devnet.stop().await;
    Ok(())
}

/// Answers commands from standard input until `quit` or its end.
async fn commands(profile: sfcbc_client::profile::Profile) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let profile = profile.clone();
        let answer = match words.first().map(String::as_str) {
            Some("quit") => break,
            Some("traffic") if words.len() == 4 => {
                let n: usize = words[2].parse().unwrap_or(1);
                tokio::spawn(
                    async move { support::traffic(&profile, &words[1], n, &words[3]).await },
                )
                .await
                .map(|sources| format!("OK traffic {}", sources.join(" ")))
            }
            Some("drop") if words.len() >= 5 => {
                let kind = serde_json::from_value(serde_json::Value::String(words[3].clone()));
                match kind {
                    Ok(kind) => tokio::spawn(async move {
                        let detail = words[4..].join(" ");
                        support::drop_one(&profile, &words[1], &words[2], kind, &detail).await
                    })
                    .await
                    .map(|()| "OK drop".to_owned()),
                    Err(e) => Ok(format!("ERR bad kind: {e}")),
                }
            }
            _ => Ok(format!(
                "ERR unknown command {line:?}: traffic CHAIN N TAG | drop CHAIN PSIID KIND DETAIL | quit"
            )),
        };
        match answer {
            Ok(a) => println!("{a}"),
            Err(e) => println!("ERR {e}"),
        }
    }
}
