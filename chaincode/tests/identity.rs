//! `cid.GetID()` on real certificates: ids computed by Go (fixtures/identity/expected.json).

use sfcbc_chaincode::identity::{GoDnFormat, client_id, client_id_with};

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expected {
    file: String,
    id: String,
    plain: String,
    legacy_id: Option<String>,
    #[serde(default)]
    legacy_error: bool,
}

fn fixtures() -> Vec<(Expected, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/identity");
    let expected: Vec<Expected> =
        serde_json::from_slice(&std::fs::read(format!("{dir}/expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 12, "fixtures missing");
    expected
        .into_iter()
        .map(|e| {
            let pem = std::fs::read(format!("{dir}/{}", e.file)).unwrap();
            (e, pem)
        })
        .collect()
}

#[test]
fn client_ids_match_go() {
    for (e, pem) in fixtures() {
        let id = client_id(&pem).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        let plain = String::from_utf8(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &id).unwrap(),
        )
        .unwrap();
        assert_eq!(plain, e.plain, "{}", e.file);
        assert_eq!(id, e.id, "{}", e.file);
    }
}

#[test]
fn legacy_client_ids_match_older_go() {
    for (e, pem) in fixtures() {
        let got = client_id_with(&pem, GoDnFormat::LegacyHex);
        if e.legacy_error {
            assert!(
                got.is_err(),
                "{}: older Go refuses non-string values",
                e.file
            );
        } else {
            assert_eq!(got.ok(), e.legacy_id, "{}", e.file);
        }
    }
}

#[test]
fn cryptogen_user_has_expected_shape() {
    let (e, pem) = fixtures()
        .into_iter()
        .find(|(e, _)| e.file == "cryptogen-User1@org1.example.com.pem")
        .unwrap();
    assert!(
        e.plain
            .starts_with("x509::CN=User1@org1.example.com,OU=client,")
    );
    // Text around the PEM block is ignored, as Go's pem.Decode does.
    let mut noisy = b"Bag Attributes\n".to_vec();
    noisy.extend_from_slice(&pem);
    assert_eq!(client_id(&noisy).unwrap(), e.id);
}
