#!/usr/bin/env python3
"""Sets the last-write time stamps of keys in a regf hive (issue 14), which hivexregedit cannot.

Every key node (`nk` cell) stores its last-write time as a Windows FILETIME (100 ns since
1601-01-01 UTC) at offset 4 of the cell data (after the 2-byte `nk` signature and the 2-byte
flags). This script finds each key by walking the hive from its root key (base block offset
0x24; cells start at 0x1000 + offset; subkey lists `lf`, `lh`, `li`, `ri` at nk data offset
0x1C, names at 0x4C, length at 0x48, ASCII when flag 0x20), writes the time stamp, then
recomputes the base block checksum (XOR of the first 127 dwords, stored at 0x1FC).

Usage: set-key-times.py HIVE FILE   (FILE: lines `KEY\\PATH = 2004-03-17T09:16:40Z`, `#` comments)
"""
import datetime
import struct
import sys

EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


def cell(data, off):
    return 0x1000 + off + 4  # skip the cell size


def subkeys(data, nk):
    count = struct.unpack_from("<I", data, nk + 0x14)[0]
    lst = struct.unpack_from("<I", data, nk + 0x1C)[0]
    if count == 0 or lst == 0xFFFFFFFF:
        return []
    return list_entries(data, cell(data, lst))


def list_entries(data, at):
    sig = data[at:at + 2]
    n = struct.unpack_from("<H", data, at + 2)[0]
    if sig in (b"lf", b"lh"):
        return [cell(data, struct.unpack_from("<I", data, at + 4 + 8 * i)[0]) for i in range(n)]
    if sig == b"li":
        return [cell(data, struct.unpack_from("<I", data, at + 4 + 4 * i)[0]) for i in range(n)]
    if sig == b"ri":
        out = []
        for i in range(n):
            out += list_entries(data, cell(data, struct.unpack_from("<I", data, at + 4 + 4 * i)[0]))
        return out
    raise ValueError(f"unknown subkey list {sig!r}")


def name(data, nk):
    flags = struct.unpack_from("<H", data, nk + 2)[0]
    n = struct.unpack_from("<H", data, nk + 0x48)[0]
    raw = bytes(data[nk + 0x4C:nk + 0x4C + n])
    return raw.decode("latin-1") if flags & 0x20 else raw.decode("utf-16-le")


def find(data, path):
    nk = cell(data, struct.unpack_from("<I", data, 0x24)[0])
    for part in [p for p in path.split("\\") if p]:
        for child in subkeys(data, nk):
            if name(data, child).lower() == part.lower():
                nk = child
                break
        else:
            raise KeyError(path)
    assert data[nk:nk + 2] == b"nk", path
    return nk


def main():
    hive, spec = sys.argv[1], sys.argv[2]
    data = bytearray(open(hive, "rb").read())
    assert data[:4] == b"regf", hive
    for line in open(spec, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        path, when = (x.strip() for x in line.rsplit("=", 1))
        t = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
        ft = (t - EPOCH) // datetime.timedelta(microseconds=1) * 10
        struct.pack_into("<Q", data, find(data, path) + 4, ft)
    checksum = 0
    for i in range(0, 0x1FC, 4):
        checksum ^= struct.unpack_from("<I", data, i)[0]
    struct.pack_into("<I", data, 0x1FC, checksum)
    open(hive, "wb").write(data)


if __name__ == "__main__":
    main()
