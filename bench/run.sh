#!/usr/bin/env bash
# Reproduces the figures in docs/performance.md with one command:
#   bash bench/run.sh                 # 100k and 1M files, 10 runs each
#   SIZES="100000" RUNS=5 bash bench/run.sh
# Generates the trees once (bench/gen_tree.py, seed 1) under $BENCH_DIR (default
# /tmp/kbscan-bench), warms the cache, then times kbscan, fd and find alternately with
# hyperfine and measures kbscan's peak RSS with GNU time. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"100000 1000000"}
RUNS=${RUNS:-10}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench}
OUT="$BENCH_DIR/results"
mkdir -p "$OUT"

need=()
command -v fdfind >/dev/null || need+=(fd-find)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --locked -q
KB=target/release/kbscan

for n in $SIZES; do
  tree="$BENCH_DIR/tree-$n"
  [ -d "$tree" ] || python3 bench/gen_tree.py --files "$n" --dirs $((n * 3 / 100)) --seed 1 "$tree"
  find "$tree" >/dev/null   # warm the cache
  hyperfine -N -i --warmup 3 --runs "$RUNS" --style none --export-json "$OUT/time-$n.json" \
    -n kbscan "$KB scan -q $tree" \
    -n "kbscan -j1" "$KB scan -q -j1 $tree" \
    -n fd "fdfind -u -i -t f -g {nscm,nspmon}.exe $tree" \
    -n find "find $tree -type f ( -iname nscm.exe -o -iname nspmon.exe )" \
    >/dev/null 2>"$OUT/hyperfine-$n.log"
  rss=0
  for _ in 1 2 3; do
    # kbscan exits 1 here (the planted copies are vulnerable): that is expected.
    r=$( { /usr/bin/time -f %M "$KB" scan -q "$tree" >/dev/null || true; } 2>&1 | tail -1 )
    [ "$r" -gt "$rss" ] && rss=$r
  done
  echo "$rss" >"$OUT/rss-$n.txt"
done

python3 bench/report.py "$OUT" $SIZES
