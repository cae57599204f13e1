//! A channel as seen through a gateway: its contracts and its events.

use crate::contract::Contract;
use crate::error::Result;
use crate::events::{
    BlockEvents, BlockEventsRequest, ChaincodeEvents, ChaincodeEventsRequest, EventsOptions,
};
use crate::gateway::Gateway;
use sfcbc_fabric::protos::common::Block;
use sfcbc_fabric::protos::protos::{BlockAndPrivateData, FilteredBlock};

/// The peers and ledger of one Fabric channel, reached through a [`Gateway`] (fabric-gateway's
/// `Network`). Gives [`Contract`]s and event streams.
#[derive(Clone, Debug)]
pub struct Network {
    gateway: Gateway,
    name: String,
}

impl Network {
    pub(crate) fn new(gateway: Gateway, name: String) -> Self {
        Self { gateway, name }
    }

    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The default contract of chaincode `chaincode` on this channel.
    pub fn contract(&self, chaincode: impl Into<String>) -> Contract {
        Contract::new(self.clone(), chaincode.into(), String::new())
    }

    /// The contract named `contract` in chaincode `chaincode`: transaction names are sent as
    /// `contract:name`.
    pub fn contract_with_name(
        &self,
        chaincode: impl Into<String>,
        contract: impl Into<String>,
    ) -> Contract {
        Contract::new(self.clone(), chaincode.into(), contract.into())
    }

    /// Events that transactions of `chaincode` emitted, from the position in `options`
    /// (default: the next block to commit), through the gateway's `ChaincodeEvents`. Only
    /// events of valid transactions are delivered.
    pub async fn chaincode_events(
        &self,
        chaincode: &str,
        options: EventsOptions,
    ) -> Result<ChaincodeEvents> {
        self.new_chaincode_events_request(chaincode, options)?
            .events()
            .await
    }

    /// The signed-or-to-sign request behind [`Self::chaincode_events`] (off-line signing).
    pub fn new_chaincode_events_request(
        &self,
        chaincode: &str,
        options: EventsOptions,
    ) -> Result<ChaincodeEventsRequest> {
        Ok(ChaincodeEventsRequest::new(
            self.gateway.clone(),
            &self.name,
            chaincode,
            options,
        ))
    }

    /// Full blocks (`common.Block`) from the peer's `Deliver` service.
    pub async fn block_events(&self, options: EventsOptions) -> Result<BlockEvents<Block>> {
        self.new_block_events_request(options)?.blocks().await
    }

    /// Filtered blocks (tx ids, validation codes, chaincode event names; no payloads) from
    /// `DeliverFiltered`.
    pub async fn filtered_block_events(
        &self,
        options: EventsOptions,
    ) -> Result<BlockEvents<FilteredBlock>> {
        self.new_block_events_request(options)?
            .filtered_blocks()
            .await
    }

    /// Blocks with the private data this client's org may see, from `DeliverWithPrivateData`
    /// (the peer allows it to its own org's admins and members per its ACLs).
    pub async fn block_and_private_data_events(
        &self,
        options: EventsOptions,
    ) -> Result<BlockEvents<BlockAndPrivateData>> {
        self.new_block_events_request(options)?
            .blocks_and_private_data()
            .await
    }

    /// The signed-or-to-sign `Deliver` request behind the block streams.
    pub fn new_block_events_request(&self, options: EventsOptions) -> Result<BlockEventsRequest> {
        BlockEventsRequest::new(self.gateway.clone(), &self.name, options)
    }
}
