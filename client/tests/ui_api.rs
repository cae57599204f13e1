//! The web UI's JSON API over real HTTP on loopback, against a devnet in this process with the
//! SFC chaincode: the page's files, the create-chain form endpoint (client-side checks aside,
//! a bad spec and a chaincode refusal come back verbatim), the chain list and detail with
//! per-hop counts, paged records and errors, a trace, live events over SSE, the block browser
//! (private writes only as hashes), credentials shared without being echoed anywhere, and
//! the identity switch: a stranger sees no chain.

#[path = "ui_support.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use sfcbc_chaincode::types::ErrorKind;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// One HTTP/1.1 exchange (`Connection: close`): status, headers (lowercase names), body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_with(addr, method, path, body, &[]).await
}

/// Sends one raw HTTP/1.1 request (`Connection: close`) and reads the whole answer.
async fn exchange(addr: SocketAddr, req: String) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect to the UI");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw))
        .await
        .expect("answer within 60 s")
        .expect("read");
    raw
}

/// The status of a request sent with `Host: host` (and an Origin naming it).
async fn status_with_host(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&str>,
) -> u16 {
    let body = body.unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nConnection: \
         close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let raw = exchange(addr, req).await;
    String::from_utf8_lossy(&raw)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line")
}

/// [`http`] with extra header lines.
async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[&str],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if body.is_some() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    let raw = exchange(addr, req).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

async fn api(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, _, raw) = http(addr, method, path, body.as_ref()).await;
    let v = serde_json::from_slice(&raw).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&raw)
        )
    });
    (status, v)
}

async fn ok(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, v) = api(addr, method, path, body).await;
    assert_eq!(status, 200, "{method} {path}: {v}");
    v
}

/// Reads SSE frames from `/api/events` into a channel of (event, data).
async fn sse(addr: SocketAddr) -> tokio::sync::mpsc::UnboundedReceiver<(String, Value)> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await
    .expect("send");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(s).lines();
        let mut event = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_owned();
            } else if let Some(d) = line.strip_prefix("data: ")
                && let Ok(v) = serde_json::from_str(d)
            {
                let _ = tx.send((event.clone(), v));
            }
        }
    });
    rx
}

