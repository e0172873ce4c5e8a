#!/usr/bin/env bash
# Retrieval variants of corpus-qa next to the plain llama-index default pipeline (same
# embedding model and LLM, its default chunking and top-k), on one question set, by the same
# harness:  bash bench/retrieval_compare.sh article|squad [VARIANT ...]
# One `qa eval` per variant (all of them unless named), then `qa eval --compare` over every
# variant whose report exists; writes bench/eval/<set>/ (compare.md, compare.txt, each report).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
set_name=${1:-article}
case $set_name in
  article) questions=tests/questions/article.jsonl corpus=corpus ;;
  squad) questions=tests/questions/squad.jsonl corpus=bench/data/squad/corpus ;;
  *) echo "usage: $0 article|squad [variant ...]" >&2; exit 2 ;;
esac
shift || true
all=(baseline vector bm25 hybrid hybrid-window1 hybrid-128)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")
out=bench/eval/$set_name
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
declare -A flags=(
  [baseline]="--pipeline baseline"
  [vector]="--set retrieval.mode=vector"
  [bm25]="--set retrieval.mode=bm25"
  [hybrid]="--set retrieval.mode=hybrid"  # the default
  [hybrid-window1]="--set retrieval.window=1"
  [hybrid-128]="--set retrieval.chunk_size=128 --set retrieval.chunk_overlap=16"
)
for name in "${wanted[@]}"; do
  [ -n "${flags[$name]:-}" ] || { echo "unknown variant $name: ${all[*]}" >&2; exit 2; }
  echo "$(date +%T) $set_name: $name" >&2
  # shellcheck disable=SC2086
  qa eval "$questions" --corpus "$corpus" --data-dir "$tmp/$name" --no-judge --no-progress \
    --report "$out/$name" ${flags[$name]} > /dev/null
done
done_runs=()
for name in "${all[@]}"; do [ -f "$out/$name/report.json" ] && done_runs+=("$out/$name"); done
[ ${#done_runs[@]} -ge 2 ] || exit 0
qa eval --compare "${done_runs[@]}" --report "$out" | tee "$out/compare.txt"
