//! A smart contract in a chaincode on a channel: evaluate (query) and submit (invoke).
//!
//! `submit_transaction` is sugar for [`Contract::new_proposal`] → [`Proposal::endorse`] →
//! [`crate::Transaction::submit`] → [`crate::Commit::status`]; every step is public, so that
//! a caller can sign off-line, submit asynchronously, or retry one step.

use std::collections::BTreeMap;

use sfcbc_fabric::protos::gateway::ProposedTransaction;
use sfcbc_fabric::tx::ProposalBuilder as RawProposalBuilder;

use crate::error::Result;
use crate::network::Network;
use crate::proposal::{Commit, Proposal};

/// A contract (fabric-gateway's `Contract`): chaincode `chaincode_name` on the network's
/// channel, optionally a named contract inside it.
#[derive(Clone, Debug)]
pub struct Contract {
    network: Network,
    chaincode_name: String,
    contract_name: String,
}

impl Contract {
    pub(crate) fn new(network: Network, chaincode_name: String, contract_name: String) -> Self {
        Self {
            network,
            chaincode_name,
            contract_name,
        }
    }

    /// The chaincode.
    pub fn chaincode_name(&self) -> &str {
        &self.chaincode_name
    }

    /// The contract within the chaincode; empty for the default contract.
    pub fn contract_name(&self) -> &str {
        &self.contract_name
    }

    /// The network (channel).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Evaluates transaction function `name` with `args` and returns its result. The
    /// proposal runs on a peer but is not sent to the ordering service, so nothing is
    /// committed: use it to query the world state.
    pub async fn evaluate_transaction<A: AsRef<[u8]>>(
        &self,
        name: &str,
        args: &[A],
    ) -> Result<Vec<u8>> {
        self.new_proposal(name).args(args).evaluate().await
    }

    /// Submits transaction function `name` with `args`: endorsed by enough peers, ordered,
    /// and committed; returns the function's result once the transaction is committed and
    /// valid. Errors: a [`crate::GatewayError`] at endorse, submit or commit status, or
    /// [`crate::Error::Commit`] when the peers invalidated it.
    pub async fn submit_transaction<A: AsRef<[u8]>>(
        &self,
        name: &str,
        args: &[A],
    ) -> Result<Vec<u8>> {
        self.new_proposal(name).args(args).submit().await
    }

    /// Endorses and submits `name` with `args`, returning the result as soon as the orderer
    /// accepted the transaction, with a [`Commit`] to wait for the block.
    pub async fn submit_async<A: AsRef<[u8]>>(
        &self,
        name: &str,
        args: &[A],
    ) -> Result<(Vec<u8>, Commit)> {
        self.new_proposal(name).args(args).submit_async().await
    }

    /// A proposal for transaction function `name`, to fill with arguments, transient data
    /// and endorsing organizations.
    pub fn new_proposal(&self, name: &str) -> ProposalBuilder {
        let qualified = if self.contract_name.is_empty() {
            name.to_string()
        } else {
            format!("{}:{name}", self.contract_name)
        };
        ProposalBuilder {
            contract: self.clone(),
            transaction_name: qualified,
            args: Vec::new(),
            transient: BTreeMap::new(),
            endorsing_organizations: Vec::new(),
        }
    }
}

/// A proposal being put together (fabric-gateway's `ProposalOption`s as methods).
#[derive(Clone, Debug)]
#[must_use = "a proposal builder does nothing until built, evaluated or submitted"]
pub struct ProposalBuilder {
    contract: Contract,
    transaction_name: String,
    args: Vec<Vec<u8>>,
    transient: BTreeMap<String, Vec<u8>>,
    endorsing_organizations: Vec<String>,
}

impl ProposalBuilder {
    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Appends arguments.
    pub fn args<A: AsRef<[u8]>>(mut self, args: &[A]) -> Self {
        self.args.extend(args.iter().map(|a| a.as_ref().to_vec()));
        self
    }

