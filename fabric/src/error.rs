//! Error types of the Fabric wire layer.
//!
//! One enum per concern, so a caller can match on what went wrong: [`CryptoError`] for keys
//! and signatures, [`MspError`] for MSP folders and identity validation, [`TxError`] for
//! proposals, responses and envelopes, [`PolicyError`] for the policy language. [`Error`]
//! wraps them all for callers that only report. Nothing in this crate panics on bytes from the
//! network: every malformed input ends up as one of these values.

use std::path::PathBuf;

/// Keys, signatures and public keys.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The input held no PEM block at all.
    #[error("no PEM block found in {what}")]
    NoPem {
        /// What we were reading (a file name or "private key").
        what: String,
    },
    /// A PEM block we cannot use as a private key.
    #[error(
        "unsupported private key (PEM label `{label}`): expected an ECDSA P-256 key in PKCS#8 \
         (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) form, or an Ed25519 key in PKCS#8 form"
    )]
    UnsupportedPrivateKey {
        /// The PEM label found.
        label: String,
    },
    /// A public key of an algorithm Fabric's X.509 MSP does not accept here.
    #[error("unsupported public key algorithm {oid}: sfcbc accepts ECDSA P-256 and Ed25519")]
    UnsupportedPublicKey {
        /// The algorithm OID (and curve, for EC keys).
        oid: String,
    },
    /// Bytes that do not form a signature of the key's algorithm.
    #[error("malformed {algorithm} signature: {reason}")]
    MalformedSignature {
        /// "ECDSA" or "Ed25519".
        algorithm: &'static str,
        /// What the decoder said.
        reason: String,
    },
    /// An ECDSA signature whose S is above half the group order. Fabric rejects these to
    /// rule out signature malleability; re-sign with a low-S signer.
    #[error("ECDSA signature has a high S value; Fabric accepts only low-S signatures")]
    HighS,
    /// The signature is well formed but does not verify under the key.
    #[error("signature verification failed")]
    BadSignature,
}

/// MSP folders, certificates and identity validation.
#[derive(Debug, thiserror::Error)]
pub enum MspError {
    /// Reading a file or directory failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A folder that must hold at least one file is empty or missing.
    #[error("MSP folder {dir} has no {what}; expected the layout cryptogen writes")]
    Missing {
        /// The folder.
        dir: PathBuf,
        /// What was expected (e.g. "signing certificate in signcerts/").
        what: &'static str,
    },
    /// `config.yaml` is not valid YAML of Fabric's MSP configuration.
    #[error("invalid MSP config.yaml at {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A certificate that cannot be parsed.
    #[error("invalid certificate ({what}): {reason}")]
    Certificate {
        /// Which certificate (e.g. "identity", "root CA 0").
        what: String,
        /// What the parser said.
        reason: String,
    },
    /// A key problem (wrong algorithm, unreadable PEM).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// No private key in `keystore/` matches the signing certificate.
    #[error("no private key in {dir} matches the certificate in signcerts/")]
    NoMatchingKey {
        /// The keystore folder.
        dir: PathBuf,
    },
    /// The identity names another MSP than the one asked to validate it.
    #[error("identity belongs to MSP `{got}`, not to `{expected}`")]
    WrongMsp {
        /// The MSP doing the validation.
        expected: String,
        /// The MSP ID in the serialized identity.
        got: String,
    },
    /// No MSP with this ID is known (channel MSP set lookups).
    #[error("unknown MSP `{0}`: it is not a member of this channel")]
    UnknownMsp(String),
    /// The serialized identity bytes are not a `SerializedIdentity` protobuf.
    #[error("malformed SerializedIdentity: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The identity's certificate does not chain to the MSP's roots.
    #[error("identity is not valid under MSP `{msp_id}`: {reason}")]
    Invalid {
        /// The MSP doing the validation.
        msp_id: String,
        /// Why (no issuer found, bad CA signature, expired, ...).
        reason: String,
    },
    /// The identity does not satisfy the required role.
    #[error("identity of MSP `{msp_id}` is not a {role}: {reason}")]
    Role {
        /// The MSP.
        msp_id: String,
        /// The role required.
        role: &'static str,
        /// Why not.
        reason: String,
    },
}

