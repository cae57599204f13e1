//! `etcdraft.ConfigMetadata` (Fabric's `orderer/etcdraft/configuration.proto`): the
//! `ConsensusType.metadata` of an etcdraft channel. sfcbc-fabric has no etcdraft protos, so
//! the three messages are declared here with Fabric's package, names and field numbers.

/// `etcdraft.ConfigMetadata`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConfigMetadata {
    #[prost(message, repeated, tag = "1")]
    pub consenters: Vec<Consenter>,
    #[prost(message, optional, tag = "2")]
    pub options: Option<Options>,
}

/// `etcdraft.Consenter`: an orderer of the Raft cluster; certificates are PEM.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Consenter {
    #[prost(string, tag = "1")]
    pub host: String,
    #[prost(uint32, tag = "2")]
    pub port: u32,
    #[prost(bytes = "vec", tag = "3")]
    pub client_tls_cert: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub server_tls_cert: Vec<u8>,
}

/// `etcdraft.Options`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Options {
    /// A Go duration, e.g. `500ms`.
    #[prost(string, tag = "1")]
    pub tick_interval: String,
    #[prost(uint32, tag = "2")]
    pub election_tick: u32,
    #[prost(uint32, tag = "3")]
    pub heartbeat_tick: u32,
    #[prost(uint32, tag = "4")]
    pub max_inflight_blocks: u32,
    #[prost(uint32, tag = "5")]
    pub snapshot_interval_size: u32,
}

impl Options {
    /// The defaults configtxgen fills in (and fabric-samples' configtx.yaml sets): tick
    /// 500ms, election 10 ticks, heartbeat 1 tick, 5 in-flight blocks, snapshots every
    /// 16 MB.
    pub fn configtxgen_defaults() -> Self {
        Self {
            tick_interval: "500ms".to_owned(),
            election_tick: 10,
            heartbeat_tick: 1,
            max_inflight_blocks: 5,
            snapshot_interval_size: 16 * 1024 * 1024,
        }
    }
}

impl ConfigMetadata {
    /// One consenter per `(host, port, TLS certificate PEM)`, the certificate serving as both
    /// client and server certificate (as fabric-samples configures it), with
    /// [`Options::configtxgen_defaults`].
    pub fn new(consenters: impl IntoIterator<Item = (String, u32, Vec<u8>)>) -> Self {
        Self {
            consenters: consenters
                .into_iter()
                .map(|(host, port, cert)| Consenter {
                    host,
                    port,
                    client_tls_cert: cert.clone(),
                    server_tls_cert: cert,
                })
                .collect(),
            options: Some(Options::configtxgen_defaults()),
        }
    }
}
