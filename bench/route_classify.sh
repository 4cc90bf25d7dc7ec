#!/usr/bin/env bash
# Category classifier: accuracy (conversational dev set; held-out MMLU split when
# ../shared is present), coverage per confidence threshold, the reasoning
# decision under config/config.yaml, and the latency of one classification
# (head + softmax, embedding excluded) with the embedding of the same texts as
# the anchor, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
scripts/fetch-model.sh
args=(-c config/config.yaml)
if [ -d ../shared/data/train/mmlu ]; then
    args+=(--mmlu ../shared/data/train/mmlu)
else
    echo "route_classify: ../shared is absent; MMLU held-out split skipped"
fi
"$BUILD"/route_eval "${args[@]}" data/route/conversational_dev.tsv
