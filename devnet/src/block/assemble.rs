//! Building `common.Block`s as Fabric's orderer does, and reading their metadata back.
//!
//! - [`new_block`]: `protoutil.NewBlock` + `BlockWriter.CreateNextBlock` — data hash set, five
//!   empty metadata slots (one per `BlockMetadataIndex` name).
//! - [`sign_block`]: `BlockWriter.commitBlock` — LAST_CONFIG slot, then the SIGNATURES slot:
//!   `Metadata{value = OrdererBlockMetadata{last_config, consenter_metadata}, signatures =
//!   [{signature_header, signature over value ‖ signature_header ‖ BlockHeaderBytes}]}`.
//! - [`genesis_metadata`]: the unsigned metadata `configtxgen` gives a channel's block 0.
//! - [`verify_block_signature`], [`transactions_filter`]: what peers check and set.

use prost::Message;
use rand::RngCore;
use sfcbc_fabric::protos::common::{
    Block, BlockData, BlockHeader, BlockMetadata, BlockMetadataIndex, Envelope, LastConfig,
    Metadata, MetadataSignature, OrdererBlockMetadata, SignatureHeader,
};

use super::header::{HeaderFields, data_hash};

/// Number of metadata slots Fabric gives every block (`len(BlockMetadataIndex_name)`).
pub const METADATA_SLOTS: usize = 5;

/// Size of the nonce in a signature header (`crypto.NonceSize`).
pub const NONCE_SIZE: usize = 24;

/// Signs blocks for the orderer: its serialized identity goes into the signature header.
/// Implemented for `sfcbc_fabric::signer::Signer`; tests use fixed fakes.
pub trait BlockSigner: Send + Sync {
    /// The `msp.SerializedIdentity` bytes of the orderer.
    fn creator(&self) -> Vec<u8>;
    /// A signature over `msg` (ECDSA: DER, low-S; Ed25519: raw), as the MSP signs.
    fn sign(&self, msg: &[u8]) -> Vec<u8>;
}

impl BlockSigner for sfcbc_fabric::signer::Signer {
    fn creator(&self) -> Vec<u8> {
        self.serialize()
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        sfcbc_fabric::signer::Signer::sign(self, msg)
    }
}

/// A problem with a block's structure, hashes or signature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("block has no {0}")]
    Missing(&'static str),
    #[error("block {number}: data hash {got} does not match its data ({want})")]
    DataHash {
        number: u64,
        want: String,
        got: String,
    },
    #[error("block {number}: previous hash {got} is not the hash of block {} ({want})", .number.wrapping_sub(1))]
    PreviousHash {
        number: u64,
        want: String,
        got: String,
    },
    #[error("block {number}: metadata slot {slot} is not a common.Metadata: {detail}")]
    BadMetadata {
        number: u64,
        slot: usize,
        detail: String,
    },
    #[error("block {number}: no orderer signature in the SIGNATURES metadata")]
    Unsigned { number: u64 },
    #[error("block {number}: orderer signature does not verify")]
    BadSignature { number: u64 },
}

/// A block with `data` and the next number after a predecessor: header data hash computed,
/// metadata slots present and empty.
pub fn new_block(number: u64, previous_hash: Vec<u8>, data: Vec<Vec<u8>>) -> Block {
    let data_hash = data_hash(&data).to_vec();
    Block {
        header: Some(BlockHeader {
            number,
            previous_hash,
            data_hash,
        }),
        data: Some(BlockData { data }),
        metadata: Some(BlockMetadata {
            metadata: vec![Vec::new(); METADATA_SLOTS],
        }),
    }
}

/// `CreateNextBlock`: one data entry per envelope, each the envelope's protobuf encoding.
pub fn block_from_envelopes(number: u64, previous_hash: Vec<u8>, envelopes: &[Envelope]) -> Block {
    let data = envelopes.iter().map(Message::encode_to_vec).collect();
    new_block(number, previous_hash, data)
}

