#!/usr/bin/env python3
"""collections/gen.py CHAIN.json [--block-to-live N] [--required-peer-count N]
                              [--max-peer-count N] [--member-only-read true|false]

Print a collections config (fabric-samples' JSON format, for `peer lifecycle chaincode
approveformyorg/commit --collections-config`) with one collection per hop SP of a chain spec
(the JSON that `sfcbc chain create --file` takes): `<chain>_<spMsp>`, members = that SP's
org only, endorsed by that SP's peers only (so a ShareAuth/ShareEndpoints write is endorsed by
the SP alone, like an implicit collection), written by the chain owner (memberOnlyWrite false:
the owner's org is no member), read by the SP (memberOnlyRead true).
Set a hop's "collection" to the printed name to use it; hops without one keep using the SP's
implicit collection `_implicit_org_<spMsp>`.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chain")
    ap.add_argument("--block-to-live", type=int, default=0)
    ap.add_argument("--required-peer-count", type=int, default=0)
    ap.add_argument("--max-peer-count", type=int, default=0)
    ap.add_argument("--member-only-read", choices=["true", "false"], default="true")
    a = ap.parse_args()
    with open(a.chain) as f:
        chain = json.load(f)
    out, seen = [], set()
    for hop in chain.get("hops", []):
        msp = hop.get("spMsp") or hop["psiid"].split(":")[0] + "MSP"
        name = hop.get("collection") or "%s_%s" % (chain["id"], msp)
        if name.startswith("_implicit_org_") or name in seen:
            continue
        seen.add(name)
        out.append({
            "name": name,
            "policy": "OR('%s.member')" % msp,
            "requiredPeerCount": a.required_peer_count,
            "maxPeerCount": a.max_peer_count,
            "blockToLive": a.block_to_live,
            "memberOnlyRead": a.member_only_read == "true",
            "memberOnlyWrite": False,
            "endorsementPolicy": {"signaturePolicy": "OR('%s.peer')" % msp},
        })
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
