//! Envelope bytes from a block or a Submit call: parse and validate, as a committer does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use sfcbc_fabric::msp::{MspManager, ValidityTime};
use sfcbc_fabric::protos::common::Envelope;
use sfcbc_fabric::tx::{parse_envelope_bytes, validate_transaction};

fuzz_target!(|data: &[u8]| {
    let msps = MspManager::new();
    if let Ok(parsed) = parse_envelope_bytes(data) {
        let _ = parsed.event();
        let _ = parsed.endorsers(&msps, ValidityTime::AsFabric);
    }
    if let Ok(env) = Envelope::decode(data) {
        let _ = validate_transaction(&env, &msps, ValidityTime::AsFabric);
    }
});
