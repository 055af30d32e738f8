#!/usr/bin/env python3
"""Prints the Markdown table of docs/performance.md from bench/run.sh's results."""
import json
import os
import statistics
import sys


def main():
    out, sizes = sys.argv[1], sys.argv[2:]
    print("| files | kbscan | kbscan -j1 | fd | find | kbscan / fd | kbscan / find | kbscan peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        runs = json.load(open(os.path.join(out, f"time-{n}.json")))["results"]
        med = {r["command"]: statistics.median(r["times"]) for r in runs}
        rss = int(open(os.path.join(out, f"rss-{n}.txt")).read()) / 1024
        k, k1, fd, fi = med["kbscan"], med["kbscan -j1"], med["fd"], med["find"]
        ms = lambda s: f"{s * 1000:.1f} ms"
        print(f"| {int(n):,} | {ms(k)} | {ms(k1)} | {ms(fd)} | {ms(fi)} | "
              f"{k / fd:.2f}× | {k / fi:.2f}× | {rss:.1f} MiB |")


if __name__ == "__main__":
    main()
