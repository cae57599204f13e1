//! Chaincode support errors, worded as Fabric's peer words them where it has a word.

/// Why a chaincode could not be reached or a transaction could not be executed. A chaincode
/// that *answers* with an error status (COMPLETED, status ≥ 400) is not an error here: that
/// is a [`super::ChaincodeOutcome`] with its `Response`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChaincodeError {
    /// Bad `connection.json` or TLS settings.
    #[error("{0}")]
    Config(String),
    /// The chaincode server could not be dialled or refused the Connect stream.
    #[error("chaincode server {address} unavailable: {message}")]
    Unavailable { address: String, message: String },
    /// The chaincode did not register as expected.
    #[error("chaincode server {address}: registration failed: {message}")]
    Handshake { address: String, message: String },
    /// A transaction with this id is already executing on this channel (Fabric's
    /// `TransactionContexts.Create`).
    #[error("failed to execute transaction {txid}: error sending: txid: {txid}({channel}) exists")]
    DuplicateTx { txid: String, channel: String },
    /// The chaincode did not finish within the execute timeout.
    #[error(
        "failed to execute transaction {txid}: error sending: timeout expired while executing transaction"
    )]
    Timeout { txid: String },
    /// The stream to the chaincode broke while the transaction ran.
    #[error("failed to execute transaction {txid}: error sending: chaincode stream terminated")]
    StreamTerminated { txid: String, reason: String },
    /// The shim answered ERROR (a failure of the shim or of the chaincode's own code, not a
    /// chaincode error response).
    #[error("transaction returned with failure: {message}")]
    Failed { txid: String, message: String },
    /// COMPLETED whose payload is not a `protos.Response`.
    #[error("failed to unmarshal response for transaction {txid}: {message}")]
    BadResponse { txid: String, message: String },
}
