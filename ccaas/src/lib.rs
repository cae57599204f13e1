//! sfcbc-ccaas: the chaincode-as-a-service server for the SFC contract.