    /// Adds transient data: passed to the chaincode, never written to the ledger or into
    /// the transaction. Pair it with [`Self::endorsing_organizations`] so that only the
    /// organizations allowed to see it receive the proposal.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.transient.insert(key.into(), value.into());
        self
    }

    /// The only organizations (MSP IDs) the gateway may send the proposal to, for
    /// endorsement or evaluation.
    pub fn endorsing_organizations<S: AsRef<str>>(mut self, msp_ids: &[S]) -> Self {
        self.endorsing_organizations = msp_ids.iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Builds the (unsigned) proposal.
    pub fn build(self) -> Result<Proposal> {
        let network = &self.contract.network;
        let gateway = network.gateway().clone();
        let mut raw = RawProposalBuilder::new(network.name(), &self.contract.chaincode_name)
            .arg(self.transaction_name.into_bytes())
            .args(self.args);
        for (k, v) in self.transient {
            raw = raw.transient(k, v);
        }
        let built = raw.build(&gateway.inner.creator())?;
        let proposed = ProposedTransaction {
            transaction_id: built.tx_id.clone(),
            proposal: Some(sfcbc_fabric::protos::protos::SignedProposal {
                proposal_bytes: built.bytes,
                signature: Vec::new(),
            }),
            endorsing_organizations: self.endorsing_organizations,
        };
        Ok(Proposal::from_parts(gateway, built.channel_id, proposed))
    }

    /// Builds and evaluates.
    pub async fn evaluate(self) -> Result<Vec<u8>> {
        self.build()?.evaluate().await
    }

    /// Builds, endorses, submits and waits for a valid commit.
    pub async fn submit(self) -> Result<Vec<u8>> {
        let (result, mut commit) = self.submit_async().await?;
        commit.status().await?.into_result()?;
        Ok(result)
    }

    /// Builds, endorses and submits; returns the result and the [`Commit`].
    pub async fn submit_async(self) -> Result<(Vec<u8>, Commit)> {
        let mut tx = self.build()?.endorse().await?;
        let result = tx.result().to_vec();
        let commit = tx.submit().await?;
        Ok((result, commit))
    }
}

#[cfg(test)]
mod tests {
    use sfcbc_fabric::protos::common::HeaderType;
    use sfcbc_fabric::tx::{compute_tx_id, unpack_proposal};

    use crate::test_util;

    #[tokio::test]
    async fn proposals_are_built_as_fabric_gateway_builds_them() {
        let signer = test_util::signer("Org1MSP");
        let gw = test_util::gateway(&signer);
        let contract = gw
            .network("mychannel")
            .contract_with_name("sfc", "SfcContract");
        let p = contract
            .new_proposal("ShareAuth")
            .args(&["chain1", "Org1:NameWriter:1"])
            .transient("secret", b"s".to_vec())
            .transient("salt", vec![7u8; 16])
            .endorsing_organizations(&["Org1MSP"])
            .build()
            .unwrap();
        assert_eq!(p.channel_id(), "mychannel");
        assert_eq!(p.endorsing_organizations(), ["Org1MSP".to_string()]);
        assert!(!p.is_signed());

        let signed = sfcbc_fabric::protos::protos::SignedProposal {
            proposal_bytes: p.message().to_vec(),
            signature: signer.sign(p.message()),
        };
        let up = unpack_proposal(&signed).unwrap();
        assert_eq!(
            up.channel_header.r#type,
            HeaderType::EndorserTransaction as i32
        );
        assert_eq!(up.channel_header.epoch, 0);
        assert!(up.channel_header.timestamp.is_some());
        assert_eq!(up.channel_id(), "mychannel");
        assert_eq!(up.chaincode_name, "sfc");
        assert_eq!(up.tx_id(), p.tx_id());
        assert_eq!(up.creator(), signer.serialize().as_slice());
        assert_eq!(up.signature_header.nonce.len(), 24);
        assert_eq!(
            compute_tx_id(&up.signature_header.nonce, up.creator()),
            p.tx_id()
        );
        let args: Vec<&[u8]> = up.input.args.iter().map(Vec::as_slice).collect();
        assert_eq!(
            args,
            [
                &b"SfcContract:ShareAuth"[..],
                b"chain1",
                b"Org1:NameWriter:1"
            ],
            "the contract name qualifies the function"
        );
        assert_eq!(up.transient_map.len(), 2);
        assert_eq!(up.transient_map["salt"], vec![7u8; 16]);
        signer
            .identity()
            .public_key()
            .unwrap()
            .verify(p.message(), &signed.signature)
            .unwrap();

        // bytes() round-trips through Gateway::new_proposal (off-line signing)
        let again = gw.new_signed_proposal(&p.bytes(), vec![1, 2, 3]).unwrap();
        assert_eq!(
            (again.tx_id(), again.channel_id(), again.message()),
            (p.tx_id(), "mychannel", p.message())
        );
        assert_eq!(again.endorsing_organizations(), p.endorsing_organizations());
        assert!(again.is_signed());
        assert_eq!(p.digest(), crate::gateway::digest(p.message()));

        // every proposal gets a fresh nonce, hence a fresh tx id
        let q = contract.new_proposal("ShareAuth").build().unwrap();
        assert_ne!(q.tx_id(), p.tx_id());
        // the default contract sends the bare function name
        let plain = gw
            .network("ch")
            .contract("cc")
            .new_proposal("get")
            .arg("k")
            .build()
            .unwrap();
        let up = unpack_proposal(&sfcbc_fabric::protos::protos::SignedProposal {
            proposal_bytes: plain.message().to_vec(),
            signature: vec![],
        })
        .unwrap();
        assert_eq!(up.input.args, vec![b"get".to_vec(), b"k".to_vec()]);
        assert!(up.transient_map.is_empty());
    }
}
