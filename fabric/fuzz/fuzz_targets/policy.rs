//! Policy strings (channel config, chaincode definitions) and SignaturePolicyEnvelope bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfcbc_fabric::msp::MspRole;
use sfcbc_fabric::policy::{CompiledPolicy, RoleHolder, from_string, parse_implicit_meta};

fuzz_target!(|data: &[u8]| {
    let signers = [
        RoleHolder::new("A", &[MspRole::Peer]),
        RoleHolder::new("B", &[]),
    ];
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(env) = from_string(text) {
            // Whatever parses must compile and evaluate.
            let p = CompiledPolicy::new(&env).expect("parsed policies compile");
            let _ = p.evaluate(&signers);
        }
        let _ = parse_implicit_meta(text);
    }
    if let Ok(p) = CompiledPolicy::from_bytes(data) {
        let _ = p.evaluate(&signers);
    }
});
