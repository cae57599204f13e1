//! The SFC contract with Rust types: one method per transaction of `sfcbc-chaincode`
//! (chaincode/README.md), returning the chaincode's own types.
//!
//! Private sharing follows DESIGN §4: `ShareAuth` / `ShareEndpoints` / `RegisterAccount`
//! send their values only as transient data, with a fresh random salt, and with
//! `endorsingOrganizations` = the one org that may see them (the hop's SP, or our own org
//! for `RegisterAccount`), so no other org's peer ever receives the secret.

use rand::RngCore as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sfcbc_chaincode::types::{
    Chain, ChainEventPayload, ChainSpec, Endpoint, HopError, HopErrorInput, HopRecord,
    HopRecordInput, HopRecordedEvent, HopRejectedEvent, Page, Trace, Verdict,
};

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::events::{ChaincodeEvent, ChaincodeEvents, EventsOptions};
use crate::proposal::Commit;

/// Bytes of random salt sent with each private write (the chaincode takes 16..=256).
pub const SALT_LEN: usize = 32;

/// What a private write returns: where it went, never what (the chaincode's
/// `PrivateWrite`, which it only serializes).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateWrite {
    /// The private data collection written.
    pub collection: String,
    /// The chain, for chain-scoped writes.
    #[serde(default)]
    pub chain: Option<String>,
    /// The hop, for hop-scoped writes.
    #[serde(default)]
    pub psiid: Option<String>,
    /// The transaction.
    pub tx_id: String,
}

/// An event of the SFC chaincode, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SfcEvent {
    /// `ChainCreated`.
    ChainCreated(ChainEventPayload),
    /// `ChainUpdated` (update or disable).
    ChainUpdated(ChainEventPayload),
    /// `HopRecorded`.
    HopRecorded(HopRecordedEvent),
    /// `HopRejected`.
    HopRejected(HopRejectedEvent),
    /// Another event name (a newer chaincode).
    Other(String),
}

impl SfcEvent {
    /// Decodes a chaincode event of the SFC contract.
    pub fn parse(event: &ChaincodeEvent) -> Result<Self> {
        fn json<T: DeserializeOwned>(name: &'static str, p: &[u8]) -> Result<T> {
            serde_json::from_slice(p).map_err(|source| Error::Json {
                function: name,
                expected: std::any::type_name::<T>(),
                source,
            })
        }
        let p = &event.payload;
        Ok(match event.event_name.as_str() {
            "ChainCreated" => SfcEvent::ChainCreated(json("ChainCreated", p)?),
            "ChainUpdated" => SfcEvent::ChainUpdated(json("ChainUpdated", p)?),
            "HopRecorded" => SfcEvent::HopRecorded(json("HopRecorded", p)?),
            "HopRejected" => SfcEvent::HopRejected(json("HopRejected", p)?),
            other => SfcEvent::Other(other.to_string()),
        })
    }
}

/// The SFC contract over a [`Contract`] (chaincode deployed as e.g. `sfc`).
#[derive(Clone, Debug)]
pub struct SfcContract {
    contract: Contract,
}

fn parse<T: DeserializeOwned>(function: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| Error::Json {
        function,
        expected: std::any::type_name::<T>(),
        source,
    })
}

fn to_json<T: serde::Serialize>(field: &'static str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Argument {
        field,
        reason: e.to_string(),
    })
}

/// `recordsJSON` of `RecordHops`, packed ([`sfcbc_chaincode::packed`]).
fn records_json(records: &[HopRecordInput]) -> Result<String> {
    sfcbc_chaincode::packed::records_json(records).map_err(|e| Error::Argument {
        field: "recordsJSON",
        reason: e.to_string(),
    })
}

