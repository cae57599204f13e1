//! The ledger as the data plane sees it: the five calls an SF (or the classifier) makes,
//! behind the [`SfLedger`] trait so that the same runtime runs over a Fabric gateway
//! ([`FabricLedger`]) or the contract embedded in-process (`crate::local_ledger`).
//!
//! Failures are sorted by what the caller should do about them ([`LedgerError`]): retry later
//! (the peer is down), re-endorse (the transaction lost an MVCC race), or give up on this
//! request (the chaincode refused it, with its status and message).

use std::collections::BTreeMap;
use std::pin::Pin;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use sfcbc_chaincode::types::{
    Chain, HopError, HopErrorInput, HopRecordInput, HopRecordedEvent, Verdict,
};

use crate::error::Error;
use crate::events::EventsOptions;
use crate::network::Network;
use crate::sfc::{SfcContract, SfcEvent};

/// Events of the SFC chaincode, decoded, in commit order.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<SfcEvent, LedgerError>> + Send>>;

/// What went wrong with a ledger call, sorted by what to do next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// The peer (or orderer) could not be reached or timed out: retry with back-off. With
    /// a `tx_id`, the transaction may still have committed (the answer was lost).
    #[error("ledger unavailable: {message}")]
    Unavailable {
        message: String,
        tx_id: Option<String>,
    },
    /// The chaincode refused the proposal (status 400 bad input, 403, 404, 409 conflict).
    #[error("chaincode refused ({status}): {message}")]
    Rejected { status: i32, message: String },
    /// The transaction was ordered but invalidated at commit (e.g. `MVCC_READ_CONFLICT`):
    /// re-endorse it.
    #[error("transaction {tx_id} invalid at commit: {code}")]
    Invalid { tx_id: String, code: String },
    /// The event stream fell behind and lost events: refresh what depends on them.
    #[error("event stream lost {0} events")]
    Lagged(u64),
    /// Anything else (an answer that does not parse, a bad local setting).
    #[error("{0}")]
    Other(String),
}

impl LedgerError {
    /// Worth retrying the same call later.
    /// The transaction the failed call was about, when known.
    pub fn tx_id(&self) -> Option<&str> {
        match self {
            LedgerError::Unavailable { tx_id, .. } => tx_id.as_deref(),
            LedgerError::Invalid { tx_id, .. } => Some(tx_id),
            _ => None,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LedgerError::Unavailable { .. } | LedgerError::Invalid { .. }
        )
    }
}

impl From<Error> for LedgerError {
    fn from(e: Error) -> Self {
        if let Some((status, message)) = e.chaincode_response() {
            return LedgerError::Rejected { status, message };
        }
        match &e {
            Error::Commit { tx_id, code, .. } => LedgerError::Invalid {
                tx_id: tx_id.clone(),
                code: crate::error::validation_code_name(*code),
            },
            Error::Gateway(_) | Error::Connect { .. } | Error::DeliverStatus { .. } => {
                LedgerError::Unavailable {
                    message: e.to_string(),
                    tx_id: e.tx_id().map(str::to_string),
                }
            }
            _ => LedgerError::Other(e.to_string()),
        }
    }
}

/// The ledger calls of the data plane (DESIGN §4, §5).
#[async_trait]
pub trait SfLedger: Send + Sync + 'static {
    /// `GetChain` (evaluate).
    async fn get_chain(&self, chain: &str) -> Result<Chain, LedgerError>;
    /// `CheckIn` (evaluate on our own org's peer): the full verdict for one datagram.
    async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict, LedgerError>;
    /// `RecordHops` (submit): returns once the transaction committed valid.
    async fn record_hops(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<HopRecordedEvent, LedgerError>;
    /// `RecordError` (submit): returns once committed.
    async fn record_error(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
    ) -> Result<HopError, LedgerError>;
    /// The chaincode's events from the next commit on, for the channels of `chains`.
    async fn events(&self, chains: &[String]) -> Result<EventStream, LedgerError>;
}

