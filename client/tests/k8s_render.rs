//! `sfcbc_client::k8s::render_chain`: the SF manifests of a chain, checked object by object,
//! and the committed `network/k8s/overlays/chain1/sf.yaml` checked to be exactly what the
//! renderer makes of `network/k8s/overlays/chain1/chain.json` (`SFCBC_K8S_BLESS=1` rewrites it).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;
use sfcbc_chaincode::types::{Chain, ChainSpec, ChainState, Hop, Owner, Validation};
use sfcbc_client::k8s::{
    RenderError, RenderOptions, Rendered, chain_from_spec, dns_label, is_dns_label, render_chain,
};
use sfcbc_client::sf::config::SfConfig;
use sfcbc_client::sf::function::FunctionConfig;

fn overlay() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../network/k8s/overlays/chain1")
}

fn chain_of(spec: ChainSpec) -> Chain {
    Chain {
        id: spec.id,
        owner: Owner {
            msp: "Tenant1MSP".into(),
            id: "eDUwOTo6Q049VXNlcjE=".into(),
        },
        version: 1,
        state: ChainState::Active,
        hops: spec.hops,
        classifier: spec.classifier,
        created_tx: "tx1".into(),
        updated_tx: "tx1".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn chain1() -> Chain {
    let text = std::fs::read_to_string(overlay().join("chain.json")).expect("chain.json");
    let spec: ChainSpec = serde_json::from_str(&text).expect("chain.json is a ChainSpec");
    // Offline (from the spec) and from the ledger's record render the same.
    let offline = chain_from_spec(spec.clone());
    let ledger = chain_of(spec);
    let opts = RenderOptions::default();
    assert_eq!(
        render_chain(&offline, &opts).unwrap(),
        render_chain(&ledger, &opts).unwrap()
    );
    ledger
}

fn hop(psiid: &str, address: &str, validation: Validation) -> Hop {
    let sp = psiid.split(':').next().unwrap();
    Hop {
        psiid: psiid.into(),
        sp_msp: format!("{sp}MSP"),
        address: address.into(),
        validation,
        collection: None,
    }
}

/// The paper's demo chain as `sfcbc demo` registers it on loopback.
fn demo_chain() -> Chain {
    chain_of(ChainSpec {
        id: "chain1".into(),
        hops: vec![
            hop("Org1:NameWriter:1", "127.0.0.2:9001", Validation::Address),
            hop("Org2:NameWriter:1", "127.0.0.3:9001", Validation::Hash),
            hop(
                "Org3:NameWriter:1",
                "127.0.0.4:9001",
                Validation::HashAddress,
            ),
        ],
        classifier: Some("127.0.0.10:9000".into()),
    })
}

fn of_kind<'a>(r: &'a Rendered, kind: &str) -> Vec<&'a Value> {
    r.objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn committed_chain1_overlay_is_what_the_renderer_makes() {
    let yaml = render_chain(&chain1(), &RenderOptions::default())
        .expect("render")
        .to_yaml()
        .expect("yaml");
    let path = overlay().join("sf.yaml");
    if std::env::var_os("SFCBC_K8S_BLESS").is_some() {
        std::fs::write(&path, &yaml).expect("write sf.yaml");
    }
    let committed = std::fs::read_to_string(&path).expect("sf.yaml");
    assert_eq!(
        committed, yaml,
        "network/k8s/overlays/chain1/sf.yaml is stale: run SFCBC_K8S_BLESS=1 cargo test -p sfcbc-client --test k8s_render"
    );
}

#[test]
fn every_object_is_well_formed_and_deterministic() {
    let r = render_chain(&chain1(), &RenderOptions::default()).unwrap();
    assert_eq!(
        r.objects.len(),
        12,
        "ConfigMap, Service, Deployment, NetworkPolicy per hop"
    );
    let mut seen = BTreeSet::new();
    for o in &r.objects {
        let kind = s(&o["kind"]);
        let name = s(&o["metadata"]["name"]);
        let ns = s(&o["metadata"]["namespace"]);
        assert!(o["apiVersion"].is_string(), "{kind}/{name}: apiVersion");
        assert!(is_dns_label(ns), "{kind}/{name}: namespace {ns}");
        assert!(
            name.len() <= 63 && is_dns_label(name) || kind == "ConfigMap",
            "{name}"
        );
        assert!(
            seen.insert((kind.to_string(), ns.to_string(), name.to_string())),
            "duplicate {kind} {ns}/{name}"
        );
    }
    let namespaces: BTreeSet<&str> = r
        .objects
        .iter()
        .map(|o| s(&o["metadata"]["namespace"]))
        .collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["org1", "org2", "org3"]),
        "a namespace per SP org"
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // Same input, same bytes; and the YAML parses back to the same objects.
    let yaml = r.to_yaml().unwrap();
    assert_eq!(
        yaml,
        render_chain(&chain1(), &RenderOptions::default())
            .unwrap()
            .to_yaml()
            .unwrap()
    );
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| Value::deserialize(d).expect("a YAML document"))
        .collect();
    assert_eq!(docs, r.objects);
}

