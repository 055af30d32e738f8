#!/usr/bin/env python3
"""Generates a Windows-like file tree for benchmarks, deterministically from a seed.

    bench/gen_tree.py --files 1000000 --dirs 30000 --seed 1 OUT

Folders are nested under a WINNT / Program Files / Documents and Settings skeleton with
names drawn from Windows-ish words; files are empty (a walk never reads them) with DLL/EXE/…
names. The real targets are planted from sample_binaries: vulnerable live copies in
WINNT/system32/Windows Media/Server, old copies in $NTUninstallKB832359$ and dllcache, so the
scanner's parse-and-hash path runs as well as its walk.
"""
import argparse
import os
import random
import shutil

WORDS = ("system config drivers inf help fonts temp logs web media setup cache data assembly "
         "catroot spool repair security profiles update Microsoft Windows Common Shared Office "
         "Outlook Internet Explorer Accessories Components Resources Templates Backup en-us "
         "Profiles Application Data Local Settings History Cookies Desktop Start Menu Programs "
         "Startup Debug Prefetch Registration Tasks Tools Driver Cache i386 wbem ras dhcp dns").split()
EXTS = ("dll", "exe", "sys", "inf", "ini", "log", "txt", "dat", "chm", "hlp", "ocx", "cpl", "mui", "nls")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--dirs", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("out")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = os.path.abspath(a.out)
    if os.path.exists(root):
        raise SystemExit(f"{root} exists; remove it first")
    top = [os.path.join(root, p) for p in ("WINNT", "WINNT/system32", "Program Files", "Documents and Settings")]
    dirs = []
    for t in top:
        os.makedirs(t)
        dirs.append(t)
    while len(dirs) < a.dirs:
        parent = dirs[rng.randrange(len(dirs))]
        if parent.count(os.sep) - root.count(os.sep) > 9:
            continue
        name = f"{rng.choice(WORDS)}{rng.randrange(1000)}"
        path = os.path.join(parent, name)
        if os.path.exists(path):
            continue
        os.mkdir(path)
        dirs.append(path)
    flags = os.O_CREAT | os.O_WRONLY | os.O_EXCL
    made = 0
    while made < a.files:
        d = dirs[rng.randrange(len(dirs))]
        name = f"{rng.choice(WORDS).lower()}{rng.randrange(100000)}.{rng.choice(EXTS)}"
        try:
            os.close(os.open(os.path.join(d, name), flags, 0o644))
        except FileExistsError:
            continue
        made += 1
    # Plant the targets (real PEs, so parsing and hashing run).
    here = os.path.dirname(os.path.abspath(__file__))
    systems = os.path.join(here, "..", "sample_binaries", "systems")
    vuln = os.path.join(systems, "w2k-sp4-vulnerable", "WINNT", "system32", "Windows Media", "Server")
    plant = {
        "WINNT/system32/Windows Media/Server": ("Nscm.exe", "Nspmon.exe"),
        "WINNT/$NTUninstallKB832359$": ("Nscm.exe", "Nspmon.exe"),
        "WINNT/system32/dllcache": ("Nscm.exe",),
    }
    for rel, names in plant.items():
        d = os.path.join(root, rel)
        os.makedirs(d, exist_ok=True)
        for n in names:
            shutil.copyfile(os.path.join(vuln, n), os.path.join(d, n))
    print(f"{root}: {len(dirs)} folders, {a.files} files, 5 targets planted")


if __name__ == "__main__":
    main()
