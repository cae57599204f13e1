//! SerializedIdentity, certificate PEM/DER, key and signature bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfcbc_fabric::msp::{Identity, pem};
use sfcbc_fabric::signer::{PrivateKey, PublicKey, ecdsa_low_s};

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = Identity::from_serialized(data) {
        let _ = id.public_key();
    }
    let _ = Identity::from_pem("M", data);
    let _ = Identity::from_der("M", data.to_vec());
    let _ = pem::decode_all(data);
    let _ = PrivateKey::from_pem(data);
    let _ = PrivateKey::from_pkcs8_der(data);
    let _ = PublicKey::from_spki_der(data);
    let _ = ecdsa_low_s(data);
});
