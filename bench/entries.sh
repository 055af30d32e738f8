#!/usr/bin/env bash
# Large-volume benchmark for docs/performance.md ("## A million entries in a compressed E01"):
# kbscan scanning an NTFS volume of 100,000 and of 1,000,000 entries, each acquired as a
# compressed E01, against sleuthkit's `fls -r -p` listing the same E01 and `ewfexport`
# converting it to raw (to a pipe, so no disk write is timed). Peak RSS of every kbscan run.
#
#   bash bench/entries.sh                          # 8 GiB volumes, 1,000 and 10,000 folders
#   GB=8 SIZES="1000 10000" FILES=100 RUNS=5 bash bench/entries.sh
#
# Each volume is made without mounting (mkntfs + tests/images/ntfsput.c against libntfs-3g):
# DIRS folders /tree/dNNN/dMMMMM of FILES small files each (1,000 folders → 101,000
# entries; 10,000 → 1,010,000: the $MFT alone is then 1 GiB), and the example system
# w2k-sp4-patched (candidates and hives to judge). It is acquired with
# `ewfacquire -c deflate:fast` (EnCase 6, 32 KiB chunks) and kept in $BENCH_DIR (default
# /tmp/kbscan-bench-entries) for reuse; the raw volume is deleted. The commands run in
# turn, kbscan then the other tool, RUNS times after a warm-up, from the warm page cache;
# the figures to quote are the medians of the paired ratios. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
GB=${GB:-8}
SIZES=${SIZES:-1000 10000}
FILES=${FILES:-100}
RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench-entries}
mkdir -p "$BENCH_DIR"

need=()
command -v mkntfs >/dev/null || need+=(ntfs-3g)
[ -e /usr/include/ntfs-3g/volume.h ] || need+=(ntfs-3g-dev)
command -v ewfacquire >/dev/null || need+=(ewf-tools)
command -v fls >/dev/null || need+=(sleuthkit)
command -v gcc >/dev/null || need+=(gcc)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${KB:-}" ]; then # KB=path/to/kbscan to time a binary already built
  cargo build --release --locked -q
  KB="${CARGO_TARGET_DIR:-target}/release/kbscan"
fi

# The E01 of a volume of DIRS folders, built once.
volume() {
  local dirs=$1 base="$BENCH_DIR/ntfs-${GB}g-${1}x${FILES}"
  if [ ! -f "$base.E01" ]; then
    gcc -O2 -o "$BENCH_DIR/ntfsput" tests/images/ntfsput.c -lntfs-3g
    rm -f "$base.img"
    truncate -s "${GB}G" "$base.img"
    mkntfs -q -F -f -c 4096 -L BENCH "$base.img" >/dev/null 2>&1
    "$BENCH_DIR/ntfsput" "$base.img" gen "$dirs" "$FILES" >&2
    "$BENCH_DIR/ntfsput" "$base.img" copy sample_binaries/systems/w2k-sp4-patched >&2
    ewfacquire -q -u -c deflate:fast -f encase6 -S 4G -C bench -E 1 -e kbscan \
      -D "kbscan entries benchmark" -N none -t "$base.tmp" "$base.img" >/dev/null
    mv "$base.tmp.E01" "$base.E01"
    rm -f "$base.img"
  fi
  echo "$base.E01"
}

# One timed run: prints "wall_seconds peak_rss_kib".
timed() {
  /usr/bin/time -o "$BENCH_DIR/time.txt" -f '%e %M' "$@" >/dev/null 2>&1 || true
  tail -1 "$BENCH_DIR/time.txt"
}

results="$BENCH_DIR/results.txt"
: >"$results"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for dirs in $SIZES; do
  e01=$(volume "$dirs")
  entries=$(fls -r -p "$e01" | wc -l)
  cat "$e01" >/dev/null # warm the cache
  "$KB" scan -q -f json "$e01" >/dev/null 2>&1 || true
  fls -r -p "$e01" >/dev/null
  for _ in $(seq 1 "$RUNS"); do
    echo "$dirs $entries kbscan $(timed "$KB" scan -q -f json "$e01")"
    echo "$dirs $entries fls $(timed fls -r -p "$e01")"
    echo "$dirs $entries kbscan2 $(timed "$KB" scan -q -f json "$e01")"
    echo "$dirs $entries ewfexport $(timed sh -c "ewfexport -q -u -f raw -t - '$e01' >/dev/null")"
  done >>"$results"
  verdict=$("$KB" scan -q -f json "$e01" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["roots"][0]; print(r["verdict"], "|", sum(1 for f in r["findings"] if f.get("counts") == "counted"), "counted findings")' || true)
  echo "$dirs $(du -h "$e01" | cut -f1) $verdict" >>"$BENCH_DIR/volumes.txt"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "machine: $(nproc) cores; load average (1, 5, 15 min) before: $load_before, after: $load_after"
echo "volumes: ${GB} GiB NTFS, ${FILES} files per folder, ewfacquire -c deflate:fast; $RUNS paired runs"
echo
python3 - "$results" "$BENCH_DIR/volumes.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
vols = {}
for l in open(sys.argv[2]):
    dirs, size, *rest = l.split(maxsplit=2)
    vols[dirs] = (size, rest[0].strip() if rest else "")
by = {}
for dirs, entries, name, wall, rss in rows:
    by.setdefault((dirs, int(entries)), {}).setdefault(name, []).append((float(wall), int(rss)))
print("| entries (fls) | E01 | kbscan median (s) | fls -r -p median (s) | ewfexport median (s) | kbscan / fls | kbscan / ewfexport | kbscan peak RSS (MiB) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
rss_by = {}
ok = True
for (dirs, entries), t in sorted(by.items(), key=lambda kv: kv[0][1]):
    kb, fls, kb2, ex = t["kbscan"], t["fls"], t["kbscan2"], t["ewfexport"]
    r_fls = [a[0] / max(b[0], 1e-3) for a, b in zip(kb, fls)]
    r_ex = [a[0] / max(b[0], 1e-3) for a, b in zip(kb2, ex)]
    med = lambda xs: statistics.median(x[0] for x in xs)
    rss = max(x[1] for x in kb + kb2) / 1024
    rss_by[entries] = rss
    rf, re = statistics.median(r_fls), statistics.median(r_ex)
    if entries >= 1_000_000:
        ok &= rf <= 0.1 and re <= 0.05 and rss <= 64
    print(f"| {entries:,} | {vols.get(dirs, ('?',))[0]} | {statistics.median(x[0] for x in kb + kb2):.3f} | {med(fls):.3f} | {med(ex):.3f} | "
          f"**{rf:.3f}** ({min(r_fls):.3f}–{max(r_fls):.3f}) | **{re:.3f}** ({min(r_ex):.3f}–{max(r_ex):.3f}) | {rss:.0f} |")
print()
for dirs, (size, verdict) in sorted(vols.items(), key=lambda kv: int(kv[0])):
    print(f"- {dirs} folders: kbscan verdict {verdict}")
if len(rss_by) > 1:
    lo, hi = min(rss_by), max(rss_by)
    growth = rss_by[hi] / rss_by[lo]
    print(f"- peak RSS from {lo:,} to {hi:,} entries: {rss_by[lo]:.0f} → {rss_by[hi]:.0f} MiB (×{growth:.2f})")
    ok &= growth <= 1.25
print(f"- targets at 1,000,000 entries (≤ 0.1× fls, ≤ 0.05× ewfexport, ≤ 64 MiB, flat RSS): {'met' if ok else 'MISSED'}")
PY