/// [`SfLedger`] over Fabric Gateway connections: one [`SfcContract`] per chain (a chain
/// lives on its own channel, DESIGN §7; several chains may share one).
#[derive(Clone, Debug)]
pub struct FabricLedger {
    /// chain id → its contract; chains not listed use `default`.
    contracts: BTreeMap<String, SfcContract>,
    default: Option<SfcContract>,
}

impl FabricLedger {
    /// Every chain through `contract`.
    pub fn new(contract: SfcContract) -> Self {
        Self {
            contracts: BTreeMap::new(),
            default: Some(contract),
        }
    }

    /// Chain `chain` through `contract` (e.g. on channel `sfc-{chain}`).
    pub fn with_chain(mut self, chain: impl Into<String>, contract: SfcContract) -> Self {
        self.contracts.insert(chain.into(), contract);
        self
    }

    fn contract(&self, chain: &str) -> Result<&SfcContract, LedgerError> {
        self.contracts
            .get(chain)
            .or(self.default.as_ref())
            .ok_or_else(|| {
                LedgerError::Other(format!("no gateway contract configured for chain {chain}"))
            })
    }
}

#[async_trait]
impl SfLedger for FabricLedger {
    async fn get_chain(&self, chain: &str) -> Result<Chain, LedgerError> {
        Ok(self.contract(chain)?.get_chain(chain).await?)
    }

    async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict, LedgerError> {
        Ok(self
            .contract(chain)?
            .check_in(chain, psiid, input_hash, src)
            .await?)
    }

    async fn record_hops(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<HopRecordedEvent, LedgerError> {
        Ok(self
            .contract(chain)?
            .record_hops(chain, psiid, records)
            .await?)
    }

    async fn record_error(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
    ) -> Result<HopError, LedgerError> {
        Ok(self
            .contract(chain)?
            .record_error(chain, psiid, error)
            .await?)
    }

    async fn events(&self, chains: &[String]) -> Result<EventStream, LedgerError> {
        // One stream per distinct (channel, chaincode), merged.
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut streams = Vec::new();
        for chain in chains {
            let contract = self.contract(chain)?.contract();
            let network: &Network = contract.network();
            let key = (
                network.name().to_string(),
                contract.chaincode_name().to_string(),
            );
            if seen.contains(&key) {
                continue;
            }
            let events = network
                .chaincode_events(contract.chaincode_name(), EventsOptions::new())
                .await?;
            streams.push(
                events
                    .map(|r| match r {
                        Ok(ev) => SfcEvent::parse(&ev).map_err(LedgerError::from),
                        Err(e) => Err(LedgerError::from(e)),
                    })
                    .boxed(),
            );
            seen.push(key);
        }
        Ok(futures::stream::select_all(streams).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{GatewayError, Step};

    fn gateway(code: tonic::Code, message: &str) -> Error {
        Error::Gateway(Box::new(GatewayError {
            step: Step::Endorse,
            endpoint: "peer0:7051".into(),
            tx_id: Some("t1".into()),
            code,
            message: message.into(),
            details: vec![],
        }))
    }

    #[test]
    fn gateway_errors_sort_by_what_to_do() {
        let e = LedgerError::from(gateway(
            tonic::Code::Aborted,
            "failed to endorse: chaincode response 409, replay: recordsJSON[2].inputHash ab was used in tx t0",
        ));
        assert!(
            matches!(&e, LedgerError::Rejected { status: 409, message } if message.starts_with("replay")),
            "{e:?}"
        );
        assert!(!e.is_transient());
        let e = LedgerError::from(gateway(tonic::Code::Unavailable, "connection refused"));
        assert!(e.is_transient());
        assert_eq!(e.tx_id(), Some("t1"));
        let e = LedgerError::from(Error::Commit {
            tx_id: "t2".into(),
            code: 11,
            block_number: 4,
        });
        assert!(
            matches!(&e, LedgerError::Invalid { code, .. } if code == "MVCC_READ_CONFLICT"),
            "{e:?}"
        );
        assert!(e.is_transient());
    }
}
