#!/usr/bin/env bash
# Runs every sample-data README command, every scenario, generated Kinesis and DynamoDB streams,
# user Node.js and Python handlers (ok and failing) and a bisect + ReportBatchItemFailures case
# with two tumblescope binaries, and compares their results (--format json), --events traces
# and messages byte for byte (timings in messages masked). Exit 0 when all are identical.
#
#   scripts/same-outputs.sh OLD_BINARY NEW_BINARY [ORDERS]
#
# With ORDERS (e.g. a 1M-order file from `tumblescope generate --count 1000000`), that file's
# run is compared too. A restructuring or a speed-up must leave every output identical.
set -uo pipefail
old=$(readlink -f "$1"); new=$(readlink -f "$2"); orders=${3:+$(readlink -f "$3")}
cd "$(dirname "$0")/../sample-data"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cases() {
  local bin=$1 out=$2 orders=${3:-}
  mkdir -p "$out"
  run() {
    local name=$1; shift
    "$bin" run "$@" --format json --events "$out/$name.events.jsonl" >"$out/$name.results.json" 2>"$out/$name.raw"
    echo "exit $?" >>"$out/$name.results.json"
    sed -E 's/[0-9]+(\.[0-9]+)? ?(ms|µs|us|s)\b/T/g' "$out/$name.raw" >"$out/$name.stderr"
    rm "$out/$name.raw"
  }
  run orders -i orders.jsonl
  run ddb -i orders-dynamodb.jsonl --source dynamodb --handler builtin:sum:sales:events=INSERT
  run csv -i pos-export.csv --ts-field sold_at --pk-field store --handler builtin:sum:sales
  run checkout -i checkout-events.jsonl --ts-field ts_ms --pk-field session --handler builtin:sum:cart.total
  run kinesis-event -i kinesis-event.json
  run lambda-events -i lambda-events.jsonl
  run dynamodb-event -i dynamodb-event.json --handler builtin:sum:sales
  run kinesis-get-records -i kinesis-get-records-shardId-*.json
  run dynamodb-get-records -i dynamodb-get-records.json --handler builtin:sum:sales
  for s in demo running-total pos-burst skewed sparse big-state failing-handler dynamodb; do
    run "scenario-$s" --scenario "$s"
  done
  "$bin" generate --count 5000 --seed 7 -o "$work/kinesis.jsonl" 2>/dev/null
  "$bin" generate --count 3000 --seed 9 --source dynamodb -o "$work/dynamodb.jsonl" 2>/dev/null
  run generated -i "$work/kinesis.jsonl" --shards 4 --window 30
  run generated-ddb -i "$work/dynamodb.jsonl" --source dynamodb --handler builtin:sum:sales
  run node -i orders.jsonl --handler handlers/kinesis-sales-v2.js
  run node-ddb -i orders-dynamodb.jsonl --source dynamodb --handler handlers/dynamodb-sales-v3.mjs
  run python -i orders.jsonl --handler handlers/sales.py
  run node-throws -i orders.jsonl --handler handlers/faulty-throws.js --max-retry-attempts 2
  run python-throws -i orders.jsonl --handler handlers/faulty_throws.py --max-retry-attempts 2
  run bisect-rbif -i "$work/kinesis.jsonl" --handler 'builtin:sum:Item.sales:fail=Item.sales>=99' \
    --bisect --report-batch-item-failures --max-retry-attempts 3
  if [ -n "$orders" ]; then run orders-file -i "$orders"; fi
}

cases "$old" "$work/old" "$orders"
cases "$new" "$work/new" "$orders"
n=$(ls "$work/old"/*.results.json | wc -l)
if diff -rq "$work/old" "$work/new"; then
  echo "identical: $n cases (results, events, messages)"
else
  echo "DIFFERENT (above)"; exit 1
fi
