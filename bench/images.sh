#!/usr/bin/env bash
# Disk-image benchmark for docs/performance.md ("## Disk images"): kbscan scanning a
# multi-GB raw NTFS image against sleuthkit's `fls -r -p` merely listing it.
#
#   bash bench/images.sh                          # 4 GiB volume, 200,000 files, 1 GiB of data
#   GB=8 DIRS=5000 FILES=100 DATA_MB=2048 RUNS=5 bash bench/images.sh
#
# The image is made without mounting (mkntfs + tests/images/ntfsput.c against libntfs-3g):
# DIRS folders of FILES small files each under /tree, one DATA_MB file of random data (so the
# image really holds gigabytes), and the example system w2k-sp4-patched (so kbscan has
# candidates and hives to read). It is kept in $BENCH_DIR (default /tmp/kbscan-bench) and
# reused. Both tools read the same file from the warm page cache; hyperfine times them
# alternately. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${GB:-4}
DIRS=${DIRS:-2000}
FILES=${FILES:-100}
DATA_MB=${DATA_MB:-1024}
RUNS=${RUNS:-10}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench}
mkdir -p "$BENCH_DIR"

need=()
command -v mkntfs >/dev/null || need+=(ntfs-3g)
[ -e /usr/include/ntfs-3g/volume.h ] || need+=(ntfs-3g-dev)
command -v fls >/dev/null || need+=(sleuthkit)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --locked -q
KB="${CARGO_TARGET_DIR:-target}/release/kbscan"

img="$BENCH_DIR/ntfs-${GB}g-${DIRS}x${FILES}.img"
if [ ! -f "$img" ]; then
  gcc -O2 -o "$BENCH_DIR/ntfsput" tests/images/ntfsput.c -lntfs-3g
  truncate -s "${GB}G" "$img.tmp"
  mkntfs -q -F -f -c 4096 -L BENCH "$img.tmp" >/dev/null 2>&1
  "$BENCH_DIR/ntfsput" "$img.tmp" gen "$DIRS" "$FILES"
  if [ "$DATA_MB" -gt 0 ]; then
    head -c "$((DATA_MB * 1024 * 1024))" /dev/urandom >"$BENCH_DIR/data.bin"
    "$BENCH_DIR/ntfsput" "$img.tmp" put "$BENCH_DIR/data.bin" /data/data.bin
    rm -f "$BENCH_DIR/data.bin"
  fi
  "$BENCH_DIR/ntfsput" "$img.tmp" copy sample_binaries/systems/w2k-sp4-patched
  mv "$img.tmp" "$img"
fi

entries=$(fls -r -p "$img" | wc -l)
cat "$img" >/dev/null # warm the cache
out="$BENCH_DIR/images-$(basename "$img").json"
hyperfine -N -i --warmup 2 --runs "$RUNS" --style none --export-json "$out" \
  -n "kbscan scan" "$KB scan -q -f json $img" \
  -n "fls -r -p" "fls -r -p $img" >/dev/null 2>&1
rss=$( { /usr/bin/time -f %M "$KB" scan -q -f json "$img" >/dev/null || true; } 2>&1 | tail -1 )

echo "image: $(basename "$img"): $(du -h --apparent-size "$img" | cut -f1) volume, $(du -h "$img" | cut -f1) allocated, $entries entries listed by fls"
echo
echo "| command | mean (s) | min (s) | max (s) |"
echo "|---|---|---|---|"
python3 - "$out" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"| `{r['command']}` | {r['mean']:.3f} | {r['min']:.3f} | {r['max']:.3f} |")
PY
echo
echo "kbscan peak RSS: $((rss / 1024)) MiB"
