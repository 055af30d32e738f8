#!/usr/bin/env bash
# Case benchmark for docs/scale.md ("One machine") and docs/performance.md ("A case"):
# `kbscan case` over TREES copies of the bundled sample systems (sample_binaries/systems/*,
# taken in turn) and IMAGES small disk images (tests/images/*.img.gz unpacked, taken in turn),
# against the same items scanned one by one with `kbscan scan -j 1`.
#
#   bash bench/case.sh                       # 100 trees + 20 images, 3 case runs
#   TREES=200 IMAGES=40 RUNS=5 bash bench/case.sh
#   TREES=0 IMAGES=0 BIG=8 bash bench/case.sh   # 8 copies of a 1 GiB NTFS image of 20,000 files
#
# BIG=N adds N copies (sparse) of a 1 GiB NTFS volume holding 200 folders of 100 small files
# and the example system w2k-sp4-patched, made without mounting (mkntfs and
# tests/images/ntfsput.c, as bench/images.sh does; needs ntfs-3g, ntfs-3g-dev and gcc):
# items whose scan is real work rather than a process's fixed cost.
#
# Reported: the sum of the single scans' wall times and that sum divided by the cores (the
# ideal wall time of a perfectly parallel case), the case's wall time (every item scanned,
# `--rescan`; median of RUNS) and its ratio to the ideal, a re-run with nothing changed (every
# report reused), and peak RSS (the case's, and the largest single scan's). The machine may be
# shared: the load average (`uptime`) before and after is printed with the figures. Each run
# is timed by the monotonic clock around it (process start included, as a user running one
# scan per item pays it) and its peak RSS is its own (`wait4`). Files are kept in $BENCH_DIR (default
# /tmp/kbscan-bench-case) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
TREES=${TREES:-100}
IMAGES=${IMAGES:-20}
RUNS=${RUNS:-3}
BIG=${BIG:-0}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench-case}

mkdir -p "$BENCH_DIR"
if [ "$BIG" -gt 0 ] && [ ! -f "$BENCH_DIR/big.img" ]; then
  gcc -O2 -o "$BENCH_DIR/ntfsput" tests/images/ntfsput.c -lntfs-3g
  truncate -s 1G "$BENCH_DIR/big.img.tmp"
  mkntfs -q -F -f -c 4096 -L BENCH "$BENCH_DIR/big.img.tmp" >/dev/null 2>&1
  "$BENCH_DIR/ntfsput" "$BENCH_DIR/big.img.tmp" gen 200 100
  "$BENCH_DIR/ntfsput" "$BENCH_DIR/big.img.tmp" copy sample_binaries/systems/w2k-sp4-patched
  mv "$BENCH_DIR/big.img.tmp" "$BENCH_DIR/big.img"
fi

cargo build --release --locked -q
KB="$(realpath "${CARGO_TARGET_DIR:-target}/release/kbscan")"
export KB TREES IMAGES RUNS BENCH_DIR BIG

python3 - <<'EOF'
import gzip, json, os, shutil, statistics, subprocess, sys, time

kb, trees, images, runs = os.environ["KB"], int(os.environ["TREES"]), int(os.environ["IMAGES"]), int(os.environ["RUNS"])
big = int(os.environ["BIG"])
base = os.environ["BENCH_DIR"]
case = os.path.join(base, f"case-{trees}t-{images}i-{big}b")
systems = sorted(os.listdir("sample_binaries/systems"))
gz = sorted(f for f in os.listdir("tests/images") if f.endswith(".img.gz"))
if not os.path.isdir(case):
    tmp = case + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for i in range(trees):
        s = systems[i % len(systems)]
        shutil.copytree(os.path.join("sample_binaries/systems", s), os.path.join(tmp, f"t{i:03d}-{s}"), symlinks=True)
    for i in range(images):
        g = gz[i % len(gz)]
        with gzip.open(os.path.join("tests/images", g)) as f, open(os.path.join(tmp, f"i{i:03d}-{g[:-3]}"), "wb") as o:
            shutil.copyfileobj(f, o)
    for i in range(big):
        subprocess.run(["cp", "--sparse=always", os.path.join(base, "big.img"), os.path.join(tmp, f"b{i:03d}-big.img")], check=True)
    os.rename(tmp, case)
items = sorted(os.path.join(case, e) for e in os.listdir(case))
cores = os.cpu_count()

def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

exits = {}