/// The header's hash fields, borrowed (an absent header reads as Fabric's nil header would
/// marshal: number 0, empty hashes).
pub fn header_fields(block: &Block) -> HeaderFields<'_> {
    match &block.header {
        Some(h) => HeaderFields {
            number: h.number,
            previous_hash: &h.previous_hash,
            data_hash: &h.data_hash,
        },
        None => HeaderFields {
            number: 0,
            previous_hash: &[],
            data_hash: &[],
        },
    }
}

/// `protoutil.BlockHeaderHash(block.Header)`.
pub fn block_hash(block: &Block) -> [u8; 32] {
    header_fields(block).hash()
}

/// Checks the data hash against the data and, when given, the previous hash against the
/// predecessor's header hash.
pub fn verify_block_hashes(block: &Block, previous: Option<&[u8]>) -> Result<(), BlockError> {
    let header = block.header.as_ref().ok_or(BlockError::Missing("header"))?;
    let empty = BlockData::default();
    let data = block.data.as_ref().unwrap_or(&empty);
    let want = data_hash(&data.data);
    if want[..] != header.data_hash[..] {
        return Err(BlockError::DataHash {
            number: header.number,
            want: hex::encode(want),
            got: hex::encode(&header.data_hash),
        });
    }
    if let Some(prev) = previous
        && prev != &header.previous_hash[..]
    {
        return Err(BlockError::PreviousHash {
            number: header.number,
            want: hex::encode(prev),
            got: hex::encode(&header.previous_hash),
        });
    }
    Ok(())
}

/// `BlockWriter.commitBlock` for a devnet orderer (no consenter metadata, like solo): sets
/// LAST_CONFIG and signs into SIGNATURES with a fresh random nonce.
pub fn sign_block(block: &mut Block, last_config_index: u64, signer: &dyn BlockSigner) {
    let mut nonce = vec![0u8; NONCE_SIZE];
    rand::thread_rng().fill_bytes(&mut nonce);
    sign_block_with_nonce(block, last_config_index, signer, nonce);
}

/// [`sign_block`] with a given nonce, so tests can check exact bytes.
pub fn sign_block_with_nonce(
    block: &mut Block,
    last_config_index: u64,
    signer: &dyn BlockSigner,
    nonce: Vec<u8>,
) {
    let last_config = LastConfig {
        index: last_config_index,
    };
    let value = OrdererBlockMetadata {
        last_config: Some(last_config),
        // Go marshals `&cb.Metadata{Value: nil}` to no bytes, so the field is absent.
        consenter_metadata: Metadata::default().encode_to_vec(),
    }
    .encode_to_vec();
    let signature_header = SignatureHeader {
        creator: signer.creator(),
        nonce,
    }
    .encode_to_vec();
    let signature = signer.sign(&signed_bytes(
        &value,
        &signature_header,
        &header_fields(block).der_bytes(),
    ));
    let signatures = Metadata {
        value,
        signatures: vec![MetadataSignature {
            signature_header,
            signature,
            identifier_header: Vec::new(),
        }],
    };
    set_metadata(
        block,
        BlockMetadataIndex::LastConfig,
        Metadata {
            value: last_config.encode_to_vec(),
            signatures: Vec::new(),
        }
        .encode_to_vec(),
    );
    set_metadata(
        block,
        BlockMetadataIndex::Signatures,
        signatures.encode_to_vec(),
    );
}

/// The unsigned metadata of a channel's genesis (config) block, as `configtxgen` writes it.
pub fn genesis_metadata(block: &mut Block) {
    let last_config = LastConfig { index: 0 };
    set_metadata(
        block,
        BlockMetadataIndex::LastConfig,
        Metadata {
            value: last_config.encode_to_vec(),
            signatures: Vec::new(),
        }
        .encode_to_vec(),
    );
    set_metadata(
        block,
        BlockMetadataIndex::Signatures,
        Metadata {
            value: OrdererBlockMetadata {
                last_config: Some(last_config),
                consenter_metadata: Vec::new(),
            }
            .encode_to_vec(),
            signatures: Vec::new(),
        }
        .encode_to_vec(),
    );
}