/// Proposals, proposal responses, transactions and envelopes.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// Bytes that do not decode as the named protobuf message.
    #[error("malformed {what}: {source}")]
    Decode {
        /// The message expected (e.g. "Proposal.header (common.Header)").
        what: &'static str,
        /// The decoder's error.
        source: prost::DecodeError,
    },
    /// A required field is empty or absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// A header type the flow does not accept.
    #[error("unexpected header type {got}; expected {expected}")]
    HeaderType {
        /// The type found (`common.HeaderType` number).
        got: i32,
        /// What was expected.
        expected: &'static str,
    },
    /// Fabric requires epoch 0 in proposals and transactions.
    #[error("channel header epoch is {0}; Fabric requires 0")]
    Epoch(u64),
    /// The transaction id is not hex(sha256(nonce ‖ creator)).
    #[error("incorrectly computed tx id `{got}`; expected `{expected}`")]
    TxId {
        /// The id in the channel header.
        got: String,
        /// The id computed from nonce and creator.
        expected: String,
    },
    /// A signature over the message did not verify.
    #[error("{who}'s signature is invalid: {source}")]
    Signature {
        /// Whose signature ("creator", "endorser 2").
        who: String,
        /// Why.
        source: Box<Error>,
    },
    /// An identity did not validate.
    #[error("{who} is not a valid identity: {source}")]
    Identity {
        /// Which identity ("creator", "endorser 2").
        who: String,
        /// Why.
        source: Box<Error>,
    },
    /// A proposal response that reports a failure cannot go into a transaction.
    #[error("proposal response {index} was not successful: status {status}, message `{message}`")]
    ResponseStatus {
        /// Position in the response list.
        index: usize,
        /// The status the endorser returned.
        status: i32,
        /// The endorser's message.
        message: String,
    },
    /// Endorsers simulated differently: their proposal response payloads differ.
    #[error(
        "proposal response {index} has a different payload than response 0: the endorsers' \
         simulations disagree (non-deterministic chaincode or changed state)"
    )]
    PayloadMismatch {
        /// Position of the first disagreeing response.
        index: usize,
    },
    /// No response carried an endorsement.
    #[error("no endorsements in the proposal responses")]
    NoEndorsements,
    /// At least one proposal response is required to assemble a transaction.
    #[error("at least one proposal response is required")]
    NoResponses,
    /// The signer of the transaction is not the proposal's creator.
    #[error("the transaction signer must be the proposal's creator")]
    CreatorMismatch,
    /// The proposal response's `proposal_hash` does not match the proposal.
    #[error("proposal hash does not match the proposal")]
    ProposalHash,
    /// Fabric accepts exactly one action per endorser transaction.
    #[error("only one action per transaction is supported, transaction has {0}")]
    ActionCount(usize),
    /// A chaincode id is required in the proposal.
    #[error("chaincode name is empty")]
    EmptyChaincodeName,
}

/// The signature-policy and ImplicitMeta policy languages, and policy evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not an expression the policy language accepts.
    #[error("policy syntax error at byte {pos}: {message}")]
    Syntax {
        /// Byte offset in the text being parsed.
        pos: usize,
        /// What was wrong.
        message: String,
    },
    /// A bare word that is not a gate (Fabric: "unrecognized token").
    #[error("unrecognized token '{0}' in policy string")]
    UnknownName(String),
    /// A gate got an argument of the wrong kind.
    #[error("invalid policy: {0}")]
    Invalid(String),
    /// `OutOf(t, ...)` with t < 0 or t > n + 1.
    #[error("invalid t-out-of-n predicate, t {t}, n {n}")]
    OutOfRange {
        /// The threshold.
        t: i64,
        /// The number of sub-policies.
        n: usize,
    },
    /// A principal that is not `MSPID.role`.
    #[error(
        "error parsing principal {0}: expected 'MSPID.role' with role member, admin, client, peer or orderer"
    )]
    Principal(String),
    /// Policies nested deeper than the parser allows.
    #[error("policy nests deeper than {0} levels")]
    TooDeep(usize),
    /// An ImplicitMeta policy string that is not `ANY|ALL|MAJORITY <SubPolicy>`.
    #[error("invalid ImplicitMeta policy `{input}`: {reason}")]
    ImplicitMeta {
        /// The text.
        input: String,
        /// Why.
        reason: String,
    },
    /// A `SignaturePolicyEnvelope` that cannot be evaluated.
    #[error("cannot evaluate signature policy: {0}")]
    Envelope(String),
}

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// See [`CryptoError`].
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// See [`MspError`].
    #[error(transparent)]
    Msp(#[from] MspError),
    /// See [`TxError`].
    #[error(transparent)]
    Tx(#[from] TxError),
    /// See [`PolicyError`].
    #[error(transparent)]
    Policy(#[from] PolicyError),
}
