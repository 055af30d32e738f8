#!/usr/bin/env python3
"""Byte edits and checks for kbscan's sample binaries (called by ../build.sh).

Commands:
  pad FILE SIZE           append zero bytes (an overlay after the PE image) until FILE is
                          exactly SIZE bytes; fails if FILE is already larger.
  zero-fixedinfo FILE     overwrite the VS_FIXEDFILEINFO signature 0xFEEF04BD (bytes
                          BD 04 EF FE) with zeros; fails unless exactly one occurrence exists.
                          (Both edits then recompute the PE optional-header CheckSum.)
  verify FILE [options]   parse FILE independently of kbscan and assert what it must contain:
      --arch pe32|pe32+         optional-header magic and machine (i386 / AMD64)
      --fixed A.B.C.D           VS_FIXEDFILEINFO present, FILEVERSION == PRODUCTVERSION == A.B.C.D
      --bad-signature           the version resource exists but its signature is not 0xFEEF04BD
      --no-version              there is no RT_VERSION resource at all
      --string BLOCK:KEY=VALUE  a StringFileInfo value (repeatable; \\uXXXX escapes allowed)
      --translation LANG:CP     the exact VarFileInfo Translation list, in order (repeatable, hex)
      --size N                  the file is exactly N bytes
      --dll                     a DLL: COFF characteristics have IMAGE_FILE_DLL and the
                                fixed info's file type is VFT_DLL (otherwise: not a DLL, VFT_APP)
                                (always: COFF and resource timestamps are 0, CheckSum is valid)
  dump FILE...            print what verify sees (architecture, timestamps, version info).

Only the Python standard library is used.
"""

import argparse
import os
import re
import struct
import sys

SIG = b"\xbd\x04\xef\xfe"  # 0xFEEF04BD little-endian
RT_VERSION = 16


def die(msg):
    sys.exit(f"postprocess.py: {msg}")


# ---------------------------------------------------------------- byte edits
# Both edits recompute the optional header CheckSum afterwards (ld fills it in; the
# Windows algorithm covers the whole file, overlay included), so the results stay
# self-consistent PE files.

def checksum_offset(data):
    return struct.unpack_from("<I", data, 0x3C)[0] + 4 + 20 + 64


def pe_checksum(data):
    """The IMAGEHLP CheckSumMappedFile algorithm, skipping the CheckSum field itself."""
    skip = checksum_offset(data)
    padded = bytes(data) + (b"\0" if len(data) % 2 else b"")
    total = 0
    for (i, (word,)) in enumerate(struct.iter_unpack("<H", padded)):
        if skip <= 2 * i < skip + 4:
            continue
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return (total + len(data)) & 0xFFFFFFFF


def write_with_checksum(path, data):
    data = bytearray(data)
    struct.pack_into("<I", data, checksum_offset(data), pe_checksum(data))
    with open(path, "wb") as f:
        f.write(data)


def cmd_pad(path, size):
    have = os.path.getsize(path)
    if have > size:
        die(f"{path} is {have} bytes, already larger than the requested {size}")
    data = open(path, "rb").read() + b"\0" * (size - have)
    write_with_checksum(path, data)
    assert os.path.getsize(path) == size


def cmd_zero_fixedinfo(path):
    data = bytearray(open(path, "rb").read())
    n = data.count(SIG)
    if n != 1:
        die(f"{path}: expected exactly one VS_FIXEDFILEINFO signature, found {n}")
    i = data.find(SIG)
    data[i:i + 4] = b"\0\0\0\0"
    write_with_checksum(path, data)


# ---------------------------------------------------------------- PE parsing

