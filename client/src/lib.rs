//! sfcbc-client: a Fabric Gateway client mirroring hyperledger/fabric-gateway, and the typed
//! SFC contract API on top of it.
