#!/usr/bin/env bash
# Builds, from one raw disk image, the same disk in every container kbscan reads, with the
# real tools examiners use. tests/containers.rs runs it at test time (nothing is committed):
#
#   bash tests/images/build-containers.sh RAW OUTDIR
#
#   OUTDIR/e01/disk.E01 .E02 .E03  ewfacquire, encase6, no compression, 3 segments
#   OUTDIR/e01fast/disk.E01        ewfacquire, encase6, fast (deflate) compression, MD5+SHA-1
#   OUTDIR/smart/disk.s01          ewfacquire, SMART format, best compression
#   OUTDIR/vhd-fixed.img           qemu-img, VHD fixed (named .img: recognised by content)
#   OUTDIR/vhd-dynamic.vhd         qemu-img, VHD dynamic
#   OUTDIR/disk.vhdx               qemu-img, VHDX dynamic
#   OUTDIR/stream.vmdk             qemu-img, VMDK streamOptimized
#   OUTDIR/sparse.vmdk             qemu-img, VMDK monolithicSparse
#   OUTDIR/flat.vmdk (+ -flat)     qemu-img, VMDK monolithicFlat (descriptor + extent)
#   OUTDIR/split/two.vmdk (+ -s00N) qemu-img, VMDK twoGbMaxExtentSparse
#   OUTDIR/disk.qcow2              qemu-img, qcow2 v3
#   OUTDIR/compressed.qcow2        qemu-img, qcow2 v2 (compat=0.10), compressed clusters
#   OUTDIR/child.vmdk, child.qcow2  differencing disks over sparse.vmdk and disk.qcow2 with
#                                   nothing of their own, naming their parent by its absolute
#                                   path (qemu-img cannot write a differencing VHD)
#   OUTDIR/chain/top.qcow2         a chain of three: top.qcow2 over mid.vmdk (monolithicSparse)
#                                  over base.vmdk (a VMDK's parent must be a VMDK), each child
#                                  with a sector of its own written by qemu-io (a byte changed in
#                                  a program's DOS stub), top.qcow2 also a zeroed cluster over
#                                  data; OUTDIR/chain/raw-child.qcow2 over
#                                  a raw parent; each with X.ref.raw, qemu-img's conversion of
#                                  the chain to raw, to compare with
#
# Needs qemu-img (Debian qemu-utils) and ewfacquire (Debian ewf-tools); installs them with
# apt-get when missing and run as root.
set -euo pipefail
raw="$(realpath "$1")"
out="$2"
mkdir -p "$out"
need=()
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v ewfacquire >/dev/null 2>&1 || need+=(ewf-tools)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then echo "missing: ${need[*]}" >&2; exit 3; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cd "$out"
size=$(stat -c %s "$raw")
ewf() { # DIR FORMAT COMPRESSION SEGMENT_BYTES [extra...]
    local dir="$1" fmt="$2" comp="$3" seg="$4"
    shift 4
    mkdir -p "$dir"
    ewfacquire -u -q -t "$dir/disk" -f "$fmt" -c "$comp" -S "$seg" -b 64 \
        -C "CASE-12" -D "kbscan test disk" -e "Examiner E" -E "EV-1" -N "notes" "$@" "$raw" >/dev/null
}
ewf e01 encase6 none $((24 * 1024 * 1024))
ewf e01fast encase6 fast $((1500 * 1024 * 1024)) -d sha1
ewf smart smart best $((1500 * 1024 * 1024))
qemu-img convert -q -f raw -O vpc -o subformat=fixed,force_size=on "$raw" vhd-fixed.img
qemu-img convert -q -f raw -O vpc -o subformat=dynamic,force_size=on "$raw" vhd-dynamic.vhd
qemu-img convert -q -f raw -O vhdx "$raw" disk.vhdx
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized "$raw" stream.vmdk
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse "$raw" sparse.vmdk
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicFlat "$raw" flat.vmdk
mkdir -p split
qemu-img convert -q -f raw -O vmdk -o subformat=twoGbMaxExtentSparse "$raw" split/two.vmdk
qemu-img convert -q -f raw -O qcow2 "$raw" disk.qcow2
qemu-img convert -q -c -f raw -O qcow2 -o compat=0.10 "$raw" compressed.qcow2
# Differencing disks naming their parent by its absolute path, nothing of their own.
qemu-img create -q -f vmdk -b "$(realpath sparse.vmdk)" -F vmdk child.vmdk
qemu-img create -q -f qcow2 -b "$(realpath disk.qcow2)" -F qcow2 child.qcow2
# A chain of three formats, each child with data of its own (relative locators).
mkdir -p chain
(
    cd chain
    # Three sectors holding a program's DOS stub ("This program cannot be run"), in three
    # different 64 KiB clusters: each gets one byte changed, as a 512-byte pattern file for
    # qemu-io, at the sector's offset.
    python3 - "$raw" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
at, n, seen = 0, 0, set()
while n < 3:
    i = d.find(b"This program cannot be run in DOS mode", at)
    if i < 0:
        sys.exit("fewer than three DOS stubs in the image")
    s = i - i % 512
    if s // 65536 not in seen:
        b = bytearray(d[s:s + 512])
        b[i - s] ^= 0x20
        open(f"patch{n}", "wb").write(b)
        open(f"patch{n}.at", "w").write(str(s))
        seen.add(s // 65536)
        n += 1
    at = i + 1
PY
    qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse "$raw" base.vmdk
    # (A VMDK's parent must be a VMDK: qcow2 goes on top.)
    qemu-img create -q -f vmdk -b base.vmdk -F vmdk mid.vmdk
    qemu-io -f vmdk -c "write -q -s patch0 $(cat patch0.at) 512" mid.vmdk
    qemu-img create -q -f qcow2 -b mid.vmdk -F vmdk top.qcow2
    qemu-io -f qcow2 -c "write -q -s patch1 $(cat patch1.at) 512" top.qcow2
    # A whole cluster of zeros of the child's own (a qcow2 v3 zero cluster), over data.
    zero=$(( $(cat patch2.at) / 65536 * 65536 ))
    qemu-io -f qcow2 -c "write -q -z $zero 65536" top.qcow2
    cp "$raw" base.img
    qemu-img create -q -f qcow2 -b base.img -F raw raw-child.qcow2
    qemu-io -f qcow2 -c "write -q -s patch1 $(cat patch1.at) 512" raw-child.qcow2
    for x in top.qcow2 mid.vmdk raw-child.qcow2; do
        qemu-img convert -q -O raw "$x" "$x.ref.raw"
    done
    rm -f patch*
)
echo "built from $raw ($size bytes) in $out"