class PE:
    def __init__(self, path):
        self.path = path
        self.data = d = open(path, "rb").read()
        if d[:2] != b"MZ":
            die(f"{path}: no MZ header")
        self.pe_off = struct.unpack_from("<I", d, 0x3C)[0]
        if d[self.pe_off:self.pe_off + 4] != b"PE\0\0":
            die(f"{path}: no PE signature")
        coff = self.pe_off + 4
        (self.machine, nsec, self.timestamp, _, _, opt_size, self.characteristics) = struct.unpack_from(
            "<HHIIIHH", d, coff)
        opt = coff + 20
        self.magic = struct.unpack_from("<H", d, opt)[0]
        if self.magic == 0x10B:
            self.kind, dd = "pe32", opt + 96
        elif self.magic == 0x20B:
            self.kind, dd = "pe32+", opt + 112
        else:
            die(f"{path}: unknown optional header magic {self.magic:#x}")
        self.checksum = struct.unpack_from("<I", d, opt + 64)[0]
        self.rsrc_rva, self.rsrc_size = struct.unpack_from("<II", d, dd + 2 * 8)
        self.sections = []
        for i in range(nsec):
            s = opt + opt_size + 40 * i
            name = d[s:s + 8].rstrip(b"\0").decode("ascii", "replace")
            vsize, va, rawsize, rawptr = struct.unpack_from("<IIII", d, s + 8)
            self.sections.append((name, va, max(vsize, rawsize), rawptr, rawsize))
        self.image_end = max((p + n for _, _, _, p, n in self.sections), default=0)

    def off(self, rva):
        for _, va, size, rawptr, rawsize in self.sections:
            if va <= rva < va + size:
                if rva - va >= rawsize:
                    die(f"{self.path}: RVA {rva:#x} lies past the raw data of its section")
                return rawptr + rva - va
        die(f"{self.path}: RVA {rva:#x} in no section")

    def version_resources(self):
        """[(lang, bytes)] for every RT_VERSION leaf, plus the root directory timestamp."""
        if not self.rsrc_rva:
            return [], None
        base = self.off(self.rsrc_rva)
        d = self.data

        def entries(off):
            _, ts, _, _, named, ids = struct.unpack_from("<IIHHHH", d, base + off)
            for i in range(named + ids):
                name, target = struct.unpack_from("<II", d, base + off + 16 + 8 * i)
                yield name, target, ts

        out, root_ts = [], None
        for name, t1, ts in entries(0):
            root_ts = ts
            if name != RT_VERSION or not t1 & 0x80000000:
                continue
            for _, t2, _ in entries(t1 & 0x7FFFFFFF):
                for lang, t3, _ in entries(t2 & 0x7FFFFFFF):
                    rva, size = struct.unpack_from("<II", d, base + t3)
                    o = self.off(rva)
                    out.append((lang, d[o:o + size]))
        if root_ts is None:
            root_ts = struct.unpack_from("<I", d, base + 4)[0]
        return out, root_ts


def align4(n):
    return (n + 3) & ~3


def parse_block(buf, off):
    """One VS_VERSIONINFO-style node: (key, type, value bytes, value words, children, end)."""
    length, vlen, vtype = struct.unpack_from("<HHH", buf, off)
    end = off + length
    p = off + 6
    q = p
    while buf[q:q + 2] != b"\0\0":
        q += 2
    key = buf[p:q].decode("utf-16-le")
    p = align4(q + 2)
    nbytes = vlen * 2 if vtype == 1 else vlen
    value = buf[p:p + nbytes]
    p = align4(p + nbytes)
    children = []
    while p < end:
        child = parse_block(buf, p)
        children.append(child)
        p = align4(child[5])
    return key, vtype, value, vlen, children, end


def parse_version(blob):
    key, _, value, vlen, children, _ = parse_block(blob, 0)
    if key != "VS_VERSION_INFO":
        die(f"unexpected root key {key!r}")
    info = {"fixed": None, "signature": None, "file_type": None, "strings": {}, "translation": []}
    if vlen >= 52:
        sig, _, fvms, fvls, pvms, pvls = struct.unpack_from("<IIIIII", value, 0)
        info["signature"] = sig
        info["file_type"] = struct.unpack_from("<I", value, 36)[0]
        fv = f"{fvms >> 16}.{fvms & 0xFFFF}.{fvls >> 16}.{fvls & 0xFFFF}"
        pv = f"{pvms >> 16}.{pvms & 0xFFFF}.{pvls >> 16}.{pvls & 0xFFFF}"
        info["fixed"] = (fv, pv)
    for ckey, _, _, _, kids, _ in children:
        if ckey == "StringFileInfo":
            for table, _, _, _, strings, _ in kids:
                t = info["strings"].setdefault(table, {})
                for skey, _, sval, _, _, _ in strings:
                    t[skey] = sval.decode("utf-16-le").rstrip("\0")
        elif ckey == "VarFileInfo":
            for vkey, _, vval, _, _, _ in kids:
                if vkey == "Translation":
                    for i in range(0, len(vval) - 3, 4):
                        info["translation"].append(struct.unpack_from("<HH", vval, i))
    return info


def describe(path):
    pe = PE(path)
    res, rsrc_ts = pe.version_resources()
    infos = [(lang, parse_version(blob)) for lang, blob in res]
    return pe, rsrc_ts, infos


MACHINE = {"pe32": 0x14C, "pe32+": 0x8664}
IMAGE_FILE_DLL = 0x2000
VFT_APP, VFT_DLL = 1, 2