fn web1() -> Value {
    json!({
        "id": "web1",
        "hops": [
            {"psiid": "Org1:NameWriter:1", "spMsp": "Org1MSP", "address": "127.0.0.2:9001", "validation": "address"},
            {"psiid": "Org2:NameWriter:1", "spMsp": "Org2MSP", "address": "127.0.0.3:9001", "validation": "hash"}
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ui_api_over_http_on_devnet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let devnet = support::start_devnet(dir.path()).await;
    let profile = devnet.profile.clone();
    let ui = support::start_ui(
        profile.clone(),
        "User1@Tenant1",
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let a = ui.addr;

    // The page and its files, with a CSP that allows our own origin only.
    let (status, headers, body) = http(a, "GET", "/", None).await;
    assert_eq!(status, 200);
    let html = String::from_utf8_lossy(&body);
    assert!(
        html.contains("<script type=\"module\" src=\"/app.js\">"),
        "{html}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external loads"
    );
    let csp = headers
        .iter()
        .find(|(k, _)| k == "content-security-policy")
        .map(|(_, v)| v.clone())
        .expect("CSP header");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    for f in ["app.js", "api.js", "graph.js", "forms.js", "style.css"] {
        let (status, _, body) = http(a, "GET", &format!("/{f}"), None).await;
        assert_eq!(status, 200, "{f}");
        assert!(!body.is_empty(), "{f}");
    }
    assert_eq!(http(a, "GET", "/nope.js", None).await.0, 404);

    // Who the page acts as.
    let id = ok(a, "GET", "/api/identity", None).await;
    assert_eq!(id["current"]["label"], "User1@Tenant1");
    assert_eq!(id["current"]["mspId"], "Tenant1MSP");
    let ids: Vec<&str> = id["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in ["Admin@Manager", "User1@Org3", "User1@Tenant1"] {
        assert!(ids.contains(&want), "{ids:?}");
    }

    let mut live = sse(a).await;

    // The create form: a malformed spec is refused before the ledger; then created.
    let (status, v) = api(
        a,
        "POST",
        "/api/chains",
        Some(json!({"id": "web1", "hops": [{"psiid": "x", "sp": "Org1MSP"}]})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("bad chain"), "{v}");
    let created = ok(a, "POST", "/api/chains", Some(web1())).await;
    assert_eq!(created["chain"]["version"], 1);
    assert_eq!(created["chain"]["owner"]["msp"], "Tenant1MSP");
    assert_eq!(created["channel"], support::CHANNEL);
    // The chaincode's own refusal, verbatim with its status.
    let (status, v) = api(a, "POST", "/api/chains", Some(web1())).await;
    assert!(status >= 400, "{v}");
    assert!(v["chaincodeStatus"].as_i64().is_some(), "{v}");
    assert!(v["error"].as_str().unwrap().contains("web1"), "{v}");
    // A bad address the chaincode refuses (400), message naming the field.
    let mut bad = web1();
    bad["id"] = json!("web-bad");
    bad["hops"][0]["address"] = json!("nowhere");
    let (status, v) = api(a, "POST", "/api/chains", Some(bad)).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["chaincodeStatus"], 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("address"), "{v}");

    let list = ok(a, "GET", "/api/chains", None).await;
    let ids: Vec<&str> = list["chains"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["chain"]["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["web1"], "{list}");

    // Traffic through both hops, then one dropped datagram at hop 2.
    let sources = support::traffic(&profile, "web1", 3, "api").await;
    support::drop_one(
        &profile,
        "web1",
        "Org2:NameWriter:1",
        ErrorKind::Auth,
        "wrong credentials for user1",
    )
    .await;

    let d = ok(a, "GET", "/api/chains/web1", None).await;
    assert_eq!(d["chain"]["hops"].as_array().unwrap().len(), 2);
    let s = &d["stats"];
    assert_eq!(s[0]["psiid"], "Org1:NameWriter:1");
    assert_eq!(
        (
            s[0]["processed"].as_u64(),
            s[0]["forwarded"].as_u64(),
            s[0]["dropped"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(
        (
            s[1]["processed"].as_u64(),
            s[1]["forwarded"].as_u64(),
            s[1]["dropped"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(s[0]["errorsLastMinute"], 0);
    assert_eq!(s[1]["errorsLastMinute"], 1);

    // Live: the records and the error arrived as SSE events for this identity.
    let mut kinds = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(kinds.contains(&"record".to_string()) && kinds.contains(&"drop".to_string())) {
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Some((event, data))) => {
                if event != "block" {
                    assert_eq!(data["chain"], "web1", "{data}");
                }
                kinds.push(event);
            }
            _ => panic!("no record + drop events within 20 s; got {kinds:?}"),
        }
    }

    // Records by bookmark, filtered by hop.
    let p1 = ok(a, "GET", "/api/chains/web1/records?pageSize=2", None).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2, "{p1}");
    let bm = p1["bookmark"].as_str().unwrap().to_owned();
    assert!(!bm.is_empty());
    let p2 = ok(
        a,
        "GET",
        &format!(
            "/api/chains/web1/records?pageSize=10&bookmark={}",
            urlenc(&bm)
        ),
        None,
    )
    .await;
    assert_eq!(p2["items"].as_array().unwrap().len(), 4, "{p2}");
    let hop2 = ok(
        a,
        "GET",
        "/api/chains/web1/records?psiid=Org2:NameWriter:1&pageSize=10",
        None,
    )
    .await;
    assert!(
        hop2["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["psiid"] == "Org2:NameWriter:1")
    );
    let future = ok(
        a,
        "GET",
        "/api/chains/web1/records?since=2999-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(future["items"].as_array().unwrap().len(), 0);
    let (status, v) = api(a, "GET", "/api/chains/web1/records?since=yesterday", None).await;
    assert_eq!(status, 400, "{v}");

    // Errors, filtered by kind.
    let e = ok(a, "GET", "/api/chains/web1/errors?kind=auth", None).await;
    assert_eq!(e["items"].as_array().unwrap().len(), 1, "{e}");
    assert_eq!(e["items"][0]["detail"], "wrong credentials for user1");
    let e = ok(a, "GET", "/api/chains/web1/errors?kind=replay", None).await;
    assert_eq!(e["items"].as_array().unwrap().len(), 0, "{e}");

    // Trace by hash and by payload.
    let t = ok(
        a,
        "GET",
        &format!("/api/chains/web1/trace?hash={}", sources[0]),
        None,
    )
    .await;
    assert_eq!(t["trace"]["complete"], true, "{t}");
    assert_eq!(t["trace"]["hops"].as_array().unwrap().len(), 2);
    let t = ok(
        a,
        "GET",
        &format!("/api/chains/web1/trace?payload={}", urlenc("api message 1")),
        None,
    )
    .await;
    assert_eq!(t["sourceHash"], sources[1], "{t}");
    assert_eq!(t["trace"]["complete"], true, "{t}");

    // Share credentials: transient; the answer and the blocks hold only the collection/hashes.
    let secret = "s3cret-never-shown";
    let w = ok(
        a,
        "POST",
        "/api/chains/web1/auth",
        Some(json!({"psiid": "Org1:NameWriter:1", "account": "user1", "secret": secret})),
    )
    .await;
    assert_eq!(w["collection"], "_implicit_org_Org1MSP", "{w}");
    assert!(!w.to_string().contains(secret));
    let w = ok(
        a,
        "POST",
        "/api/chains/web1/endpoints",
        Some(json!({"psiid": "Org2:NameWriter:1", "destination": "127.0.0.1:7100"})),
    )
    .await;
    assert_eq!(w["collection"], "_implicit_org_Org2MSP", "{w}");

    // Blocks, newest first: our transactions with function, creator and validation code;
    // the ShareAuth write only as hashes.
    let b = ok(a, "GET", "/api/blocks?count=50", None).await;
    let raw = b.to_string();
    assert!(
        !raw.contains(secret),
        "the secret must not appear in blocks"
    );
    let txs: Vec<&Value> = b["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|bl| bl["txs"].as_array().unwrap())
        .collect();
    let create = txs
        .iter()
        .find(|t| t["function"] == "CreateChain")
        .expect("CreateChain tx");
    assert_eq!(create["creatorMsp"], "Tenant1MSP");
    assert_eq!(create["validation"], "VALID");
    let share = txs
        .iter()
        .find(|t| t["function"] == "ShareAuth")
        .expect("ShareAuth tx");
    let pw = share["privateWrites"].as_array().unwrap();
    assert!(!pw.is_empty(), "{share}");
    assert!(
        pw.iter()
            .all(|p| p["keyHash"].as_str().unwrap().len() == 64)
    );
    let numbers: Vec<u64> = b["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["number"].as_u64().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] > w[1]),
        "newest first: {numbers:?}"
    );

    // Switch to a stranger: no chain, and the chain page is refused by the chaincode.
    let (status, v) = api(
        a,
        "POST",
        "/api/identity",
        Some(json!({"identity": "Nobody@Org3"})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    let v = ok(
        a,
        "POST",
        "/api/identity",
        Some(json!({"identity": "User1@Org3"})),
    )
    .await;
    assert_eq!(v["current"]["label"], "User1@Org3");
    let list = ok(a, "GET", "/api/chains", None).await;
    assert_eq!(list["chains"].as_array().unwrap().len(), 0, "{list}");
    let (status, v) = api(a, "GET", "/api/chains/web1", None).await;
    assert!(status == 403 || status == 404, "{status} {v}");
    assert!(v["chaincodeStatus"].as_i64().is_some(), "{v}");
    // The manager sees every chain; the hop SP sees its chain.
    ok(
        a,
        "POST",
        "/api/identity",
        Some(json!({"identity": "Admin@Manager"})),
    )
    .await;
    assert_eq!(
        ok(a, "GET", "/api/chains", None).await["chains"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    ok(
        a,
        "POST",
        "/api/identity",
        Some(json!({"identity": "User1@Org2"})),
    )
    .await;
    assert_eq!(
        ok(a, "GET", "/api/chains", None).await["chains"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Only the owner may disable: the SP's attempt is refused verbatim, the owner's works.
    let (status, v) = api(a, "POST", "/api/chains/web1/disable", Some(json!({}))).await;
    assert_eq!(status, 403, "{v}");
    ok(
        a,
        "POST",
        "/api/identity",
        Some(json!({"identity": "User1@Tenant1"})),
    )
    .await;
    // Another site's page cannot make changes: a body-less (no preflight) POST is refused,
    // and so is a JSON one naming a foreign origin.
    let (status, _) = api(a, "POST", "/api/chains/web1/disable", None).await;
    assert_eq!(status, 403);
    let (status, _, _) = http_with(
        a,
        "POST",
        "/api/chains/web1/disable",
        Some(&json!({})),
        &["Origin: http://evil.example"],
    )
    .await;
    assert_eq!(status, 403);
    // DNS rebinding: a page of another name resolved to this server reads and changes
    // nothing, with or without a matching Origin.
    for (method, path, body) in [
        ("GET", "/api/chains", None),
        (
            "POST",
            "/api/identity",
            Some(r#"{"identity":"Admin@Manager"}"#),
        ),
    ] {
        let status = status_with_host(a, method, path, "attacker.example:18081", body).await;
        assert_eq!(status, 403, "{method} {path}");
    }
    let v = ok(a, "GET", "/api/identity", None).await;
    assert_eq!(v["current"]["label"], "User1@Tenant1", "{v}");
    // Update (owner): version 2 with the new hop list.
    let mut spec = web1();
    spec["hops"][1]["address"] = json!("127.0.0.3:9002");
    let v = ok(a, "PUT", "/api/chains/web1", Some(spec.clone())).await;
    assert_eq!(v["chain"]["version"], 2, "{v}");
    assert_eq!(v["chain"]["hops"][1]["address"], "127.0.0.3:9002");
    let (status, v) = api(a, "PUT", "/api/chains/other", Some(spec)).await;
    assert_eq!(status, 400, "{v}");
    let v = ok(a, "POST", "/api/chains/web1/disable", Some(json!({}))).await;
    assert_eq!(v["chain"]["state"], "disabled");

    let _ = ui.stop.send(());
    tokio::time::timeout(Duration::from_secs(10), ui.task)
        .await
        .expect("UI stops (open SSE streams end)")
        .expect("join")
        .expect("served");
    devnet.stop().await;
}

fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
