//! The orderer's Broadcast check against each channel's `/Channel/Writers` (Fabric's
//! `SigFilter`), for the [`crate::orderer::Registrar`].

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use prost::Message as _;
use sfcbc_fabric::protos::common::{Envelope, Payload, SignatureHeader};

use super::config::{ChannelConfig, SignedData};

/// `/Channel/Writers` of every channel the orderer serves; plug it into
/// `Registrar::new(Arc::new(filter))` and [`WritersFilter::insert`] each channel's config.
#[derive(Debug, Default)]
pub struct WritersFilter {
    channels: RwLock<HashMap<String, Arc<ChannelConfig>>>,
}

impl WritersFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a channel's configuration.
    pub fn insert(&self, config: Arc<ChannelConfig>) {
        self.channels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(config.channel_id.clone(), config);
    }

    /// The configuration of `channel`.
    pub fn get(&self, channel: &str) -> Option<Arc<ChannelConfig>> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(channel)
            .cloned()
    }
}

impl SignedData {
    /// `protoutil.EnvelopeAsSignedData`: the payload, signed by the signature header's creator.
    pub fn from_envelope(envelope: &Envelope) -> Result<Self, String> {
        let payload = Payload::decode(envelope.payload.as_slice())
            .map_err(|e| format!("could not convert message to signedData: {e}"))?;
        let header = payload
            .header
            .ok_or_else(|| "could not convert message to signedData: missing header".to_owned())?;
        let shdr = SignatureHeader::decode(header.signature_header.as_slice()).map_err(|e| {
            format!("could not convert message to signedData: GetSignatureHeader failed: {e}")
        })?;
        Ok(Self {
            data: envelope.payload.clone(),
            identity: shdr.creator,
            signature: envelope.signature.clone(),
        })
    }
}

impl crate::orderer::WritersPolicy for WritersFilter {
    /// As Fabric's SigFilter: `<why>: permission denied` when `/Channel/Writers` does not
    /// hold for the envelope's creator and signature.
    fn check(&self, channel: &str, envelope: &Envelope) -> Result<(), String> {
        let config = self.get(channel).ok_or_else(|| {
            format!("could not find policy /Channel/Writers of channel {channel}")
        })?;
        let signed = SignedData::from_envelope(envelope)?;
        config
            .evaluate_signed_data("/Channel/Writers", &[signed])
            .map_err(|e| format!("{e}: permission denied"))
    }
}
