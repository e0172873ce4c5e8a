#!/usr/bin/env bash
# corpus-qa next to the plain llama-index default query engine (single questions) or
# llama-index's condense_plus_context chat engine (conversations), same models, on the TEST
# part of every question set,
# by one harness:  bash bench/answering_compare.sh [SET ...]
# Sets: article squad chat_article chat_squad injection (all unless named). Writes
# bench/eval/test/<set>/ (one report per pipeline and compare.md). QA_COMPARE_PRESETS
# ("qwen2.5-coder-0.5b qwen2.5-coder-1.5b" for both) adds one `ours` run per other preset as
# ours-<preset>.
# Tuning never reads these figures: cutoffs, prompts and routing come from the dev parts
# (bench/answer_sweep.py).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(article squad chat_article chat_squad injection)
default=$(python -c "import qa; print(qa.Settings().llm.model or 'qwen2.5-coder-0.5b')")
presets=${QA_COMPARE_PRESETS:-$default}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for set_name in "${sets[@]}"; do
  case $set_name in
    article|chat_article) corpus=corpus ;;
    squad|chat_squad) corpus=bench/data/squad/corpus ;;
    injection) corpus=bench/data/injection/corpus ;;
    *) echo "unknown set $set_name" >&2; exit 2 ;;
  esac
  # single questions: the plain default query engine; conversations: its chat engine
  case $set_name in
    chat_*) pipelines=(--pipeline ours --pipeline condense_plus_context) ;;
    *) pipelines=(--pipeline ours --pipeline baseline) ;;
  esac
  out=bench/eval/test/$set_name
  mkdir -p "$out"
  echo "$(date +%T) $set_name: ${pipelines[*]}" >&2
  qa eval "tests/questions/$set_name.jsonl" --corpus "$corpus" --data-dir "$tmp/$set_name" \
    --split test --no-judge --no-progress --report "$out" "${pipelines[@]}" > "$out/compare.txt"
  for preset in $presets; do
    [ "$preset" = "$default" ] && continue
    echo "$(date +%T) $set_name: ours with $preset" >&2
    qa eval "tests/questions/$set_name.jsonl" --corpus "$corpus" --data-dir "$tmp/$set_name" \
      --split test --no-judge --no-progress --set "llm.model=$preset" \
      --report "$out/ours-$preset" > /dev/null
  done
done