#[test]
fn configmaps_hold_sf_configs_the_runtime_accepts() {
    let chain = chain1();
    let r = render_chain(&chain, &RenderOptions::default()).unwrap();
    let cms = of_kind(&r, "ConfigMap");
    assert_eq!(cms.len(), 3);
    for (i, cm) in cms.iter().enumerate() {
        let hop = &chain.hops[i];
        let config =
            SfConfig::from_toml(s(&cm["data"]["sf.toml"])).expect("the SF runtime parses it");
        assert_eq!(config.hops.len(), 1);
        assert_eq!(
            (config.hops[0].chain.as_str(), config.hops[0].psiid.as_str()),
            ("chain1", hop.psiid.as_str())
        );
        assert_eq!(config.listen.unwrap().to_string(), "0.0.0.0:9001");
        assert_eq!(config.metrics.unwrap().to_string(), "0.0.0.0:9101");
        assert_eq!(config.function, FunctionConfig::NameWriter);
        let gw = config.gateway.expect("gateway");
        assert_eq!(gw.msp_id, hop.sp_msp);
        assert_eq!(gw.msp_dir.to_str(), Some("/etc/sfcbc/msp"));
        assert_eq!(gw.channel, "sfc-chain1");
        assert_eq!(gw.chaincode, "sfc");
        assert_eq!(gw.tls_ca.unwrap().to_str(), Some("/etc/sfcbc/tls/ca.crt"));
        let org = format!("org{}", i + 1);
        assert_eq!(gw.endpoint, format!("peer0.{org}.example.com:7051"));
        assert_eq!(
            config.records.spool.unwrap().to_str(),
            Some("/var/lib/sfcbc/spool.jsonl")
        );
    }
}

#[test]
fn addresses_become_services_and_deployments_mount_their_config() {
    let chain = chain1();
    let r = render_chain(&chain, &RenderOptions::default()).unwrap();
    let services = of_kind(&r, "Service");
    let deployments = of_kind(&r, "Deployment");
    for (i, hop) in chain.hops.iter().enumerate() {
        // `sf-chain1-org1-namewriter-1.org1.svc.cluster.local:9001`
        let (host, port) = hop.address.rsplit_once(':').unwrap();
        let mut parts = host.split('.');
        let (name, ns) = (parts.next().unwrap(), parts.next().unwrap());
        let svc = services[i];
        assert_eq!(
            (
                s(&svc["metadata"]["name"]),
                s(&svc["metadata"]["namespace"])
            ),
            (name, ns)
        );
        let ports = svc["spec"]["ports"].as_array().unwrap();
        assert_eq!(ports[0]["protocol"], "UDP");
        assert_eq!(ports[0]["port"].to_string(), port);
        assert_eq!(svc["spec"]["selector"]["app.kubernetes.io/instance"], name);
        assert_eq!(
            r.addresses()[&hop.psiid],
            hop.address,
            "already in-cluster: nothing to re-register"
        );

        let d = deployments[i];
        assert_eq!(s(&d["metadata"]["name"]), name);
        assert_eq!(d["spec"]["replicas"], 1);
        let pod = &d["spec"]["template"];
        assert_eq!(
            pod["metadata"]["labels"]["app.kubernetes.io/instance"],
            name
        );
        let spec = &pod["spec"];
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        let c = &spec["containers"][0];
        assert_eq!(
            c["args"],
            serde_json::json!(["sf", "run", "--config", "/etc/sfcbc/config/sf.toml"])
        );
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
        let volumes = spec["volumes"].as_array().unwrap();
        let cm = volumes.iter().find(|v| v["name"] == "config").unwrap();
        assert_eq!(cm["configMap"]["name"], format!("{name}-config"));
        let msp = volumes.iter().find(|v| v["name"] == "msp").unwrap();
        assert_eq!(msp["secret"]["secretName"], format!("sfcbc-msp-{ns}"));
        let paths: Vec<&str> = msp["secret"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| s(&i["path"]))
            .collect();
        assert_eq!(
            paths,
            ["signcerts/cert.pem", "keystore/key.pem", "cacerts/ca.pem"],
            "Fabric's MSP layout"
        );
    }
}

