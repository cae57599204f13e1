//! The JSON API the page calls: one handler per action, each parse → call the SFC contract
//! as the identity in use → answer. A chaincode refusal comes back with the chaincode's own
//! message verbatim (`{"error": …, "chaincodeStatus": 403}`), so the page can show it as is.
//! Request bodies are never logged: the share forms carry secrets (sent on as transient data).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sfcbc_chaincode::types::{Chain, ChainSpec, Endpoint, HopError, Page};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{AppState, assets, blocks, live};

/// A failed API call: an HTTP status and a message for the person at the page.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// The chaincode's status when the chaincode refused (its message is then `message`).
    chaincode_status: Option<i32>,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            chaincode_status: None,
        }
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e.chaincode_response() {
            Some((code, message)) => Self {
                status: u16::try_from(code)
                    .ok()
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .unwrap_or(StatusCode::BAD_GATEWAY),
                message,
                chaincode_status: Some(code),
            },
            None => Self {
                status: StatusCode::BAD_GATEWAY,
                message: e.to_string(),
                chaincode_status: None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(c) = self.chaincode_status {
            body["chaincodeStatus"] = json!(c);
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;
type AppS = State<Arc<AppState>>;

/// Other sites' pages in the same browser must not act with the profile's keys: a change
/// (any method but GET) must be JSON (so a cross-site request needs a CORS preflight, which
/// this server never grants) and, when the browser names its origin, come from this host.
async fn same_origin_changes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::{Method, header};
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let h = req.headers();
        let json = h
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_ok = match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(o) => host.is_some_and(|host| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
                    == Some(host)
            }),
        };
        if !json || !origin_ok {
            return ApiError {
                status: StatusCode::FORBIDDEN,
                message: "changes must be JSON requests from this page's own origin".into(),
                chaincode_status: None,
            }
            .into_response();
        }
    }
    next.run(req).await
}

/// DNS rebinding guard: a page of another site can point its own host name at this server
/// and then read or change everything as if same-origin. Browsers send that name in `Host`,
/// so only IP literals and `localhost` are served; other names get 403.
async fn literal_hosts_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    match host {
        // HTTP/1.0 without Host cannot come from a browser page of another name.
        None => next.run(req).await,
        Some(h) if host_is_literal_or_localhost(h) => next.run(req).await,
        Some(h) => ApiError {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "host {h:?} is not served (DNS rebinding guard): open the UI by IP address or \
                 as localhost"
            ),
            chaincode_status: None,
        }
        .into_response(),
    }
}

/// Whether `host` (a `Host` header: name or IP, then an optional port) is an IP literal or
/// `localhost` / `*.localhost`.
pub(crate) fn host_is_literal_or_localhost(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
}

/// The UI's routes: the page's files and `/api/*`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/{file}", get(assets::asset))
        .route("/api/identity", get(identity).post(switch_identity))
        .route("/api/chains", get(list_chains).post(create_chain))
        .route("/api/chains/{id}", get(chain_detail).put(update_chain))
        .route("/api/chains/{id}/disable", post(disable_chain))
        .route("/api/chains/{id}/records", get(records))
        .route("/api/chains/{id}/errors", get(errors))
        .route("/api/chains/{id}/trace", get(trace))
        .route("/api/chains/{id}/auth", post(share_auth))
        .route("/api/chains/{id}/endpoints", post(share_endpoints))
        .route("/api/blocks", get(list_blocks))
        .route("/api/events", get(live::events))
        .layer(axum::middleware::from_fn(same_origin_changes))
        .layer(axum::middleware::from_fn(literal_hosts_only))
        .with_state(state)
}

fn channel(state: &AppState, chain: Option<&str>) -> Result<String, ApiError> {
    state
        .channel_for(chain)
        .ok_or_else(|| ApiError::bad("the profile lists no channels: add one under `channels`"))
}

/// `GET /api/identity`: who the page acts as, and who it could act as.
async fn identity(State(state): AppS) -> ApiResult {
    let s = state.session().await;
    Ok(Json(json!({
        "current": {
            "label": s.label,
            "user": s.selected.user,
            "org": s.selected.org,
            "mspId": s.selected.msp_id,
        },
        "identities": state.identities(),
        "channels": state.profile.channels,
        "network": state.profile.name,
    })))
}

