#!/usr/bin/env bash
# Case benchmark for docs/scale.md ("One machine") and docs/performance.md ("A case"):
# `kbscan case` over TREES copies of the bundled sample systems (sample_binaries/systems/*,
# taken in turn) and IMAGES small disk images (tests/images/*.img.gz unpacked, taken in turn),
# against the same items scanned one by one with `kbscan scan -j 1`.
#
#   bash bench/case.sh                       # 100 trees + 20 images, 3 case runs
#   TREES=200 IMAGES=40 RUNS=5 bash bench/case.sh
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
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench-case}

cargo build --release --locked -q
KB="$(realpath "${CARGO_TARGET_DIR:-target}/release/kbscan")"
export KB TREES IMAGES RUNS BENCH_DIR

python3 - <<'EOF'
import gzip, json, os, shutil, statistics, subprocess, sys, time

kb, trees, images, runs = os.environ["KB"], int(os.environ["TREES"]), int(os.environ["IMAGES"]), int(os.environ["RUNS"])
base = os.environ["BENCH_DIR"]
case = os.path.join(base, f"case-{trees}t-{images}i")
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
    os.rename(tmp, case)
items = sorted(os.path.join(case, e) for e in os.listdir(case))
cores = os.cpu_count()

def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

def timed(args):
    """Wall seconds (monotonic clock around the child) and the child's own peak RSS (KiB,
    from wait4: this run alone)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2):
        sys.exit(f"{args}: exit {code}")
    return wall, ru.ru_maxrss, ru.ru_utime + ru.ru_stime

load_before = uptime()
# Warm the page cache: the figures compare CPU work, not the first read from disk.
for it in items:
    timed([kb, "scan", "-q", "-f", "json", "-j", "1", it])
singles = [timed([kb, "scan", "-q", "-f", "json", "-j", "1", it]) for it in items]
single_sum = sum(w for w, _, _ in singles)
single_cpu = sum(c for _, _, c in singles)
single_rss = max(r for _, r, _ in singles)
out = os.path.join(base, "out")
case_runs = [timed([kb, "case", "-q", "--rescan", "-o", out, case]) for _ in range(runs)]
reuse_runs = [timed([kb, "case", "-q", "-o", out, case]) for _ in range(runs)]
load_after = uptime()
summary = json.load(open(os.path.join(out, "case.json")))["summary"]
case_wall = statistics.median(w for w, _, _ in case_runs)
case_cpu = statistics.median(c for _, _, c in case_runs)
reuse_wall = statistics.median(w for w, _, _ in reuse_runs)
ideal = single_sum / cores
print(f"load before: {load_before}")
print(f"load after:  {load_after}")
print(f"items: {len(items)} ({trees} trees, {images} images), {summary['systems']} systems, cores: {cores}, case runs: {runs}")
print()
print("| measure | value |")
print("|---|---:|")
print(f"| sum of single scans (`kbscan scan -j 1`, each item alone) | {single_sum:.2f} s |")
print(f"| sum / {cores} cores (ideal case wall time) | {ideal:.2f} s |")
print(f"| `kbscan case --rescan` wall time (median; runs {', '.join(f'{w:.2f}' for w, _, _ in case_runs)}) | {case_wall:.2f} s |")
print(f"| case / ideal | {case_wall / ideal:.2f}× |")
print(f"| `kbscan case` re-run, every report reused (median) | {reuse_wall:.2f} s |")
print(f"| CPU (user + system): sum of single scans / case (median) | {single_cpu:.2f} s / {case_cpu:.2f} s |")
print(f"| peak RSS, case (largest of the runs) | {max(r for _, r, _ in case_runs) / 1024:.1f} MiB |")
print(f"| peak RSS, largest single scan | {single_rss / 1024:.1f} MiB |")
print(f"| per item: case wall × cores / items | {case_wall * cores / len(items) * 1000:.0f} ms |")
EOF