/// A fresh random salt.
pub fn new_salt() -> Vec<u8> {
    let mut s = vec![0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

impl SfcContract {
    /// The SFC contract in `contract`'s chaincode.
    pub fn new(contract: Contract) -> Self {
        Self { contract }
    }

    /// The underlying contract (for raw calls).
    pub fn contract(&self) -> &Contract {
        &self.contract
    }

    async fn evaluate<T: DeserializeOwned>(
        &self,
        function: &'static str,
        args: &[&str],
    ) -> Result<T> {
        let out = self.contract.evaluate_transaction(function, args).await?;
        parse(function, &out)
    }

    async fn submit<T: DeserializeOwned>(
        &self,
        function: &'static str,
        args: &[&str],
    ) -> Result<T> {
        let out = self.contract.submit_transaction(function, args).await?;
        parse(function, &out)
    }

    /// `CreateChain`: the caller becomes the owner; returns the chain as stored.
    pub async fn create_chain(&self, spec: &ChainSpec) -> Result<Chain> {
        self.submit("CreateChain", &[&to_json("chainJSON", spec)?])
            .await
    }

    /// `UpdateChain` (owner): replaces hops/classifier, version + 1.
    pub async fn update_chain(&self, spec: &ChainSpec) -> Result<Chain> {
        self.submit("UpdateChain", &[&to_json("chainJSON", spec)?])
            .await
    }

    /// `DisableChain` (owner): the chain stops accepting traffic and records.
    pub async fn disable_chain(&self, chain: &str) -> Result<Chain> {
        self.submit("DisableChain", &[chain]).await
    }

    /// `GetChain` (owner, hop SPs, manager).
    pub async fn get_chain(&self, chain: &str) -> Result<Chain> {
        self.evaluate("GetChain", &[chain]).await
    }

    /// `ListChains`: the chains the caller is a member of (the manager sees all).
    pub async fn list_chains(&self) -> Result<Vec<Chain>> {
        self.evaluate("ListChains", &[]).await
    }

    fn hop_sp<'c>(chain: &'c Chain, psiid: &str) -> Result<&'c str> {
        chain
            .hop(psiid)
            .map(|(_, h)| h.sp_msp.as_str())
            .ok_or_else(|| Error::Argument {
                field: "psiid",
                reason: format!("hop {psiid} is not in chain {}", chain.id),
            })
    }

    /// `ShareAuth` (owner): the user's `account` and `secret` at hop `psiid`'s SP, as
    /// transient data with a fresh salt, endorsed only by that SP's org (found in `chain`).
    pub async fn share_auth(
        &self,
        chain: &Chain,
        psiid: &str,
        account: &str,
        secret: &[u8],
    ) -> Result<PrivateWrite> {
        let sp = Self::hop_sp(chain, psiid)?;
        let out = self
            .contract
            .new_proposal("ShareAuth")
            .args(&[chain.id.as_str(), psiid])
            .transient("account", account.as_bytes())
            .transient("secret", secret)
            .transient("salt", new_salt())
            .endorsing_organizations(&[sp])
            .submit()
            .await?;
        parse("ShareAuth", &out)
    }

    /// `ShareEndpoints` (owner): the source (first hop) and/or destination (last hop)
    /// addresses for hop `psiid`, privately to its SP as [`Self::share_auth`].
    pub async fn share_endpoints(
        &self,
        chain: &Chain,
        psiid: &str,
        endpoint: &Endpoint,
    ) -> Result<PrivateWrite> {
        let sp = Self::hop_sp(chain, psiid)?;
        let mut p = self
            .contract
            .new_proposal("ShareEndpoints")
            .args(&[chain.id.as_str(), psiid])
            .transient("salt", new_salt())
            .endorsing_organizations(&[sp]);
        if let Some(s) = &endpoint.source {
            p = p.transient("source", s.as_bytes());
        }
        if let Some(d) = &endpoint.destination {
            p = p.transient("destination", d.as_bytes());
        }
        parse("ShareEndpoints", &p.submit().await?)
    }

    /// `RegisterAccount` (an SP): the SP's record of `user`'s account and secret, in the
    /// SP's implicit collection; endorsed only by our own org.
    pub async fn register_account(&self, user: &str, secret: &[u8]) -> Result<PrivateWrite> {
        let own = self
            .contract
            .network()
            .gateway()
            .identity()
            .msp_id()
            .to_string();
        let out = self
            .contract
            .new_proposal("RegisterAccount")
            .arg(user)
            .transient("secret", secret)
            .transient("salt", new_salt())
            .endorsing_organizations(&[own])
            .submit()
            .await?;
        parse("RegisterAccount", &out)
    }

    /// `CheckIn` (the hop's SP): may the hop process a datagram with `input_hash` from
    /// `src`, and where does it go next. Evaluated on our own org's peer (it reads our
    /// private data).
    pub async fn check_in(
        &self,
        chain: &str,
        psiid: &str,
        input_hash: &str,
        src: &str,
    ) -> Result<Verdict> {
        let own = self
            .contract
            .network()
            .gateway()
            .identity()
            .msp_id()
            .to_string();
        let out = self
            .contract
            .new_proposal("CheckIn")
            .args(&[chain, psiid, input_hash, src])
            .endorsing_organizations(&[own])
            .evaluate()
            .await?;
        parse("CheckIn", &out)
    }

    /// `RecordHops` (the hop's SP): 1..=1000 records in one transaction; returns once it is
    /// committed and valid.
    pub async fn record_hops(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<HopRecordedEvent> {
        self.submit("RecordHops", &[chain, psiid, &records_json(records)?])
            .await
    }

    /// [`Self::record_hops`] returning as soon as the orderer accepted the transaction, with
    /// the [`Commit`] to wait on (an SF forwards before or after the commit per policy).
    pub async fn record_hops_async(
        &self,
        chain: &str,
        psiid: &str,
        records: &[HopRecordInput],
    ) -> Result<(HopRecordedEvent, Commit)> {
        let (out, commit) = self
            .contract
            .submit_async("RecordHops", &[chain, psiid, &records_json(records)?])
            .await?;
        Ok((parse("RecordHops", &out)?, commit))
    }

    /// `RecordError` (the hop's SP): a dropped datagram.
    pub async fn record_error(
        &self,
        chain: &str,
        psiid: &str,
        error: &HopErrorInput,
    ) -> Result<HopError> {
        self.submit(
            "RecordError",
            &[chain, psiid, &to_json("errorJSON", error)?],
        )
        .await
    }

    /// `GetRecords`: one page of hop records (all hops when `psiid` is `None`); pass the
    /// returned bookmark back for the next page (empty for the first).
    pub async fn get_records(
        &self,
        chain: &str,
        psiid: Option<&str>,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page<HopRecord>> {
        let size = page_size.to_string();
        self.evaluate("GetRecords", &[chain, psiid.unwrap_or(""), &size, bookmark])
            .await
    }

    /// `GetErrors`: one page of error records, as [`Self::get_records`].
    pub async fn get_errors(
        &self,
        chain: &str,
        psiid: Option<&str>,
        page_size: u32,
        bookmark: &str,
    ) -> Result<Page<HopError>> {
        let size = page_size.to_string();
        self.evaluate("GetErrors", &[chain, psiid.unwrap_or(""), &size, bookmark])
            .await
    }

    /// Every hop record of `chain` (or of hop `psiid`), fetched `page_size` at a time, up to
    /// `limit`; the flag says records were left beyond the limit.
    pub async fn all_records(
        &self,
        chain: &str,
        psiid: Option<&str>,
        page_size: u32,
        limit: usize,
    ) -> Result<(Vec<HopRecord>, bool)> {
        all_pages(page_size, limit, |bookmark| async move {
            self.get_records(chain, psiid, page_size, &bookmark).await
        })
        .await
    }

    /// Every error record of `chain` (or of hop `psiid`), as [`Self::all_records`].
    pub async fn all_errors(
        &self,
        chain: &str,
        psiid: Option<&str>,
        page_size: u32,
        limit: usize,
    ) -> Result<(Vec<HopError>, bool)> {
        all_pages(page_size, limit, |bookmark| async move {
            self.get_errors(chain, psiid, page_size, &bookmark).await
        })
        .await
    }

    /// `TraceMessage`: the path of the message whose source payload hashes to
    /// `source_hash`.
    pub async fn trace_message(&self, chain: &str, source_hash: &str) -> Result<Trace> {
        self.evaluate("TraceMessage", &[chain, source_hash]).await
    }

    /// The chaincode's events (decode each with [`SfcEvent::parse`]); see
    /// [`crate::Network::chaincode_events`].
    pub async fn events(&self, options: EventsOptions) -> Result<ChaincodeEvents> {
        self.contract
            .network()
            .chaincode_events(self.contract.chaincode_name(), options)
            .await
    }

    /// `org.hyperledger.fabric:GetMetadata`: the contract metadata.
    pub async fn metadata(&self) -> Result<serde_json::Value> {
        self.evaluate("org.hyperledger.fabric:GetMetadata", &[])
            .await
    }
}

/// Follows bookmarks until a short or last page, or until `limit` items; the flag says
/// items were left beyond `limit`.
async fn all_pages<T, F, Fut>(page_size: u32, limit: usize, mut fetch: F) -> Result<(Vec<T>, bool)>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>>>,
{
    let mut out = Vec::new();
    let mut bookmark = String::new();
    loop {
        let page = fetch(bookmark).await?;
        let last = page.items.len() < page_size as usize || page.bookmark.is_empty();
        out.extend(page.items);
        if out.len() >= limit {
            let more = out.len() > limit || !last;
            out.truncate(limit);
            return Ok((out, more));
        }
        if last {
            return Ok((out, false));
        }
        bookmark = page.bookmark;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_by_name() {
        let ev = ChaincodeEvent {
            block_number: 3,
            tx_id: "t".into(),
            chaincode_name: "sfc".into(),
            event_name: "HopRecorded".into(),
            payload: br#"{"chain":"c1","psiid":"Org1:NameWriter:1","outputs":["ab"],"txId":"t"}"#
                .to_vec(),
        };
        match SfcEvent::parse(&ev).unwrap() {
            SfcEvent::HopRecorded(e) => assert_eq!(e.outputs, vec!["ab".to_string()]),
            other => panic!("{other:?}"),
        }
        let other = ChaincodeEvent {
            event_name: "Something".into(),
            ..ev.clone()
        };
        assert_eq!(
            SfcEvent::parse(&other).unwrap(),
            SfcEvent::Other("Something".into())
        );
        let bad = ChaincodeEvent {
            event_name: "ChainCreated".into(),
            payload: b"{}".to_vec(),
            ..ev
        };
        assert!(
            SfcEvent::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("ChainCreated")
        );
    }

    #[test]
    fn salts_are_fresh_and_in_range() {
        let (a, b) = (new_salt(), new_salt());
        assert_eq!(a.len(), SALT_LEN);
        assert_ne!(a, b);
    }
}
