#!/usr/bin/env bash
# Times the `wcigen render` process with hyperfine against a floor: a process that only copies
# the same rendered tree (`cp -r`), and measures peak memory. Needs `hyperfine` (Debian package)
# and GNU time. Usage: bash benches/process.sh   (builds the release binary first)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v hyperfine >/dev/null || apt-get install -y hyperfine >/dev/null
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
cargo build --release --quiet
bin="$PWD/target/release/wcigen"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" render examples/lab.yaml -o "$work/reference" 2>/dev/null
hyperfine --warmup 20 --runs 200 -N \
  --prepare "rm -rf $work/out $work/copy" \
  -n "wcigen render (all targets)" "$bin render examples/lab.yaml -o $work/out" \
  -n "cp -r of the same tree (floor)" "cp -r $work/reference $work/copy" \
  --export-json "$work/hyperfine.json"
python3 - "$work/hyperfine.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
render, copy = r[0]["median"] * 1000, r[1]["median"] * 1000
print(f"median: render {render:.2f} ms, copy floor {copy:.2f} ms, ratio {render / copy:.2f}x")
PY
rm -rf "$work/out"
/usr/bin/time -v "$bin" render examples/lab.yaml -o "$work/out" 2>&1 | grep -E "Maximum resident set size" \
  | awk '{ printf "peak memory: %.1f MB\n", $6 / 1024 }'