#[derive(Deserialize)]
struct SwitchBody {
    identity: String,
}

/// `POST /api/identity {"identity": "USER@ORG"}`: every later call is made as that identity.
async fn switch_identity(State(state): AppS, Json(body): Json<SwitchBody>) -> ApiResult {
    state
        .switch(&body.identity)
        .await
        .map_err(|e| ApiError::bad(e.to_string()))?;
    identity(State(state)).await
}

/// `GET /api/chains`: the chains the identity may see, on every channel of the profile.
async fn list_chains(State(state): AppS) -> ApiResult {
    let mut chains = Vec::new();
    let mut failures = Vec::new();
    for ch in &state.profile.channels {
        match state.sfc(ch).await.list_chains().await {
            Ok(list) => {
                for c in list {
                    // A chain lives on the channel `channel_for` names; skip copies elsewhere.
                    if state.channel_for(Some(&c.id)).as_deref() == Some(ch.as_str()) {
                        chains.push(json!({ "channel": ch, "chain": c }));
                    }
                }
            }
            Err(e) => failures.push(json!({ "channel": ch, "error": ApiError::from(e).message })),
        }
    }
    Ok(Json(json!({ "chains": chains, "failures": failures })))
}

fn parse_spec(body: Value) -> Result<ChainSpec, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::bad(format!("bad chain: {e}")))
}

/// `POST /api/chains` (the create form): `CreateChain` as the identity in use.
async fn create_chain(State(state): AppS, Json(body): Json<Value>) -> ApiResult {
    let spec = parse_spec(body)?;
    let ch = channel(&state, Some(&spec.id))?;
    let chain = state.sfc(&ch).await.create_chain(&spec).await?;
    state.forget_visibility(&chain.id);
    Ok(Json(json!({ "channel": ch, "chain": chain })))
}

