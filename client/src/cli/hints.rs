//! What to do about an error from a real peer. Fabric's messages are precise but terse ("no
//! peers available to evaluate chaincode sfc in channel sfc-chain1"); the CLI prints them
//! unchanged and adds a `hint:` line per message it recognises, naming the chaincode, channel,
//! org and endpoint involved (from the message itself when it says, else from the gateway the
//! command connected to, which [`remember`] records).

use std::sync::Mutex;

use sfcbc_client::{Error as ClientError, GatewayError};

/// Where the failing request went: filled in by the CLI when it connects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The profile's name of the gateway org (e.g. `Org1`).
    pub org: Option<String>,
    /// The gateway peer's endpoint.
    pub endpoint: Option<String>,
    /// The channel used.
    pub channel: Option<String>,
    /// The chaincode used.
    pub chaincode: Option<String>,
}

static LAST: Mutex<Option<Target>> = Mutex::new(None);

/// Records (merges) where requests go, for the hints of a later error.
pub fn remember(update: Target) {
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    let t = last.get_or_insert_with(Target::default);
    if update.org.is_some() {
        t.org = update.org;
    }
    if update.endpoint.is_some() {
        t.endpoint = update.endpoint;
    }
    if update.channel.is_some() {
        t.channel = update.channel;
    }
    if update.chaincode.is_some() {
        t.chaincode = update.chaincode;
    }
}

fn remembered() -> Target {
    LAST.lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

/// Hints for `e` (empty when nothing is recognised).
pub fn hints(e: &anyhow::Error) -> Vec<String> {
    let text = e
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let gw = e
        .chain()
        .find_map(|c| match c.downcast_ref::<ClientError>() {
            Some(ClientError::Gateway(g)) => Some(g.as_ref()),
            _ => c.downcast_ref::<GatewayError>(),
        });
    let mut target = remembered();
    let mut code = None;
    if let Some(g) = gw {
        code = Some(g.code);
        target.endpoint = Some(g.endpoint.clone());
    }
    hints_for(&text, code, &target)
}

/// The hint mapping itself: `text` is the whole error (every cause), `code` the gRPC status
/// code when the error is a gateway call's.
pub fn hints_for(text: &str, code: Option<tonic::Code>, target: &Target) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_owned());
    let mut out = Vec::new();

    if let Some(at) = lower.find("no peers available to evaluate chaincode ") {
        let rest = &text[at + "no peers available to evaluate chaincode ".len()..];
        let cc = word(rest).unwrap_or_else(|| or(&target.chaincode, "the chaincode"));
        let ch = after(rest, "in channel ").unwrap_or_else(|| or(&target.channel, "the channel"));
        if SYSTEM_CHAINCODES.contains(&cc.as_str()) {
            // Every peer has these on every channel it joined: the channel is the problem.
            let org = or(&target.org, "the gateway org");
            out.push(format!(
                "channel {ch} does not exist, or {org}'s peer has not joined it ({cc} is a \
                 system chaincode on every joined channel): check the name (`sfcbc devnet \
                 status` lists a devnet's channels), or pick another gateway with --gateway ORG"
            ));
        } else {
            out.push(format!(
                "chaincode {cc} is not committed on channel {ch} (deploy it: \
                 network/fabric/deploy.sh or `sfcbc devnet chaincode commit`)"
            ));
        }
    }

    if lower.contains("failed to get config for channel")
        || lower.contains("channel not found")
        || lower.contains("no such channel")
        || lower.contains("cannot find channel")
        || lower.contains("channel does not exist")
        || lower.contains("channel doesn't exist")
        || (lower.contains("channel '") && lower.contains("' not found"))
    {
        let ch = after(text, "failed to get config for channel ")
            .or_else(|| after(text, "channel '"))
            .or_else(|| after(text, "channel does not exist: "))
            .or_else(|| target.channel.clone())
            .map_or_else(|| "the channel".to_owned(), |c| format!("channel {c}"));
        let org = or(&target.org, "the gateway org");
        out.push(format!(
            "{org}'s peer has not joined {ch} (on Fabric: `peer channel join` or the \
             network/fabric/ scripts; on devnet, `sfcbc devnet channel create NAME --orgs ...` \
             makes a channel its orgs' peers join; or pick another channel with --channel / \
             another gateway with --gateway ORG)"
        ));
    }

    if lower.contains("no combination of peers can be derived which satisfy the endorsement policy")
    {
        let cc = or(&target.chaincode, "the chaincode");
        let ch = or(&target.channel, "the channel");
        out.push(format!(
            "the endorsement policy of {cc} on {ch} cannot be met by the peers the gateway \
             discovered: check the policy the chaincode was committed with (`peer lifecycle \
             chaincode querycommitted -C {ch} -n {cc}`) and that every org it names is a \
             member of {ch} with a running peer that joined it (and anchor peers set, so the \
             gateway can discover the other orgs' peers)"
        ));
    }

    let unreachable = matches!(
        code,
        Some(tonic::Code::DeadlineExceeded | tonic::Code::Unavailable)
    ) || lower.contains("deadlineexceeded")
        || lower.contains("deadline exceeded")
        || lower.contains("unavailable")
        || lower.contains("connection refused")
        || lower.contains("cannot connect to the gateway");
    if unreachable && out.is_empty() && lower.contains("fabric ca at ") {
        let ca = after(text, "fabric ca at ").unwrap_or_else(|| "--ca-url".to_owned());
        out.push(format!(
            "is the Fabric CA at {ca} running? (check --ca-url: https:// with --tls-ca when \
             the CA serves TLS)"
        ));
    }
    if unreachable && out.is_empty() {
        let ep = target
            .endpoint
            .clone()
            .or_else(|| after(text, "gateway at "))
            .unwrap_or_else(|| "the gateway endpoint".to_owned());
        out.push(format!(
            "is the peer at {ep} running? (check the profile's peer endpoint and TLS CA; \
             `sfcbc devnet status` on devnet)"
        ));
    }
    out
}

