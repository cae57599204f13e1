//! SignedProposal bytes from a client: unpack and check, as an endorsing peer does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfcbc_fabric::msp::{MspManager, ValidityTime};
use sfcbc_fabric::tx::{assemble_transaction, unpack_proposal_bytes};

fuzz_target!(|data: &[u8]| {
    if let Ok(up) = unpack_proposal_bytes(data) {
        let _ = up.validate(&MspManager::new(), ValidityTime::AsFabric);
        let _ = up.binding();
        let _ = assemble_transaction(&up.signed, &[]);
    }
});