#[test]
fn network_policies_admit_only_the_previous_hop() {
    let r = render_chain(&chain1(), &RenderOptions::default()).unwrap();
    let pols = of_kind(&r, "NetworkPolicy");
    assert_eq!(pols.len(), 3);
    let expected_from = [
        ("manager", "app.kubernetes.io/name", "classifier"),
        (
            "org1",
            "app.kubernetes.io/instance",
            "sf-chain1-org1-namewriter-1",
        ),
        (
            "org2",
            "app.kubernetes.io/instance",
            "sf-chain1-org2-namewriter-1",
        ),
    ];
    for (i, p) in pols.iter().enumerate() {
        let spec = &p["spec"];
        assert_eq!(
            spec["podSelector"]["matchLabels"]["app.kubernetes.io/instance"],
            p["metadata"]["name"]
        );
        assert_eq!(
            spec["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        let ingress = spec["ingress"].as_array().unwrap();
        assert_eq!(ingress.len(), 2);
        // Rule 1: UDP datagrams, from exactly one peer set.
        let from = ingress[0]["from"].as_array().unwrap();
        assert_eq!(from.len(), 1, "one source only");
        let (ns, key, value) = expected_from[i];
        assert_eq!(
            from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            ns
        );
        assert_eq!(from[0]["podSelector"]["matchLabels"][key], value);
        assert_eq!(
            ingress[0]["ports"],
            serde_json::json!([{ "protocol": "UDP", "port": 9001 }])
        );
        // Rule 2: metrics, TCP, from monitoring only.
        assert_eq!(
            ingress[1]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "monitoring"
        );
        assert_eq!(
            ingress[1]["ports"],
            serde_json::json!([{ "protocol": "TCP", "port": 9101 }])
        );
        // Egress: DNS, the gateway, then the next hop (or, for the last, UDP anywhere).
        let egress = spec["egress"].as_array().unwrap();
        assert_eq!(egress.len(), 3);
        assert_eq!(
            egress[1]["ports"],
            serde_json::json!([{ "protocol": "TCP", "port": 7051 }])
        );
        if i < 2 {
            let next = format!("sf-chain1-org{}-namewriter-1", i + 2);
            assert_eq!(
                egress[2]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"],
                next.as_str()
            );
            assert_eq!(
                egress[2]["ports"],
                serde_json::json!([{ "protocol": "UDP", "port": 9001 }])
            );
        } else {
            assert!(egress[2].get("to").is_none());
        }
    }
}

#[test]
fn loopback_demo_chain_gets_service_names_and_warnings() {
    let r = render_chain(&demo_chain(), &RenderOptions::default()).unwrap();
    let addrs = r.addresses();
    assert_eq!(
        addrs["Org1:NameWriter:1"],
        "sf-chain1-org1-namewriter-1.org1.svc.cluster.local:9001"
    );
    assert_eq!(
        addrs["Org3:NameWriter:1"],
        "sf-chain1-org3-namewriter-1.org3.svc.cluster.local:9001"
    );
    assert_eq!(r.hops[1].registered_address, "127.0.0.3:9001");
    let re_register = r
        .warnings
        .iter()
        .filter(|w| w.contains("is not an in-cluster Service"))
        .count();
    assert_eq!(re_register, 3);
    let by_address: Vec<&String> = r.warnings.iter().filter(|w| w.contains("pod IP")).collect();
    assert_eq!(
        by_address.len(),
        2,
        "hops 1 and 3 validate by address: {by_address:?}"
    );
    assert!(
        r.to_yaml()
            .unwrap()
            .contains("# note: hop Org1:NameWriter:1 validates by address")
    );
}

#[test]
fn options_choose_namespaces_gateways_channel_and_functions() {
    let mut opts = RenderOptions {
        image: "registry.example/sfcbc:1".into(),
        channel: Some("mychannel".into()),
        tls: false,
        destination_cidr: Some("203.0.113.0/24".into()),
        ..RenderOptions::default()
    };
    opts.namespaces.insert("Org2MSP".into(), "sp-two".into());
    opts.gateways
        .insert("Org1MSP".into(), "peer0-org1.fabric:47030".into());
    opts.functions
        .insert("Org3:NameWriter:1".into(), FunctionConfig::Pass);
    let r = render_chain(&demo_chain(), &opts).unwrap();
    assert_eq!(r.hops[1].namespace, "sp-two");
    let cms = of_kind(&r, "ConfigMap");
    let c1 = SfConfig::from_toml(s(&cms[0]["data"]["sf.toml"])).unwrap();
    let gw = c1.gateway.unwrap();
    assert_eq!(gw.endpoint, "peer0-org1.fabric:47030");
    assert_eq!(gw.channel, "mychannel");
    assert_eq!(gw.tls_ca, None);
    let c3 = SfConfig::from_toml(s(&cms[2]["data"]["sf.toml"])).unwrap();
    assert_eq!(c3.function, FunctionConfig::Pass);
    let d = of_kind(&r, "Deployment")[0];
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/sfcbc:1"
    );
    assert!(
        !d["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "tls"),
        "no TLS CA mounted without TLS"
    );
    // Hop 2 admits from hop 1 in org1; hop 3 from hop 2 in sp-two.
    let pols = of_kind(&r, "NetworkPolicy");
    // Egress to each org's own gateway port.
    assert_eq!(pols[0]["spec"]["egress"][1]["ports"][0]["port"], 47030);
    assert_eq!(pols[1]["spec"]["egress"][1]["ports"][0]["port"], 7051);
    assert_eq!(
        pols[2]["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "sp-two"
    );
    assert_eq!(
        pols[2]["spec"]["egress"][2]["to"][0]["ipBlock"]["cidr"],
        "203.0.113.0/24"
    );
}

#[test]
fn bad_chains_are_refused_with_the_reason() {
    let mut c = demo_chain();
    c.hops.clear();
    assert_eq!(
        render_chain(&c, &RenderOptions::default()),
        Err(RenderError::NoHops("chain1".into()))
    );

    for bad in ["127.0.0.2", "host:0", "host:99999", ":9001", "a/b:1"] {
        let mut c = demo_chain();
        c.hops[1].address = bad.into();
        assert!(
            matches!(
                render_chain(&c, &RenderOptions::default()),
                Err(RenderError::BadAddress { .. })
            ),
            "{bad}"
        );
    }

    let mut c = demo_chain();
    c.hops[2].address = c.hops[0].address.replace("127.0.0.2", "sf-x.org1");
    c.hops[0].address = "sf-x.org1:9001".into();
    assert!(matches!(
        render_chain(&c, &RenderOptions::default()),
        Err(RenderError::Collision { .. })
    ));

    let mut opts = RenderOptions::default();
    opts.namespaces.insert("Org1MSP".into(), "Org_1".into());
    assert!(matches!(
        render_chain(&demo_chain(), &opts),
        Err(RenderError::BadName {
            what: "namespace",
            ..
        })
    ));
}

#[test]
fn long_names_are_shortened_uniquely() {
    let a = dns_label(&format!("sf-{}-Org1:NameWriter:1", "c".repeat(80)), 63);
    let b = dns_label(&format!("sf-{}-Org1:NameWriter:2", "c".repeat(80)), 63);
    assert!(is_dns_label(&a) && is_dns_label(&b), "{a} {b}");
    assert_ne!(a, b);
    assert_eq!(dns_label("Org1:NameWriter:1", 63), "org1-namewriter-1");
    assert_eq!(dns_label("--A__b--", 63), "a-b");
}

#[test]
fn options_a_user_types_are_checked() {
    let with = |f: &dyn Fn(&mut RenderOptions)| {
        let mut o = RenderOptions::default();
        f(&mut o);
        render_chain(&chain1(), &o)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(with(&|o| o.destination_cidr = Some("10.0.0.0/8".into())).is_ok());
    assert!(with(&|o| o.destination_cidr = Some("fd00::/64".into())).is_ok());
    assert!(with(&|o| o.destination_cidr = Some("192.0.2.7".into())).is_ok());
    for (f, says) in [
        (
            Box::new(|o: &mut RenderOptions| o.destination_cidr = Some("garbage".into()))
                as Box<dyn Fn(&mut RenderOptions)>,
            "--destination-cidr",
        ),
        (
            Box::new(|o: &mut RenderOptions| o.destination_cidr = Some("10.0.0.0/33".into())),
            "--destination-cidr",
        ),
        (
            Box::new(|o: &mut RenderOptions| o.image = String::new()),
            "--image",
        ),
        (
            Box::new(|o: &mut RenderOptions| {
                o.gateways.insert("Org1MSP".into(), "nohostport".into());
            }),
            "gateway",
        ),
    ] {
        let e = with(&*f).expect_err(says);
        assert!(e.contains(says), "{e}");
    }
}
