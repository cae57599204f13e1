//! `sfcbc-ccaas`: serve the SFC contract to Fabric peers, or build its install package.
fn main() {}
