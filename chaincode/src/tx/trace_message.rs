//! `TraceMessage(chain, sourceHash)` — evaluate, members: a message's path. Hop 1's record
//! whose input is the source hash, then the next hop's record whose input is that output, and
//! so on; where the trail ends, the errors that hop recorded for the hash.
//!
//! Records are stored per transaction (blind writes), so each hop's batches are scanned: cost
//! grows with the hop's record count. Where one input was recorded twice (a replay under a policy
//! without `hash`), the earliest record (timestamp, then key and position in its batch) is followed.

use super::{Ctx, TxInfo, TxKind, expect_args, parse_stored, to_json};
use crate::access;
use crate::error::Result;
use crate::keys;
use crate::types::{HopError, HopRecord, StoredRecords, Trace, TraceHop};
use crate::validate;

pub const INFO: TxInfo = TxInfo {
    name: "TraceMessage",
    kind: TxKind::Evaluate,
    params: &["chain", "sourceHash"],
    returns: "Trace",
};

pub async fn run(ctx: &Ctx<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>> {
    let args = expect_args(&INFO, args)?;
    validate::id("chain", args[0])?;
    validate::hash("sourceHash", args[1])?;

    let chain = ctx.load_chain(args[0]).await?;
    access::require_member(&chain, &ctx.caller, ctx.config)?;

    let mut trace = Trace {
        chain: chain.id.clone(),
        source_hash: args[1].to_owned(),
        hops: Vec::new(),
        complete: false,
        stopped_at: None,
        errors: Vec::new(),
    };
    let mut hash = args[1].to_owned();
    for hop in &chain.hops {
        let mut found: Option<HopRecord> = None;
        for kv in ctx
            .stub
            .get_state_by_partial_composite_key(keys::kind::RECORD, &[&chain.id, &hop.psiid])
            .await?
        {
            let stored: StoredRecords = parse_stored(&kv.key, &kv.value)?;
            for record in stored.into_records() {
                let earlier = found
                    .as_ref()
                    .is_none_or(|f| instant(&record.ts) < instant(&f.ts));
                if record.input_hash == hash && earlier {
                    found = Some(record);
                }
            }
        }
        let Some(record) = found else {
            for kv in ctx
                .stub
                .get_state_by_partial_composite_key(keys::kind::ERROR, &[&chain.id, &hop.psiid])
                .await?
            {
                let error: HopError = parse_stored(&kv.key, &kv.value)?;
                if error.input_hash == hash {
                    trace.errors.push(error);
                }
            }
            trace.stopped_at = Some(hop.psiid.clone());
            return to_json(&trace);
        };
        hash = record.output_hash.clone();
        trace.hops.push(TraceHop {
            psiid: record.psiid,
            input_hash: record.input_hash,
            output_hash: record.output_hash,
            seq: record.seq,
            ts: record.ts,
            tx_id: record.tx_id,
        });
    }
    trace.complete = true;
    to_json(&trace)
}

/// A record's timestamp as an instant: RFC 3339 strings with and without fractional seconds
/// do not sort as text.
fn instant(ts: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()
}
