//! Compiles `protos/**/*.proto` (our own definitions of Fabric's wire types) with the
//! pure-Rust `protox` compiler and generates prost messages plus tonic clients and
//! servers. No system `protoc` is involved.

use std::path::{Path, PathBuf};

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("protos");
    println!("cargo:rerun-if-changed={}", root.display());

    let mut files = Vec::new();
    collect_protos(&root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    // Names relative to the include dir, e.g. "peer/chaincode_shim.proto".
    let names: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(&root).map(Path::to_path_buf))
        .collect::<Result<_, _>>()?;

    let fds = protox::compile(&names, [&root])?;
    // Kept for tests (and gRPC reflection): the descriptors exactly as compiled.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("fabric_descriptor_set.bin"),
        protox::prost::Message::encode_to_vec(&fds),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // protos.Chaincode has an rpc named Connect; the transport-based
        // `connect(dst)` constructor would collide with it. Clients are built from a
        // `tonic::transport::Channel` (or any tonic service) instead.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
