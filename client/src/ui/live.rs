//! Live updates: one feeder per channel subscribes, as the identity in use, to the SFC
//! chaincode's events and to the channel's blocks, and broadcasts each as a [`LiveEvent`];
//! `GET /api/events` streams them to the page as server-sent events. An event about a chain
//! reaches the page only when the identity in use may see that chain, so a stranger learns
//! nothing from the stream either.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::AppState;
use crate::EventsOptions;
use crate::sfc::SfcEvent;

/// What the page is told about.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveEvent {
    /// `chain`, `record`, `drop` (a hop's error record) or `block`; also the SSE event name
    /// (not `error`: EventSource reserves that name for its own connection errors).
    pub kind: &'static str,
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psiid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    /// Records in a `record` event, transactions in a `block` event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    /// The error kind of a `drop` event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub tx_id: String,
}

/// Starts the feeders; they resubscribe whenever the identity changes. Abort the handle to
/// stop them.
pub fn spawn_feeders(state: Arc<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut changed = state.identity_changed.subscribe();
        loop {
            let tasks: Vec<JoinHandle<()>> = state
                .profile
                .channels
                .iter()
                .flat_map(|ch| {
                    [
                        tokio::spawn(chaincode_feed(state.clone(), ch.clone())),
                        tokio::spawn(block_feed(state.clone(), ch.clone())),
                    ]
                })
                .collect();
            let ended = changed.changed().await.is_err();
            for t in tasks {
                t.abort();
            }
            if ended {
                return;
            }
        }
    })
}

/// Retries a feed after it ends (a peer restart, a network blip), with a pause.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(2);

async fn chaincode_feed(state: Arc<AppState>, channel: String) {
    loop {
        let sfc = state.sfc(&channel).await;
        match sfc.events(EventsOptions::new()).await {
            Ok(mut events) => {
                while let Some(ev) = events.next().await {
                    let Ok(ev) = ev else { break };
                    let Ok(parsed) = SfcEvent::parse(&ev) else {
                        continue;
                    };
                    let base = LiveEvent {
                        kind: "chain",
                        channel: channel.clone(),
                        chain: None,
                        psiid: None,
                        block: Some(ev.block_number),
                        count: None,
                        detail: None,
                        tx_id: ev.tx_id.clone(),
                    };
                    let live = match parsed {
                        SfcEvent::ChainCreated(p) | SfcEvent::ChainUpdated(p) => {
                            state.forget_visibility(&p.chain);
                            LiveEvent {
                                chain: Some(p.chain),
                                detail: Some(format!("{:?}", p.state).to_lowercase()),
                                ..base
                            }
                        }
                        SfcEvent::HopRecorded(r) => LiveEvent {
                            kind: "record",
                            chain: Some(r.chain),
                            psiid: Some(r.psiid),
                            count: Some(r.records.max(r.outputs.len())),
                            ..base
                        },
                        SfcEvent::HopRejected(r) => LiveEvent {
                            kind: "drop",
                            chain: Some(r.chain),
                            psiid: Some(r.psiid),
                            detail: Some(format!("{:?}", r.kind).to_lowercase()),
                            ..base
                        },
                        SfcEvent::Other(_) => continue,
                    };
                    let _ = state.events.send(live);
                }
            }
            Err(e) => tracing::warn!(%channel, "chaincode events: {e}"),
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

async fn block_feed(state: Arc<AppState>, channel: String) {
    loop {
        let network = state.session().await.gateway.network(channel.clone());
        match network.block_events(EventsOptions::new()).await {
            Ok(mut blocks) => {
                while let Some(b) = blocks.next().await {
                    let Ok(b) = b else { break };
                    let _ = state.events.send(LiveEvent {
                        kind: "block",
                        channel: channel.clone(),
                        chain: None,
                        psiid: None,
                        block: b.header.as_ref().map(|h| h.number),
                        count: b.data.as_ref().map(|d| d.data.len()),
                        detail: None,
                        tx_id: String::new(),
                    });
                }
            }
            Err(e) => tracing::warn!(%channel, "block events: {e}"),
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

/// May the identity in use see the event's chain? Asked of the ledger once per chain and
/// identity (as that identity), then remembered until the chain changes.
async fn visible(state: &AppState, ev: &LiveEvent) -> bool {
    let Some(chain) = &ev.chain else {
        return true;
    };
    let session = state.session().await;
    if let Some(v) = state.visible_cached(&session.label, chain) {
        return v;
    }
    let sfc = state.sfc(&ev.channel).await;
    let v = sfc.get_chain(chain).await.is_ok();
    state.set_visible(&session.label, chain, v);
    v
}

/// `GET /api/events`: the live events the identity in use may see, as SSE.
pub async fn events(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let stopping = state.stopping.clone();
    let stream = futures::stream::unfold(
        (state, rx, stopping),
        |(state, mut rx, mut stopping)| async move {
            loop {
                if *stopping.borrow() {
                    return None;
                }
                let ev = tokio::select! {
                    ev = rx.recv() => ev,
                    _ = stopping.changed() => return None,
                };
                match ev {
                    Ok(ev) => {
                        if !visible(&state, &ev).await {
                            continue;
                        }
                        let data = serde_json::to_string(&ev).unwrap_or_else(|_| "{}".into());
                        let event = Event::default().event(ev.kind).data(data);
                        return Some((Ok(event), (state, rx, stopping)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let event = Event::default().event("lagged").data("{}");
                        return Some((Ok(event), (state, rx, stopping)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
