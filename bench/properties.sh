#!/bin/sh
# The metamorphic properties of tests/verdict_integrity.rs (verdict integrity round 3, case 9)
# with more cases than `cargo test` runs (40): additions of evidence to every sample system
# never move a verdict, an --as-of state or the exit code toward clean.
# Usage: bench/properties.sh [CASES]   (default 2000). Figures go in docs/robustness.md.
set -eu
cd "$(dirname "$0")/.."
cases="${1:-2000}"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --test cli -- --exact verdict_integrity::additions_never_move_toward_clean
end=$(date +%s)
echo "properties: $cases cases in $((end - start)) s"
