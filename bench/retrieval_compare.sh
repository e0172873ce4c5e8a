#!/usr/bin/env bash
# Retrieval and chunking variants of the embedded default on the article question set, one
# `qa eval` run each, then side by side with `qa eval --compare`. Writes bench/eval/variants/.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
out=bench/eval/variants
mkdir -p "$out"
run() {
  local name=$1; shift
  qa eval tests/questions/article.jsonl --corpus corpus --data-dir "/tmp/qa-variant-$name" \
    --no-judge --no-progress --report "$out/$name" "$@" > /dev/null
}
run vector-48                               # the default: vector, 48-token chunks
run vector-128 --set retrieval.chunk_size=128 --set retrieval.chunk_overlap=16
run bm25-48 --set retrieval.mode=bm25
run hybrid-48 --set retrieval.mode=hybrid
qa eval --compare "$out"/vector-48 "$out"/vector-128 "$out"/bm25-48 \
  "$out"/hybrid-48 | tee "$out/compare.txt"
