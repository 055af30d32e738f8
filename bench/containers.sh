#!/usr/bin/env bash
# Container benchmark for docs/performance.md ("## Containers"): kbscan scanning a 1 GiB E01
# (ewfacquire, fast deflate) in place against `ewfexport` converting it to raw (the conversion
# kbscan saves the user), and `kbscan scan --verify-image` (every chunk read, MD5 + SHA-1)
# against `ewfverify`.
#
#   bash bench/containers.sh                      # 1 GiB disk, 800 MiB of random data, 7 runs
#   GB=1 DATA_MB=800 DIRS=200 FILES=50 RUNS=7 bash bench/containers.sh
#
# The disk is made without mounting (tests/images/build.sh's approach): an MBR (sfdisk) with
# one NTFS partition (mkntfs + tests/images/ntfsput.c against libntfs-3g) holding DIRS
# folders of FILES small files, one DATA_MB file of random data (incompressible: the E01
# really holds that much), and the example system w2k-sp4-patched (candidates and hives).
# It is acquired with `ewfacquire -c deflate:fast -d sha1` and kept in $BENCH_DIR (default
# /tmp/kbscan-bench-containers) for reuse. The commands run in turn, A B A B …, after a
# warm-up, from the warm page cache (other jobs may share the machine: the medians of the
# paired ratios are the figures to quote). Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${GB:-1}
DATA_MB=${DATA_MB:-800}
DIRS=${DIRS:-200}
FILES=${FILES:-50}
RUNS=${RUNS:-7}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench-containers}
mkdir -p "$BENCH_DIR"

need=()
command -v mkntfs >/dev/null || need+=(ntfs-3g)
[ -e /usr/include/ntfs-3g/volume.h ] || need+=(ntfs-3g-dev)
command -v ewfacquire >/dev/null || need+=(ewf-tools)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v gcc >/dev/null || need+=(gcc)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${KB:-}" ]; then # KB=path/to/kbscan to time a binary already built
  cargo build --release --locked -q
  KB="${CARGO_TARGET_DIR:-target}/release/kbscan"
fi

base="$BENCH_DIR/disk-${GB}g-${DATA_MB}m"
raw="$base.raw"
e01="$base.E01"
if [ ! -f "$e01" ]; then
  gcc -O2 -o "$BENCH_DIR/ntfsput" tests/images/ntfsput.c -lntfs-3g
  vol="$BENCH_DIR/vol.tmp"
  rm -f "$vol" "$raw.tmp"
  # The partition starts at 1 MiB and fills the disk.
  truncate -s "$((GB * 1024 - 1))M" "$vol"
  mkntfs -q -F -f -c 4096 -s 512 -L BENCH "$vol" >/dev/null 2>&1
  "$BENCH_DIR/ntfsput" "$vol" gen "$DIRS" "$FILES"
  if [ "$DATA_MB" -gt 0 ]; then
    head -c "$((DATA_MB * 1024 * 1024))" /dev/urandom >"$BENCH_DIR/data.bin"
    "$BENCH_DIR/ntfsput" "$vol" put "$BENCH_DIR/data.bin" /data/data.bin
    rm -f "$BENCH_DIR/data.bin"
  fi
  "$BENCH_DIR/ntfsput" "$vol" copy sample_binaries/systems/w2k-sp4-patched
  truncate -s "${GB}G" "$raw.tmp"
  printf 'label: dos\nstart=2048, type=7\n' | sfdisk -q "$raw.tmp"
  dd if="$vol" of="$raw.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$vol"
  mv "$raw.tmp" "$raw"
  rm -f "$base".E??
  ewfacquire -q -u -c deflate:fast -d sha1 -f encase6 -S 4G -C bench -E 1 -e kbscan \
    -D "kbscan container benchmark" -N none -t "$base" "$raw" >/dev/null
fi

# One timed run: prints "wall_seconds peak_rss_kib".
timed() {
  /usr/bin/time -o "$BENCH_DIR/time.txt" -f '%e %M' "$@" >/dev/null 2>&1 || true
  tail -1 "$BENCH_DIR/time.txt"
}
# pair NAME_A NAME_B -- CMD_A -- CMD_B: RUNS alternating runs, one line per run.
pair() {
  local a="$1" b="$2"; shift 2
  local cmd_a=() cmd_b=() into=a
  shift # --
  for x in "$@"; do
    if [ "$x" = -- ]; then into=b; continue; fi
    if [ $into = a ]; then cmd_a+=("$x"); else cmd_b+=("$x"); fi
  done
  "${cmd_a[@]}" >/dev/null 2>&1 || true # warm-up
  "${cmd_b[@]}" >/dev/null 2>&1 || true
  for _ in $(seq 1 "$RUNS"); do
    echo "$a $(timed "${cmd_a[@]}")"
    echo "$b $(timed "${cmd_b[@]}")"
  done
}

cat "$base".E?? >/dev/null # warm the cache
results="$BENCH_DIR/results.txt"
{
  pair scan ewfexport -- "$KB" scan -q -f json "$e01" -- \
    sh -c "ewfexport -q -u -f raw -t - '$e01' >/dev/null"
  pair verify ewfverify -- "$KB" scan -q -f json --verify-image "$e01" -- \
    ewfverify -q -d sha1 "$e01"
} >"$results"

echo "load: $(uptime | sed 's/.*load average/load average/')"
echo "disk: ${GB} GiB raw ($(du -h "$raw" | cut -f1) allocated), E01 $(du -ch "$base".E?? | tail -1 | cut -f1) (ewfacquire -c deflate:fast), $RUNS paired runs"
"$KB" scan -q -f json "$e01" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("kbscan verdict:", d["roots"][0]["verdict"], "| findings:", len(d["roots"][0]["findings"]))' || true
echo
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, wall, rss in rows:
    by.setdefault(name, []).append((float(wall), int(rss)))
def med(name, i): return statistics.median(x[i] for x in by[name])
print("| command | median wall (s) | min–max (s) | peak RSS (MiB) |")
print("|---|---:|---:|---:|")
for name in ["scan", "ewfexport", "verify", "ewfverify"]:
    w = [x[0] for x in by[name]]
    print(f"| {name} | {med(name,0):.3f} | {min(w):.3f}–{max(w):.3f} | {max(x[1] for x in by[name]) / 1024:.0f} |")
print()
for a, b, target in [("scan", "ewfexport", 0.1), ("verify", "ewfverify", 1.0)]:
    ratios = [x[0] / max(y[0], 1e-3) for x, y in zip(by[a], by[b])]
    r = statistics.median(ratios)
    print(f"- {a} / {b}: median of paired ratios {r:.3f} (range {min(ratios):.3f}–{max(ratios):.3f}); target ≤ {target}: {'met' if r <= target else 'MISSED'}")
PY
