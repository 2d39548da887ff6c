#!/usr/bin/env python3
"""Convert `meshsim trace --format otlp` output (OTLP/JSON, one ExportTraceServiceRequest a
line) to OTLP/protobuf, for receivers that take only protobuf (Arize Phoenix answers 415 to
JSON), and optionally POST it.

    pip install opentelemetry-proto
    meshsim trace scenarios/checkout-sync.toml --slowest --format otlp > trace.json
    python3 scripts/otlp-to-protobuf.py trace.json -o trace.pb
    python3 scripts/otlp-to-protobuf.py trace.json --post http://127.0.0.1:6006/v1/traces

Why a conversion step: OTLP/JSON writes traceId, spanId and parentSpanId as hex (an OTLP
rule), while protobuf's generic JSON mapping (google.protobuf.json_format) reads bytes
fields as base64; the ids are re-encoded before a strict parse (unknown fields are errors,
so this also checks the file against the OTLP definitions).
"""
import argparse
import base64
import json
import sys
import urllib.request

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def hex_ids_to_base64(doc):
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for k in ("traceId", "spanId", "parentSpanId"):
                    if sp.get(k):
                        sp[k] = base64.b64encode(bytes.fromhex(sp[k])).decode()
                for ln in sp.get("links", []):
                    for k in ("traceId", "spanId"):
                        if ln.get(k):
                            ln[k] = base64.b64encode(bytes.fromhex(ln[k])).decode()
    return doc


def requests(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                req = ExportTraceServiceRequest()
                try:
                    json_format.Parse(json.dumps(hex_ids_to_base64(json.loads(line))), req)
                except (ValueError, json_format.ParseError) as e:
                    sys.exit(f"{path}:{n}: not an OTLP/JSON trace request: {e}")
                yield req


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="OTLP/JSON file (JSON Lines) from meshsim trace --format otlp")
    ap.add_argument("-o", "--output", help="write the protobuf bytes here (one request only)")
    ap.add_argument("--post", metavar="URL", help="POST each request as application/x-protobuf")
    args = ap.parse_args()
    if not args.output and not args.post:
        ap.error("give -o FILE, --post URL or both")
    reqs = list(requests(args.input))
    if args.output:
        if len(reqs) != 1:
            sys.exit(f"{args.input}: {len(reqs)} requests; -o writes exactly one")
        with open(args.output, "wb") as f:
            f.write(reqs[0].SerializeToString())
    for req in reqs if args.post else []:
        r = urllib.request.Request(args.post, data=req.SerializeToString(), method="POST",
                                   headers={"Content-Type": "application/x-protobuf"})
        with urllib.request.urlopen(r) as resp:
            spans = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
            print(f"{args.post}: {spans} spans -> HTTP {resp.status}")


if __name__ == "__main__":
    main()