/// `PUT /api/chains/{id}` (the update form): `UpdateChain`.
async fn update_chain(
    State(state): AppS,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult {
    let spec = parse_spec(body)?;
    if spec.id != id {
        return Err(ApiError::bad(format!(
            "the form's chain id {:?} is not the chain being updated ({id:?})",
            spec.id
        )));
    }
    let ch = channel(&state, Some(&id))?;
    let chain = state.sfc(&ch).await.update_chain(&spec).await?;
    state.forget_visibility(&chain.id);
    Ok(Json(json!({ "channel": ch, "chain": chain })))
}

/// `POST /api/chains/{id}/disable`: `DisableChain`.
async fn disable_chain(State(state): AppS, Path(id): Path<String>) -> ApiResult {
    let ch = channel(&state, Some(&id))?;
    let chain = state.sfc(&ch).await.disable_chain(&id).await?;
    Ok(Json(json!({ "channel": ch, "chain": chain })))
}

/// Pages fetched at most when counting a chain's records for its graph.
const MAX_COUNT_PAGES: usize = 20;
const COUNT_PAGE_SIZE: u32 = 1000;

fn parse_ts(ts: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(ts, &Rfc3339).ok()
}

/// `GET /api/chains/{id}`: the chain and, per hop, processed / forwarded / dropped counts and
/// the errors of the last minute (the graph's colours).
async fn chain_detail(State(state): AppS, Path(id): Path<String>) -> ApiResult {
    let ch = channel(&state, Some(&id))?;
    let sfc = state.sfc(&ch).await;
    let chain: Chain = sfc.get_chain(&id).await?;
    let limit = MAX_COUNT_PAGES * COUNT_PAGE_SIZE as usize;
    let (records, more_records) = sfc.all_records(&id, None, COUNT_PAGE_SIZE, limit).await?;
    let (errors, more_errors) = sfc.all_errors(&id, None, COUNT_PAGE_SIZE, limit).await?;
    let truncated = more_records || more_errors;
    let minute_ago = OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let hops: Vec<Value> = chain
        .hops
        .iter()
        .map(|h| {
            let forwarded = records.iter().filter(|r| r.psiid == h.psiid).count();
            let hop_errors: Vec<&HopError> = errors.iter().filter(|e| e.psiid == h.psiid).collect();
            let recent = hop_errors
                .iter()
                .filter(|e| parse_ts(&e.ts).is_some_and(|t| t >= minute_ago))
                .count();
            json!({
                "psiid": h.psiid,
                "processed": forwarded + hop_errors.len(),
                "forwarded": forwarded,
                "dropped": hop_errors.len(),
                "errorsLastMinute": recent,
            })
        })
        .collect();
    Ok(Json(json!({
        "channel": ch,
        "chain": chain,
        "stats": hops,
        "truncated": truncated,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    #[serde(default)]
    psiid: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    page_size: Option<u32>,
    #[serde(default)]
    bookmark: String,
    /// RFC 3339; items before are left out of the page.
    #[serde(default)]
    since: String,
    /// RFC 3339; items after are left out of the page.
    #[serde(default)]
    until: String,
}

impl PageQuery {
    fn window(&self) -> Result<(Option<OffsetDateTime>, Option<OffsetDateTime>), ApiError> {
        let one = |name: &str, v: &str| -> Result<Option<OffsetDateTime>, ApiError> {
            if v.is_empty() {
                return Ok(None);
            }
            parse_ts(v).map(Some).ok_or_else(|| {
                ApiError::bad(format!(
                    "{name} = {v:?}: write it as RFC 3339, e.g. 2026-11-26T14:00:00Z"
                ))
            })
        };
        Ok((one("since", &self.since)?, one("until", &self.until)?))
    }

    fn in_window(w: &(Option<OffsetDateTime>, Option<OffsetDateTime>), ts: &str) -> bool {
        let Some(t) = parse_ts(ts) else {
            return w.0.is_none() && w.1.is_none();
        };
        w.0.is_none_or(|s| t >= s) && w.1.is_none_or(|u| t <= u)
    }
}

fn page_json<T: serde::Serialize>(page: Page<T>, shown: Vec<T>) -> Value {
    json!({
        "items": shown,
        "fetched": page.fetched_records_count,
        "bookmark": page.bookmark,
    })
}

/// `GET /api/chains/{id}/records?psiid=&pageSize=&bookmark=&since=&until=`: one page.
async fn records(
    State(state): AppS,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let w = q.window()?;
    let ch = channel(&state, Some(&id))?;
    let psiid = (!q.psiid.is_empty()).then_some(q.psiid.as_str());
    let mut page = state
        .sfc(&ch)
        .await
        .get_records(&id, psiid, q.page_size.unwrap_or(20), &q.bookmark)
        .await?;
    let shown = std::mem::take(&mut page.items)
        .into_iter()
        .filter(|r| PageQuery::in_window(&w, &r.ts))
        .collect();
    Ok(Json(page_json(page, shown)))
}

/// `GET /api/chains/{id}/errors?psiid=&kind=&pageSize=&bookmark=&since=&until=`: one page.
async fn errors(
    State(state): AppS,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let w = q.window()?;
    let ch = channel(&state, Some(&id))?;
    let psiid = (!q.psiid.is_empty()).then_some(q.psiid.as_str());
    let mut page = state
        .sfc(&ch)
        .await
        .get_errors(&id, psiid, q.page_size.unwrap_or(20), &q.bookmark)
        .await?;
    let kind = q.kind.to_lowercase();
    let shown = std::mem::take(&mut page.items)
        .into_iter()
        .filter(|e| PageQuery::in_window(&w, &e.ts))
        .filter(|e| kind.is_empty() || format!("{:?}", e.kind).to_lowercase() == kind)
        .collect();
    Ok(Json(page_json(page, shown)))
}

#[derive(Deserialize)]
struct TraceQuery {
    #[serde(default)]
    hash: String,
    #[serde(default)]
    payload: String,
}

/// `GET /api/chains/{id}/trace?hash=…` or `?payload=…` (hashed here with SHA-256).
async fn trace(
    State(state): AppS,
    Path(id): Path<String>,
    Query(q): Query<TraceQuery>,
) -> ApiResult {
    let hash = match (q.hash.trim(), q.payload.as_str()) {
        ("", "") => return Err(ApiError::bad("give a payload or its SHA-256 hash")),
        ("", p) => hex::encode(Sha256::digest(p.as_bytes())),
        (h, _) => h.to_lowercase(),
    };
    let ch = channel(&state, Some(&id))?;
    let t = state.sfc(&ch).await.trace_message(&id, &hash).await?;
    Ok(Json(json!({ "sourceHash": hash, "trace": t })))
}

#[derive(Deserialize)]
struct AuthBody {
    psiid: String,
    account: String,
    secret: String,
}

/// `POST /api/chains/{id}/auth`: `ShareAuth`; account and secret go as transient data.
async fn share_auth(
    State(state): AppS,
    Path(id): Path<String>,
    Json(body): Json<AuthBody>,
) -> ApiResult {
    if body.account.is_empty() || body.secret.is_empty() {
        return Err(ApiError::bad("account and secret are both required"));
    }
    let ch = channel(&state, Some(&id))?;
    let sfc = state.sfc(&ch).await;
    let chain = sfc.get_chain(&id).await?;
    let w = sfc
        .share_auth(&chain, &body.psiid, &body.account, body.secret.as_bytes())
        .await?;
    Ok(Json(json!({ "collection": w.collection, "txId": w.tx_id })))
}

#[derive(Deserialize)]
struct EndpointsBody {
    psiid: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    destination: String,
}

/// `POST /api/chains/{id}/endpoints`: `ShareEndpoints`, as transient data.
async fn share_endpoints(
    State(state): AppS,
    Path(id): Path<String>,
    Json(body): Json<EndpointsBody>,
) -> ApiResult {
    let endpoint = Endpoint {
        source: (!body.source.is_empty()).then_some(body.source),
        destination: (!body.destination.is_empty()).then_some(body.destination),
    };
    if endpoint.source.is_none() && endpoint.destination.is_none() {
        return Err(ApiError::bad("give a source, a destination or both"));
    }
    let ch = channel(&state, Some(&id))?;
    let sfc = state.sfc(&ch).await;
    let chain = sfc.get_chain(&id).await?;
    let w = sfc.share_endpoints(&chain, &body.psiid, &endpoint).await?;
    Ok(Json(json!({ "collection": w.collection, "txId": w.tx_id })))
}

#[derive(Deserialize)]
struct BlocksQuery {
    #[serde(default)]
    channel: String,
    /// Newest block to show (default: the newest).
    before: Option<u64>,
    count: Option<u64>,
}

/// `GET /api/blocks?channel=&before=&count=`: blocks, newest first.
async fn list_blocks(State(state): AppS, Query(q): Query<BlocksQuery>) -> ApiResult {
    let ch = if q.channel.is_empty() {
        channel(&state, None)?
    } else {
        q.channel.clone()
    };
    let network = state.session().await.gateway.network(ch.clone());
    let height = blocks::height(&network).await?;
    if height == 0 {
        return Ok(Json(json!({ "channel": ch, "height": 0, "blocks": [] })));
    }
    let last = q.before.unwrap_or(height - 1).min(height - 1);
    let count = q.count.unwrap_or(10).clamp(1, 50);
    let first = last.saturating_sub(count - 1);
    let mut list = blocks::fetch(&network, first, last).await?;
    list.reverse();
    Ok(Json(
        json!({ "channel": ch, "height": height, "blocks": list }),
    ))
}

#[cfg(test)]
mod host_tests {
    use super::host_is_literal_or_localhost as ok;

    #[test]
    fn ip_literals_and_localhost_only() {
        for h in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "10.1.2.3:80",
            "localhost:8080",
            "LOCALHOST",
            "ui.localhost:1",
            "[::1]:8080",
            "[fe80::1]",
        ] {
            assert!(ok(h), "{h}");
        }
        for h in [
            "attacker.example:18081",
            "attacker.example",
            "127.0.0.1.nip.io:80",
            "localhost.attacker.example",
            "[not-an-ip]:80",
            "",
        ] {
            assert!(!ok(h), "{h}");
        }
    }
}
