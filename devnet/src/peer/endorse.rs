//! The peer's ProcessProposal entry point: `qscc` is answered here from the ledger (Fabric
//! runs it as a system chaincode, checked against the channel's Readers policy); every other
//! chaincode goes to the [`crate::endorser::Endorser`]. The private writes of an endorsed
//! proposal are disseminated to the peers of the collections' member orgs, as Fabric's
//! endorser does through gossip before it answers.

use sfcbc_fabric::msp::ValidityTime;
use sfcbc_fabric::protos::protos::{ProposalResponse, Response, SignedProposal};
use sfcbc_fabric::tx::{UnpackedProposal, unpack_proposal};

use super::{Peer, PeerChannel, ProposalOutcome};
use crate::endorser::{private_data_for_org, validate_proposal};

/// Fabric's system chaincode for ledger queries.
pub const QSCC: &str = "qscc";

/// The channel policy Fabric's default ACLs give `qscc/*`.
const QSCC_ACL_POLICY: &str = "/Channel/Application/Readers";

fn refused(message: String, rpc_error: bool, tx_id: String) -> ProposalOutcome {
    ProposalOutcome {
        response: ProposalResponse {
            response: Some(Response {
                status: 500,
                message: message.clone(),
                payload: Vec::new(),
            }),
            ..Default::default()
        },
        rpc_error: rpc_error.then_some(message),
        tx_id,
        private_data: None,
    }
}

impl Peer {
    /// Endorses (simulates and signs) one proposal, as Fabric's `ProcessProposal`.
    pub async fn process_proposal(&self, signed: &SignedProposal) -> ProposalOutcome {
        if let Ok(up) = unpack_proposal(signed)
            && up.chaincode_name == QSCC
        {
            return self.qscc(&up);
        }
        let outcome = self.inner.endorser.process_proposal(signed).await;
        if let Some(pvt) = &outcome.private_data
            && let Ok(up) = unpack_proposal(signed)
            && let Some(ch) = self.channel(up.channel_id())
        {
            self.disseminate(&ch, &outcome.tx_id, pvt);
        }
        outcome
    }

    fn qscc(&self, up: &UnpackedProposal) -> ProposalOutcome {
        let tx_id = up.tx_id().to_owned();
        let Some(ch) = self.channel(up.channel_id()) else {
            return refused(
                format!("channel '{}' not found", up.channel_id()),
                false,
                tx_id,
            );
        };
        let creator = match validate_proposal(up, ch.config.as_ref(), ValidityTime::AsFabric) {
            Ok(c) => c,
            Err(e) => return refused(format!("error validating proposal: {e}"), true, tx_id),
        };
        let function = up
            .input
            .args
            .first()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .unwrap_or_default();
        let response = match ch
            .config
            .evaluate(QSCC_ACL_POLICY, std::slice::from_ref(&creator))
        {
            Ok(()) => crate::qscc::invoke(self, &up.input.args),
            Err(e) => Response {
                status: 500,
                message: format!(
                    "access denied for [{function}][{}]: [failed evaluating policy on signed data during check policy [{QSCC_ACL_POLICY}]: [{e}]]",
                    up.channel_id()
                ),
                payload: Vec::new(),
            },
        };
        ProposalOutcome {
            response: up.endorse(response, Vec::new(), None, "", self.signer()),
            rpc_error: None,
            tx_id,
            private_data: None,
        }
    }

    /// Hands each other member org's peers their part of a private rwset (their transient
    /// store keeps it until the block commits).
    fn disseminate(
        &self,
        ch: &PeerChannel,
        tx_id: &str,
        pvt: &sfcbc_fabric::protos::rwset::TxPvtReadWriteSet,
    ) {
        let height = ch.ledger.height().unwrap_or_default();
        for other in self.gossip_peers() {
            let Some(their) = other.channel(&ch.name) else {
                continue;
            };
            if let Some(part) = private_data_for_org(pvt, ch.definitions.as_ref(), other.msp_id()) {
                their.transient().persist(tx_id, height, part);
            }
        }
    }
}
