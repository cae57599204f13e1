//! The committed `network/k8s/` files agree with the code that reads them: the classifier's
//! TOML parses as `sfcbc classifier run` parses it and listens where the chain registers it,
//! the chaincode server's variables are the ones `sfcbc-ccaas serve` reads, every namespace
//! that runs an SF gets its MSP Secret, and no key material is committed.
//! (`network/k8s/validate.sh` builds and schema-checks the same files with kubectl.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sfcbc_chaincode::types::ChainSpec;
use sfcbc_client::classifier::ClassifierConfig;

fn k8s() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../network/k8s")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn chain1() -> ChainSpec {
    serde_json::from_str(&read(&k8s().join("overlays/chain1/chain.json"))).unwrap()
}

#[test]
fn classifier_config_parses_and_matches_the_chain() {
    let text = read(&k8s().join("overlays/chain1/classifier.toml"));
    let config = ClassifierConfig::from_toml(&text).expect("the classifier parses it");
    assert_eq!(config.listen[0].to_string(), "0.0.0.0:9000");
    assert_eq!(config.metrics.unwrap().to_string(), "0.0.0.0:9101");
    assert!(config.rules.iter().any(|r| r.chain == "chain1"));
    let gw = config.gateway.expect("gateway");
    assert_eq!(gw.msp_id, "ManagerMSP");
    assert_eq!(gw.msp_dir.to_str(), Some("/etc/sfcbc/msp"));
    // The chain registers the classifier's Service at its listen port.
    let spec = chain1();
    assert_eq!(
        spec.classifier.as_deref(),
        Some("classifier.manager.svc.cluster.local:9000")
    );
    let svc = read(&k8s().join("base/classifier/service.yaml"));
    assert!(svc.contains("name: classifier") && svc.contains("port: 9000"));
    let dep = read(&k8s().join("base/classifier/deployment.yaml"));
    assert!(dep.contains("\"--config\", \"/etc/sfcbc/config/classifier.toml\""));
}

#[test]
fn ccaas_env_names_the_servers_variables() {
    let env = read(&k8s().join("overlays/chain1/ccaas.env"));
    let names: BTreeSet<&str> = env
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_once('=').expect("NAME=value").0)
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "CHAINCODE_ID",
            "CHAINCODE_SERVER_ADDRESS",
            "CHAINCODE_TLS_DISABLED",
            "SFCBC_MANAGER_MSP"
        ])
    );
    // ... as `sfcbc-ccaas serve` declares them (clap `env = "..."`).
    let main = read(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ccaas/src/main.rs"));
    for name in &names {
        assert!(
            main.contains(&format!("env = \"{name}\"")),
            "sfcbc-ccaas reads no {name}"
        );
    }
    // The server binds every interface of its pod, on the port its Service targets.
    assert!(env.contains("CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999"));
    assert!(read(&k8s().join("base/ccaas/service.yaml")).contains("port: 9999"));
}

#[test]
fn every_sf_namespace_gets_an_msp_secret_and_the_placeholders_hold_no_keys() {
    let kustomization = read(&k8s().join("overlays/chain1/kustomization.yaml"));
    let sf = read(&k8s().join("overlays/chain1/sf.yaml"));
    let namespaces: BTreeSet<String> = sf
        .lines()
        .filter_map(|l| l.strip_prefix("  namespace: "))
        .map(str::to_string)
        .collect();
    assert_eq!(namespaces.len(), 3);
    for ns in namespaces.iter().map(String::as_str).chain(["manager"]) {
        assert!(
            kustomization.contains(&format!("- name: sfcbc-msp-{ns}\n    namespace: {ns}\n")),
            "no Secret sfcbc-msp-{ns} generated in {ns}"
        );
        for f in ["signcert.pem", "key.pem", "cacert.pem", "tlsca.pem"] {
            let text = read(&k8s().join(format!("overlays/chain1/msp/{ns}/{f}")));
            assert!(text.starts_with("PLACEHOLDER"), "{ns}/{f}");
            assert!(!text.contains("-----BEGIN"), "{ns}/{f} holds PEM material");
        }
    }
    for ns in ["manager", "tenant1", "org1", "org2", "org3"] {
        assert!(kustomization.contains(&format!("  - ../../orgs/{ns}\n")));
        assert!(kustomization.contains(&format!("- name: sfcbc-ccaas\n    namespace: {ns}\n")));
    }
    assert!(kustomization.contains("  - sf.yaml\n"));
}

#[test]
fn classifier_and_rendered_sfs_select_each_other() {
    use sfcbc_client::k8s::{RenderOptions, chain_from_spec, render_chain};
    let yaml =
        |p: &str| -> serde_json::Value { serde_yaml::from_str(&read(&k8s().join(p))).unwrap() };
    let opts = RenderOptions::default();
    let r = render_chain(&chain_from_spec(chain1()), &opts).unwrap();

    // Hop 1 admits the classifier's pods in the classifier's namespace...
    let dep = yaml("base/classifier/deployment.yaml");
    let pod_labels = &dep["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        pod_labels["app.kubernetes.io/name"],
        opts.classifier_app.as_str()
    );
    assert!(
        read(&k8s().join("orgs/manager/kustomization.yaml"))
            .contains(&format!("namespace: {}\n", opts.classifier_namespace))
    );
    assert!(read(&k8s().join("orgs/manager/kustomization.yaml")).contains("../../base/classifier"));

    // ...and the classifier may send to the SFs' pods.
    let pol = yaml("base/classifier/networkpolicy.yaml");
    let to_sf = pol["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["to"].as_array().cloned().unwrap_or_default())
        .find_map(|t| {
            t["podSelector"]["matchLabels"]
                .as_object()
                .filter(|m| m.contains_key("sfcbc.io/role"))
                .cloned()
        })
        .expect("an egress rule to the SF pods");
    for d in r.objects.iter().filter(|o| o["kind"] == "Deployment") {
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        for (k, v) in &to_sf {
            assert_eq!(&labels[k], v, "SF pod label {k}");
        }
    }
}
