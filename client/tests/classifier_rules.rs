//! The classifier steers flows to their chain's first hop by rule (payload prefix, source
//! prefix, destination port), from its registered address, which hop 1's `address`
//! validation accepts; counts per rule; unmatched datagrams and disabled chains are dropped.

#[path = "sf_support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use sfcbc_client::classifier::{Classifier, ClassifierConfig, Rule};
use sfcbc_client::sf::FunctionConfig;
use sfcbc_client::sf::function::stamps;
use support::*;
use tokio::net::UdpSocket;

fn rule(name: &str, chain: &str) -> Rule {
    Rule {
        name: name.into(),
        chain: chain.into(),
        source_prefix: None,
        dst_port: None,
        payload_prefix: None,
        payload_prefix_hex: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_steer_flows_to_their_chains() {
    let net = Net::new().await;
    let classifier = free_addr("127.0.0.9");
    let classifier_2 = free_addr("127.0.0.9");
    let src = free_addr("127.0.0.10");
    let dst_a = free_addr("127.0.0.11");
    let dst_b = free_addr("127.0.0.13");
    let a = [hop(0, 1, free_addr("127.0.0.2"), "address")];
    let b = [hop(1, 1, free_addr("127.0.0.3"), "hash+address")];
    net.create_chain("fa", &a, Some(classifier), src, dst_a, &[])
        .await;
    net.create_chain("fb", &b, Some(classifier), src, dst_b, &[])
        .await;
    let sink_a = UdpSocket::bind(dst_a).await.unwrap();
    let sink_b = UdpSocket::bind(dst_b).await.unwrap();
    let sf_a = net
        .start_sf(&[("fa", &a[0])], FunctionConfig::NameWriter, |_| {})
        .await;
    let sf_b = net
        .start_sf(&[("fb", &b[0])], FunctionConfig::NameWriter, |_| {})
        .await;

    let config = ClassifierConfig {
        listen: vec![classifier, classifier_2],
        rules: vec![
            Rule {
                payload_prefix: Some("VIDEO".into()),
                ..rule("video", "fa")
            },
            Rule {
                dst_port: Some(classifier_2.port()),
                ..rule("second-port", "fb")
            },
            Rule {
                source_prefix: Some("127.0.0.10/32".into()),
                payload_prefix_hex: Some("00ff".into()),
                ..rule("binary-from-source", "fb")
            },
        ],
        metrics: None,
        gateway: None,
    };
    let c = Classifier::start(config, Arc::new(net.manager.clone()))
        .await
        .expect("classifier starts");
    let source = UdpSocket::bind(src).await.unwrap();
    let stranger = UdpSocket::bind("127.0.0.12:0").await.unwrap();

    source.send_to(b"VIDEO frame 1", classifier).await.unwrap();
    let (got, _) = recv_within(&sink_a, Duration::from_secs(5))
        .await
        .expect("video → fa");
    assert!(got.starts_with(b"VIDEO frame 1"));
    assert_eq!(stamps(&got)[0].0, a[0].psiid);

    source.send_to(b"anything", classifier_2).await.unwrap();
    let (got, _) = recv_within(&sink_b, Duration::from_secs(5))
        .await
        .expect("port → fb");
    assert!(got.starts_with(b"anything"));

    source
        .send_to(&[0x00, 0xff, 1, 2], classifier)
        .await
        .unwrap();
    let (got, _) = recv_within(&sink_b, Duration::from_secs(5))
        .await
        .expect("binary → fb");
    assert!(got.starts_with(&[0x00, 0xff, 1, 2]));

    // the binary rule is for the source's prefix only; nothing else matches
    stranger
        .send_to(&[0x00, 0xff, 3], classifier)
        .await
        .unwrap();
    source.send_to(b"unclassified", classifier).await.unwrap();
    assert!(
        recv_within(&sink_a, Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(
        recv_within(&sink_b, Duration::from_millis(10))
            .await
            .is_none()
    );

    let counts = c.counts();
    assert_eq!(counts["video"], 1);
    assert_eq!(counts["second-port"], 1);
    assert_eq!(counts["binary-from-source"], 1);
    assert_eq!(counts["unmatched"], 2);

    // a disabled chain gets nothing more
    net.owner
        .submit("DisableChain", &["fa"], &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    source.send_to(b"VIDEO frame 2", classifier).await.unwrap();
    assert!(
        recv_within(&sink_a, Duration::from_millis(300))
            .await
            .is_none()
    );
    assert_eq!(c.metrics().dropped_count("disabled"), 1);
    assert_eq!(c.counts()["video"], 2);

    c.shutdown().await;
    sf_a.shutdown().await;
    sf_b.shutdown().await;
}

#[test]
fn config_from_toml() {
    let c = ClassifierConfig::from_toml(
        r#"
listen = ["127.0.0.9:9000"]
[[rules]]
name = "video"
chain = "chain1"
payload_prefix = "VIDEO"
source_prefix = "10.0.0.0/8"
dst_port = 9000
"#,
    )
    .unwrap();
    assert_eq!(c.rules[0].dst_port, Some(9000));
    assert!(
        ClassifierConfig::from_toml("listen = [\"127.0.0.9:9000\"]\n[[rules]]\nname=\"r\"\nchain=\"c\"\nsource_prefix=\"1.2.3.4/40\"")
            .is_err()
    );
    let e = ClassifierConfig::from_toml(
        "listen = [\"127.0.0.9:9000\", \"127.0.0.9:9000\"]\n[[rules]]\nname=\"r\"\nchain=\"c\"",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("twice"), "{e}");
    let e = ClassifierConfig::from_toml(
        "listen = [\"127.0.0.9:9000\"]\n[[rules]]\nname=\"r\"\nchain=\"c\"\n[[rules]]\nname=\"r\"\nchain=\"d\"",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("two rules are named \"r\""), "{e}");
}
