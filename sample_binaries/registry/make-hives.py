#!/usr/bin/env python3
"""Builds the example systems' registry hives from the .reg files beside this script.

For each folder registry/<system>/ holding software.reg and system.reg, copies the template
hive tests/fixtures/registry/minimal.hive (an empty regf hive from the hivex project),
merges the .reg text into it with Debian's `hivexregedit --merge` (packages libhivex-bin,
libwin-hivex-perl), then makes the result deterministic (header time stamp zeroed, header
checksum recomputed) and writes it to systems/<system>/<windir>/system32/config/SOFTWARE and
SYSTEM. The system `w2k-unclean-hive` gets unequal header sequence numbers, as a hive that was
not cleanly closed has.

Usage: registry/make-hives.py SYSTEMS_DIR TEMPLATE_HIVE
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

WINDIR = {"w2k3-server": "WINDOWS"}  # every other system uses WINNT
UNCLEAN = {"w2k-unclean-hive"}


def finish(path, unclean):
    data = bytearray(open(path, "rb").read())
    assert data[:4] == b"regf", path
    data[0x0C:0x14] = b"\0" * 8  # last-written time stamp
    primary = struct.unpack_from("<I", data, 0x04)[0]
    struct.pack_into("<I", data, 0x08, primary + 1 if unclean else primary)
    checksum = 0
    for i in range(0, 0x1FC, 4):
        checksum ^= struct.unpack_from("<I", data, i)[0]
    struct.pack_into("<I", data, 0x1FC, checksum)
    open(path, "wb").write(data)


def main():
    systems, template = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        src = os.path.join(here, name)
        if not os.path.isdir(src):
            continue
        # A folder holding software.reg is one Windows; one holding only sub-folders (named
        # after Windows folders: two-windows/WINNT, two-windows/WINDOWS) is several on one volume.
        if os.path.exists(os.path.join(src, "software.reg")):
            windirs = [(src, WINDIR.get(name, "WINNT"))]
        else:
            windirs = [(os.path.join(src, d), d) for d in sorted(os.listdir(src))
                       if os.path.isdir(os.path.join(src, d))]
        for regs, windir in windirs:
            config = os.path.join(systems, name, windir, "system32", "config")
            os.makedirs(config, exist_ok=True)
            for hive in ("software", "system"):
                with tempfile.TemporaryDirectory() as tmp:
                    work = os.path.join(tmp, hive)
                    shutil.copyfile(template, work)
                    os.chmod(work, 0o644)
                    subprocess.run(["hivexregedit", "--merge", work, os.path.join(regs, hive + ".reg")], check=True)
                    finish(work, name in UNCLEAN)
                    # issue 14: key last-write times, which hivexregedit cannot set.
                    times = os.path.join(regs, hive + "-key-times.txt")
                    if os.path.exists(times):
                        subprocess.run([sys.executable, os.path.join(here, "set-key-times.py"), work, times], check=True)
                    shutil.copyfile(work, os.path.join(config, hive.upper()))
        print(f"make-hives: {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
