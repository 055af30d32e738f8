#!/usr/bin/env bash
# Backup benchmark for docs/performance.md ("## Backups"): kbscan scanning an NTBackup `.bkf`
# in place against one sequential read of the file (`cat FILE > /dev/null`, from the warm
# page cache), and kbscan's peak RSS.
#
#   bash bench/backups.sh                        # 100,000 files, 4 GiB of data, 5 runs
#   FILES=100000 GIB=4 RUNS=5 bash bench/backups.sh
#
# The backup is written by the MTF test writer (crates/kbscan-core/src/backup/tests/,
# `write_bench_backup`): one normal set holding the example system w2k-sp4-vulnerable (hives
# and candidates) and FILES files in folders of 100 whose data (GIB GiB in all) is left as
# holes, so the file is sparse on disk; kept in $BENCH_DIR for reuse. The two commands run in
# turn, A B A B …, after a warm-up; other jobs may share the machine, so the median of the
# paired ratios is the figure to quote, with the load printed beside it. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${FILES:-100000}
GIB=${GIB:-4}
RUNS=${RUNS:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/kbscan-bench-backups}
mkdir -p "$BENCH_DIR"
bkf="$BENCH_DIR/bench-$FILES-$GIB.bkf"
if [ ! -s "$bkf" ]; then
    KBSCAN_BENCH_BKF="$bkf" KBSCAN_BENCH_FILES="$FILES" KBSCAN_BENCH_GIB="$GIB" \
        cargo test -q --release -p kbscan-core --lib backup::tests::write_bench_backup \
        -- --ignored >/dev/null
fi
cargo build -q --release --locked
kb="$PWD/target/release/kbscan"
now() { date +%s.%N; }
run_cat() { local t0; t0=$(now); cat "$bkf" >/dev/null; echo "$(now) - $t0" | bc; }
run_kb() {
    local t0; t0=$(now)
    "$kb" scan -q -f json "$bkf" >"$BENCH_DIR/out.json" || [ $? -eq 1 ]
    echo "$(now) - $t0" | bc
}
run_cat >/dev/null; run_kb >/dev/null
cats=(); kbs=(); ratios=()
for _ in $(seq "$RUNS"); do
    c=$(run_cat); k=$(run_kb)
    cats+=("$c"); kbs+=("$k"); ratios+=("$(echo "scale=4; $k / $c" | bc)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# kbscan exits 1 (a vulnerable system in the set): the figure is what matters here.
rss=$({ /usr/bin/time -f %M "$kb" scan -q -f json "$bkf" 2>&1 >/dev/null || true; } | tail -1)
entries=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['roots'][0]['stats']['entries'])" "$BENCH_DIR/out.json")
echo "| backup | entries walked | cat (median s) | kbscan (median s) | kbscan / cat (median of pairs) | peak RSS | load (1 min) |"
echo "|---|---|---|---|---|---|---|"
printf '| %s files, %s GiB, %s bytes | %s | %s | %s | %s | %s MiB | %s |\n' \
    "$FILES" "$GIB" "$(stat -c %s "$bkf")" "$entries" "$(median "${cats[@]}")" \
    "$(median "${kbs[@]}")" "$(median "${ratios[@]}")" "$((rss / 1024))" \
    "$(cut -d' ' -f1 /proc/loadavg)"