def timed(args):
    """Wall seconds (monotonic clock around the child) and the child's own peak RSS (KiB,
    from wait4: this run alone)."""
    t0 = time.perf_counter()
    # Write-only /dev/null: kbscan takes a read-write /dev/null on standard output for a
    # closed one (subprocess.DEVNULL opens it read-write) and would refuse to scan.
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(args, stdout=null, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2):
        sys.exit(f"{args}: exit {code}")
    exits[tuple(args)] = code
    return wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime

load_before = uptime()
# Warm the page cache: the figures compare CPU work, not the first read from disk.
for it in items:
    timed([kb, "scan", "-q", "-f", "json", "-j", "1", it])
# The fixed cost of one kbscan process (start, rule parsing, hashing the program for the
# examination record, the JSON document), from scans of an empty folder.
empty = os.path.join(base, "empty")
os.makedirs(empty, exist_ok=True)
fixed = statistics.median(timed([kb, "scan", "-q", "-f", "json", "-j", "1", empty])[0] for _ in range(20))
singles = [timed([kb, "scan", "-q", "-f", "json", "-j", "1", it]) for it in items]
single_sum = sum(w for w, _, _ in singles)
single_cpu = sum(c for _, _, c in singles)
single_rss = max(r for _, r, _ in singles)
# What an examiner would do by hand: the single scans, `cores` at a time (as xargs -P).
def pooled(cmds, n):
    t0 = time.perf_counter()
    running, pending = [], list(cmds)
    with open(os.devnull, "wb") as null:
        while pending or running:
            while pending and len(running) < n:
                running.append(subprocess.Popen(pending.pop(0), stdout=null, stderr=subprocess.DEVNULL))
            pid, _ = os.wait()
            running = [p for p in running if p.pid != pid]
    return time.perf_counter() - t0
pool_runs = [pooled([[kb, "scan", "-q", "-f", "json", "-j", "1", it] for it in items], cores) for _ in range(runs)]
pool_wall = statistics.median(pool_runs)
out = os.path.join(base, "out")
case_runs = [timed([kb, "case", "-q", "--rescan", "-o", out, case]) for _ in range(runs)]
reuse_runs = [timed([kb, "case", "-q", "-o", out, case]) for _ in range(runs)]
load_after = uptime()
doc = json.load(open(os.path.join(out, "case.json")))
summary = doc["summary"]
# Every single scan must have given the exit code the case gives its item: a single scan
# refused or failed early would otherwise pass for a fast one.
single_codes = [exits[(kb, "scan", "-q", "-f", "json", "-j", "1", it)] for it in items]
case_codes = [i["exit_code"] for i in sorted(doc["items"], key=lambda i: i["path"])]
if single_codes != case_codes or summary["failed"]:
    sys.exit(f"single scans and the case disagree: {single_codes} vs {case_codes}")
case_wall = statistics.median(w for w, _, _ in case_runs)
case_cpu = statistics.median(c for _, _, c in case_runs)
reuse_wall = statistics.median(w for w, _, _ in reuse_runs)
ideal = single_sum / cores
print(f"load before: {load_before}")
print(f"load after:  {load_after}")
print(f"items: {len(items)} ({trees} trees, {images} images, {big} 1 GiB images), {summary['systems']} systems, cores: {cores}, case runs: {runs}")
print()
print("| measure | value |")
print("|---|---:|")
print(f"| sum of single scans (`kbscan scan -j 1`, each item alone) | {single_sum:.2f} s |")
print(f"| sum / {cores} cores (ideal case wall time) | {ideal:.2f} s |")
print(f"| fixed cost of one `kbscan scan` process (an empty folder, median of 20) | {fixed * 1000:.1f} ms |")
print(f"| `kbscan case --rescan` wall time (median; runs {', '.join(f'{w:.2f}' for w, _, _ in case_runs)}) | {case_wall:.2f} s |")
print(f"| case / ideal | {case_wall / ideal:.2f}× |")
print(f"| the single scans run {cores} at a time (as `xargs -P {cores}`; median) | {pool_wall:.2f} s |")
print(f"| case / single scans {cores} at a time | {case_wall / pool_wall:.2f}× |")
print(f"| `kbscan case` re-run, every report reused (median) | {reuse_wall:.2f} s |")
print(f"| CPU (user + system): sum of single scans / case (median) | {single_cpu:.2f} s / {case_cpu:.2f} s |")
print(f"| peak RSS, case (largest of the runs) | {max(r for _, r, _ in case_runs) / 1024:.1f} MiB |")
print(f"| peak RSS, largest single scan | {single_rss / 1024:.1f} MiB |")
print(f"| per item: case wall × cores / items | {case_wall * cores / len(items) * 1000:.0f} ms |")
EOF
