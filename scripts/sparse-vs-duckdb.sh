#!/usr/bin/env bash
# The speed issue's headline comparison: tumblescope's whole process against DuckDB's query on
# the same sparse point-of-sale file (1 M orders 160 ms apart over 10,000 stores, about 44
# hours), run by run in one session, printing each time, the medians and their ratio.
#
#   scripts/sparse-vs-duckdb.sh [RUNS] [BINARY]
#
# Needs DuckDB for Python (see ../shared/peers/README.md: a venv at /tmp/peers-venv, or set
# PEERS_PYTHON). The file is generated once into ${SPARSE_DIR:-/tmp/tumblescope-sparse}.
# tumblescope's time is wall-clock for the whole process (load, simulate, output, exit);
# DuckDB's is the query time the peer script prints (its Python start-up not counted).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=${2:-target/release/tumblescope}
py=${PEERS_PYTHON:-/tmp/peers-venv/bin/python}
peer=${PEER_SCRIPT:-../shared/peers/duckdb_windows.py}
dir=${SPARSE_DIR:-/tmp/tumblescope-sparse}
[ -x "$bin" ] || cargo build --release
mkdir -p "$dir"
file=$dir/sparse.jsonl
if [ ! -s "$file" ]; then
  "$bin" generate --count 1000000 --interval-ms 160 --jitter 0.6 --keys uniform:10000 -o "$file"
fi
ts=(); dk=()
for ((k = 1; k <= runs; k++)); do
  start=$(date +%s.%N)
  "$bin" run --input "$file" --shards 8 --window 30 --handler builtin:sum:Item.sales \
    --format json >"$dir/out.json" 2>"$dir/err.txt"
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc -l)
  d=$("$py" "$peer" "$file" --shards 8 --window 30 --value data.Item.sales | sed -E 's/.*, ([0-9.]+) s$/\1/')
  printf 'run %d: tumblescope %.3f s, duckdb %.3f s\n' "$k" "$t" "$d"
  ts+=("$t"); dk+=("$d")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mt=$(median "${ts[@]}"); md=$(median "${dk[@]}")
printf 'median: tumblescope %.3f s, duckdb %.3f s, ratio %.2f (target <= 1.0)\n' "$mt" "$md" \
  "$(echo "$mt / $md" | bc -l)"
grep -E "^(loaded|1000000 records)" "$dir/err.txt" || true