def cmd_verify(a):
    pe, rsrc_ts, infos = describe(a.file)
    where = a.file
    if a.size is not None and len(pe.data) != a.size:
        die(f"{where}: size {len(pe.data)}, expected {a.size}")
    if a.arch and (pe.kind != a.arch or pe.machine != MACHINE[a.arch]):
        die(f"{where}: is {pe.kind} machine {pe.machine:#x}, expected {a.arch}")
    if pe.timestamp != 0:
        die(f"{where}: COFF TimeDateStamp is {pe.timestamp:#x}, expected 0 (deterministic build)")
    if pe.checksum != pe_checksum(pe.data):
        die(f"{where}: CheckSum {pe.checksum:#x} is stale, the file sums to {pe_checksum(pe.data):#x}")
    if rsrc_ts not in (None, 0):
        die(f"{where}: resource directory TimeDateStamp is {rsrc_ts:#x}, expected 0")
    if bool(pe.characteristics & IMAGE_FILE_DLL) != a.dll:
        die(f"{where}: COFF characteristics {pe.characteristics:#06x}, expected {'a' if a.dll else 'no'} DLL flag")
    if a.no_version:
        if infos:
            die(f"{where}: has a version resource, expected none")
        return
    if len(infos) != 1:
        die(f"{where}: {len(infos)} RT_VERSION resources, expected 1")
    info = infos[0][1]
    if a.bad_signature:
        if info["signature"] == 0xFEEF04BD:
            die(f"{where}: VS_FIXEDFILEINFO signature still valid")
    elif a.fixed:
        if info["signature"] != 0xFEEF04BD:
            die(f"{where}: bad VS_FIXEDFILEINFO signature {info['signature']}")
        if info["fixed"] != (a.fixed, a.fixed):
            die(f"{where}: fixed versions {info['fixed']}, expected {a.fixed}")
        want_type = VFT_DLL if a.dll else VFT_APP
        if info["file_type"] != want_type:
            die(f"{where}: file type {info['file_type']}, expected {want_type}")
    for spec in a.string:
        block, kv = spec.split(":", 1)
        k, v = kv.split("=", 1)
        v = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), v)
        got = info["strings"].get(block, {}).get(k)
        if got != v:
            die(f"{where}: {block}/{k} is {got!r}, expected {v!r}")
    if a.translation:
        want = [tuple(int(x, 16) for x in t.split(":")) for t in a.translation]
        if info["translation"] != want:
            die(f"{where}: Translation {info['translation']}, expected {want}")
        if sorted(info["strings"]) != sorted(f"{l:04x}{c:04x}" for l, c in want):
            die(f"{where}: string tables {sorted(info['strings'])} do not match Translation {want}")


def cmd_dump(paths):
    for path in paths:
        pe, rsrc_ts, infos = describe(path)
        print(f"{path}")
        print(f"  {pe.kind} machine={pe.machine:#06x} size={len(pe.data)} image_end={pe.image_end} "
              f"overlay={len(pe.data) - pe.image_end} coff_timestamp={pe.timestamp:#x} "
              f"rsrc_timestamp={rsrc_ts if rsrc_ts is None else hex(rsrc_ts)} checksum={pe.checksum:#x}"
              f"{'' if pe.checksum == pe_checksum(pe.data) else ' (STALE)'}")
        if not infos:
            print("  no version resource")
        for lang, info in infos:
            sig = info["signature"]
            print(f"  RT_VERSION lang={lang:#06x} signature={'none' if sig is None else hex(sig)} "
                  f"fixed FILEVERSION/PRODUCTVERSION={info['fixed']}")
            print(f"  Translation={[f'{l:#06x},{c}' for l, c in info['translation']]}")
            for table, strings in info["strings"].items():
                for k, v in strings.items():
                    print(f"    {table} {k} = {v!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pad")
    p.add_argument("file")
    p.add_argument("size", type=int)
    p = sub.add_parser("zero-fixedinfo")
    p.add_argument("file")
    p = sub.add_parser("verify")
    p.add_argument("file")
    p.add_argument("--arch", choices=sorted(MACHINE))
    p.add_argument("--fixed")
    p.add_argument("--bad-signature", action="store_true")
    p.add_argument("--no-version", action="store_true")
    p.add_argument("--string", action="append", default=[])
    p.add_argument("--translation", action="append", default=[])
    p.add_argument("--size", type=int)
    p.add_argument("--dll", action="store_true")
    p = sub.add_parser("dump")
    p.add_argument("files", nargs="+")
    a = ap.parse_args()
    if a.cmd == "pad":
        cmd_pad(a.file, a.size)
    elif a.cmd == "zero-fixedinfo":
        cmd_zero_fixedinfo(a.file)
    elif a.cmd == "verify":
        cmd_verify(a)
    else:
        cmd_dump(a.files)


if __name__ == "__main__":
    main()
