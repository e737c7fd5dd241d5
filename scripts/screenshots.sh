#!/usr/bin/env bash
# Regenerates the README pictures in assets/ (needs a display; uses Xvfb when there is none).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release
run() {
  if [ -z "${DISPLAY:-}" ]; then xvfb-run -a -s "-screen 0 1600x1000x24" "$@"; else "$@"; fi
}
run target/release/tumblescope --screenshot assets/main.png
run target/release/tumblescope --select final --tab state --screenshot assets/inspector-final.png
run target/release/tumblescope --find "Item.sales > 95" --screenshot assets/find.png
run target/release/tumblescope --lesson 5 --screenshot assets/lesson.png
