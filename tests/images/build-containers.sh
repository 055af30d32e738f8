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
#   OUTDIR/child.vmdk, child.qcow2  differencing disks whose parent is absent (qemu-img
#                                   cannot write a differencing VHD)
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
# Differencing disks whose parent is then removed.
mkdir -p parents
qemu-img create -q -f vmdk -b "$(realpath sparse.vmdk)" -F vmdk parents-child.vmdk
mv parents-child.vmdk child.vmdk
qemu-img create -q -f qcow2 -b "$(realpath disk.qcow2)" -F qcow2 child.qcow2
rm -rf parents
echo "built from $raw ($size bytes) in $out"
