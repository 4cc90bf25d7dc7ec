#!/usr/bin/env bash
# Reads semrouter's /metrics text with an independent parser (the official
# Python client's, Debian python3-prometheus-client): every family parses with
# the right type, label escaping round-trips, histograms are cumulative with
# +Inf == _count, and values are what the C side recorded.
# The text comes from build/tests/test_metrics with METRICS_DUMP set.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
py=python3
for cand in /usr/bin/python3 python3; do
    if "$cand" -c 'import prometheus_client.parser' 2>/dev/null; then py=$cand; break; fi
done
if ! "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
    echo "SKIP metrics_reference_parser: python3-prometheus-client not installed"
    exit 0
fi
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
if ! METRICS_DUMP=$dump "$BUILD/tests/test_metrics" >/dev/null || [ ! -s "$dump" ]; then
    echo "FAIL metrics_reference_parser: $BUILD/tests/test_metrics wrote no exposition"
    exit 0
fi
"$py" - "$dump" <<'EOF'
import math, sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1], encoding="utf-8").read()
problems = []
try:
    fams = {f.name: f for f in text_string_to_metric_families(text)}
except Exception as e:  # the parser raises ValueError on malformed lines
    print("FAIL metrics_reference_parser: parse error: %s" % e)
    sys.exit(0)

def sample(fam, suffix, **labels):
    for s in fams[fam].samples:
        if s.name == fam + suffix and s.labels == labels:
            return s.value
    problems.append("no sample %s%s%s" % (fam, suffix, labels))
    return float("nan")

# The parser strips _total from counter family names.
want_types = {"llm_model_requests": "counter", "llm_model_ttft_seconds": "histogram",
              "llm_cache_entries_total": "gauge", "semrouter_inflight_requests": "gauge",
              "llm_category_classifications_count": "counter", "llm_model_cost": "counter",
              "semrouter_cache_backend_errors": "counter", "semrouter_cache_backend_healthy": "gauge"}
for name, t in want_types.items():
    if name not in fams:
        problems.append("family %s missing" % name)
    elif fams[name].type != t:
        problems.append("%s has type %s, want %s" % (name, fams[name].type, t))
if len(fams) != 43:
    problems.append("%d families, want 43" % len(fams))

checks = [
    (sample("llm_model_requests", "_total", model="llama-3.1-8b"), 41),
    (sample("llm_request_errors", "_total", model='we\\ird "model"\nname', reason="timeout"), 1),
    (sample("llm_pii_violations", "_total", model="caf\u00e9-model", pii_type="EMAIL_ADDRESS"), 1),
    # the client library names every counter sample NAME_total, even without the suffix
    (sample("llm_category_classifications_count", "_total", category="computer science"), 1),
    (sample("llm_cache_entries_total", "", backend="memory"), 1234),
    (sample("semrouter_inflight_requests", ""), -2.5),
    (sample("llm_model_tokens", "_total", model="qwen3"), 1250),
    (sample("llm_model_cost", "_total", model="qwen3", currency="USD"), 0.000375),
    (sample("llm_model_ttft_seconds", "_count", model="qwen3"), 100),
    (sample("llm_model_ttft_seconds", "_bucket", model="qwen3", le="0.1"), 44),
    (sample("llm_classifier_latency_seconds", "_bucket", classifier="category", le="60"), 0),
    (sample("llm_classifier_latency_seconds", "_sum", classifier="category"), 1e20),
    (sample("llm_model_tpot_seconds", "_sum", model="qwen3"), 1e-9),
]
ttft_sum = sum(0.00005 * (i + 1) * (i + 1) for i in range(100))
checks.append((sample("llm_model_ttft_seconds", "_sum", model="qwen3"), ttft_sum))
for got, want in checks:
    if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15):
        problems.append("value %r, want %r" % (got, want))

# every histogram: cumulative buckets, increasing le, +Inf == _count
for f in fams.values():
    if f.type != "histogram":
        continue
    series = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, d in series.items():
        les = [b[0] for b in d["buckets"]]
        vals = [b[1] for b in d["buckets"]]
        if les != sorted(les) or les[-1] != math.inf:
            problems.append("%s%s: le not increasing to +Inf" % (f.name, key))
        if vals != sorted(vals):
            problems.append("%s%s: buckets not cumulative" % (f.name, key))
        if vals[-1] != d["count"]:
            problems.append("%s%s: +Inf %s != _count %s" % (f.name, key, vals[-1], d["count"]))

if problems:
    print("FAIL metrics_reference_parser: " + "; ".join(problems[:8]))
else:
    print("PASS metrics_reference_parser")
EOF