/// Fabric's system chaincodes, present on every channel a peer joined.
const SYSTEM_CHAINCODES: [&str; 4] = ["qscc", "cscc", "lscc", "_lifecycle"];

/// The first word of `s` (up to whitespace, quote, comma or colon).
fn word(s: &str) -> Option<String> {
    let w: String = s
        .trim_start_matches(['\'', '"', '[', ' '])
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | ',' | ':' | ']' | ';'))
        .collect();
    (!w.is_empty()).then_some(w)
}

/// The word after the first `mark` in `s` (case-insensitive).
fn after(s: &str, mark: &str) -> Option<String> {
    let at = s.to_ascii_lowercase().find(&mark.to_ascii_lowercase())?;
    word(&s[at + mark.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Target {
        Target {
            org: Some("Org2".into()),
            endpoint: Some("127.0.0.1:7151".into()),
            channel: Some("sfc-chain1".into()),
            chaincode: Some("sfc".into()),
        }
    }

    #[test]
    fn chaincode_not_committed() {
        let h = hints_for(
            "evaluate error from 127.0.0.1:7051: Unavailable: no peers available to evaluate \
             chaincode mycc in channel mych",
            Some(tonic::Code::Unavailable),
            &t(),
        );
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].starts_with("chaincode mycc is not committed on channel mych (deploy it:"),
            "{h:?}"
        );
        assert!(h[0].contains("sfcbc devnet chaincode commit"));
    }

    #[test]
    fn channel_not_joined() {
        let h = hints_for(
            "evaluate error from x: Unavailable: failed to get config for channel sfc-chain9",
            None,
            &t(),
        );
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].starts_with("Org2's peer has not joined channel sfc-chain9"),
            "{h:?}"
        );
        let h = hints_for("channel 'other' not found", None, &t());
        assert!(h[0].starts_with("Org2's peer has not joined channel other"));
        let h = hints_for("Unavailable: channel does not exist: sfc-x", None, &t());
        assert!(
            h[0].starts_with("Org2's peer has not joined channel sfc-x"),
            "{h:?}"
        );
        let h = hints_for("channel not found", None, &Target::default());
        assert!(
            h[0].starts_with("the gateway org's peer has not joined the channel ("),
            "{h:?}"
        );
        assert!(
            !h[0].contains("devnet channel join"),
            "no such command: {h:?}"
        );
    }

    #[test]
    fn a_system_chaincode_missing_means_no_such_channel() {
        let h = hints_for(
            "evaluate error: Unavailable: no peers available to evaluate chaincode qscc in \
             channel nochannel",
            Some(tonic::Code::Unavailable),
            &t(),
        );
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].starts_with("channel nochannel does not exist, or Org2's peer has not joined it"),
            "{h:?}"
        );
    }

    #[test]
    fn an_unreachable_ca_is_named() {
        let h = hints_for(
            "enroll a at http://127.0.0.1:1\ncannot reach the Fabric CA at \
             http://127.0.0.1:1/api/v1/enroll: tcp connect error: Connection refused",
            None,
            &Target::default(),
        );
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].starts_with("is the Fabric CA at http"), "{h:?}");
    }

    #[test]
    fn endorsement_policy() {
        let h = hints_for(
            "endorse error from p: Unavailable: no combination of peers can be derived which \
             satisfy the endorsement policy: required chaincodes [sfc] are not installed",
            Some(tonic::Code::Unavailable),
            &t(),
        );
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].contains("endorsement policy of sfc on sfc-chain1"),
            "{h:?}"
        );
        assert!(h[0].contains("member of sfc-chain1"));
    }

    #[test]
    fn peer_down() {
        let h = hints_for(
            "evaluate error: DeadlineExceeded: no answer",
            Some(tonic::Code::DeadlineExceeded),
            &t(),
        );
        assert_eq!(h.len(), 1);
        assert!(h[0].starts_with("is the peer at 127.0.0.1:7151 running?"));
        let h = hints_for(
            "cannot connect to Org1's peer: transport error: Connection refused",
            None,
            &Target::default(),
        );
        assert!(h[0].starts_with("is the peer at the gateway endpoint running?"));
        let h = hints_for("x", Some(tonic::Code::Unavailable), &t());
        assert!(h[0].contains("127.0.0.1:7151"));
    }

    #[test]
    fn nothing_recognised() {
        assert!(hints_for("chaincode response 404, chain x does not exist", None, &t()).is_empty());
        assert!(hints_for("", Some(tonic::Code::Aborted), &t()).is_empty());
    }

    #[test]
    fn remember_merges() {
        remember(Target {
            org: Some("Org1".into()),
            ..Target::default()
        });
        remember(Target {
            channel: Some("c".into()),
            ..Target::default()
        });
        let r = remembered();
        assert_eq!(r.org.as_deref(), Some("Org1"));
        assert_eq!(r.channel.as_deref(), Some("c"));
    }
}