/// What an orderer signs: `value ‖ signature_header ‖ BlockHeaderBytes(header)`.
pub fn signed_bytes(value: &[u8], signature_header: &[u8], header_der: &[u8]) -> Vec<u8> {
    [value, signature_header, header_der].concat()
}

/// Decodes metadata slot `slot` as `common.Metadata` (an empty or missing slot decodes as
/// the empty message, as in Go).
pub fn metadata(block: &Block, slot: BlockMetadataIndex) -> Result<Metadata, BlockError> {
    let number = header_fields(block).number;
    let bytes = block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(slot as usize))
        .map(Vec::as_slice)
        .unwrap_or_default();
    Metadata::decode(bytes).map_err(|e| BlockError::BadMetadata {
        number,
        slot: slot as usize,
        detail: e.to_string(),
    })
}

/// The last config block index the orderer recorded in the SIGNATURES slot.
pub fn last_config_index(block: &Block) -> Result<u64, BlockError> {
    let md = metadata(block, BlockMetadataIndex::Signatures)?;
    let obm =
        OrdererBlockMetadata::decode(md.value.as_slice()).map_err(|e| BlockError::BadMetadata {
            number: header_fields(block).number,
            slot: BlockMetadataIndex::Signatures as usize,
            detail: e.to_string(),
        })?;
    Ok(obm.last_config.map_or(0, |lc| lc.index))
}

/// Checks the orderer signature(s) in SIGNATURES: `verify(creator, message, signature)` is
/// called for each, with the signature header's creator. At least one must be present and
/// all must verify (a block-validation policy decides which creators count; that is the
/// caller's policy check).
pub fn verify_block_signature(
    block: &Block,
    mut verify: impl FnMut(&[u8], &[u8], &[u8]) -> bool,
) -> Result<(), BlockError> {
    let fields = header_fields(block);
    let md = metadata(block, BlockMetadataIndex::Signatures)?;
    if md.signatures.is_empty() {
        return Err(BlockError::Unsigned {
            number: fields.number,
        });
    }
    let header_der = fields.der_bytes();
    for sig in &md.signatures {
        let sh = SignatureHeader::decode(sig.signature_header.as_slice()).map_err(|_| {
            BlockError::BadSignature {
                number: fields.number,
            }
        })?;
        let msg = signed_bytes(&md.value, &sig.signature_header, &header_der);
        if !verify(&sh.creator, &msg, &sig.signature) {
            return Err(BlockError::BadSignature {
                number: fields.number,
            });
        }
    }
    Ok(())
}

/// The TRANSACTIONS_FILTER slot: one `TxValidationCode` byte per data entry, set by the
/// committing peer; empty on blocks fresh from the orderer.
pub fn transactions_filter(block: &Block) -> &[u8] {
    block
        .metadata
        .as_ref()
        .and_then(|m| {
            m.metadata
                .get(BlockMetadataIndex::TransactionsFilter as usize)
        })
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Sets the TRANSACTIONS_FILTER slot (raw bytes, not wrapped in `Metadata`, as Fabric does).
pub fn set_transactions_filter(block: &mut Block, codes: Vec<u8>) {
    set_metadata(block, BlockMetadataIndex::TransactionsFilter, codes);
}

/// Writes a metadata slot, growing the slot list to [`METADATA_SLOTS`] if needed.
pub fn set_metadata(block: &mut Block, slot: BlockMetadataIndex, bytes: Vec<u8>) {
    let md = block.metadata.get_or_insert_with(BlockMetadata::default);
    if md.metadata.len() < METADATA_SLOTS {
        md.metadata.resize(METADATA_SLOTS, Vec::new());
    }
    md.metadata[slot as usize] = bytes;
}

#[cfg(test)]
mod tests;
