#!/usr/bin/env bash
# Builds the disk images the tests scan (tests/images/*.img.gz) from the example systems in
# sample_binaries/systems, without mounting anything (no FUSE, no loop devices, no root for
# the file systems themselves):
#
#   FAT12/16/32  mkfs.fat (dosfstools) + mcopy/mdel (mtools)
#   NTFS         mkntfs (ntfs-3g) + tests/images/ntfsput.c, a small helper against
#                libntfs-3g (ntfs-3g-dev): the ntfs-3g tools cannot create folders
#                without mounting (ntfscp only copies a file into an existing folder)
#   tables       sfdisk (fdisk): MBR with an extended partition holding logical ones, GPT
#
# Every NTFS volume also gives "Windows Media" and the live Nscm.exe a separate DOS 8.3 name.
#
# Images:
#   mbr.img          MBR: p1 FAT16 = w2k-sp4-vulnerable; p2 extended holding
#                    p5 FAT32 = w2k-sp4-patched and p6 NTFS = w2k-sp4-patched.
#                    In p5 and p6 the live Nscm.exe is fragmented, and it reuses the directory
#                    entry (FAT) / MFT record (NTFS) of a deleted vulnerable Nscm.exe.
#   gpt.img          GPT: p1 FAT32 = w2k-sp4-vulnerable, p2 FAT16 = w2k-sp4-patched,
#                    p3 NTFS = w2k-sp4-vulnerable, p4 FAT12 = backup-copies-only.
#   ntfs-damaged.img one NTFS volume, no partition table: w2k-sp4-patched plus
#                    Extra/Nscm.exe stored NTFS-compressed, and the MFT record of
#                    WINNT/$NTUninstallKB832359$/Nspmon.exe overwritten ("BAAD").
#   ntfs-reparse.img MBR, two NTFS volumes = w2k-sp4-patched with reparse points set by
#                    `ntfsput reparse` (libntfs-3g ntfs_set_ntfs_reparse_data):
#                    p1, all off the install path: /Links/Junction (junction, holding a
#                    Nscm.exe that must not be seen), /Links/Symlink (symbolic link),
#                    /Users/me/OneDrive (IO_REPARSE_TAG_CLOUD_6 folder holding a live
#                    Nscm.exe), /Vendor (unknown non-Microsoft tag 0x0000BEEF, holding Nscm.exe);
#                    p2: WINNT/system32/Windows Media made a junction (on the install path),
#                    /Cloud/Nspmon.exe a cloud file not downloaded (offline), /Dedup/Nscm.exe
#                    deduplicated, /Wof/Nscm.exe WOF-compressed (WofCompressedData stream).
#   ntfs-backdated.img MBR, two NTFS volumes (issue 14), every file and folder created with
#                    libntfs-3g's clock at 2004-03-17T15:15:04Z (NTFSPUT_NOW), 2 s after the
#                    install moment of w2k-server1's update log; then the live
#                    WINNT/system32/Windows Media/Server/Nscm.exe back-dated with
#                    `ntfsput backdate-si`: its four $STANDARD_INFORMATION times set to
#                    2001-08-15T12:00:00Z, its $FILE_NAME times left at 2004-03-17T15:15:04Z.
#                    p1 = w2k-server1 (update log, hives with key times, time zone);
#                    p2 = w2k-server1's files only (no update log, no hives): file-system times
#                    are all there is.
#
#   bash tests/images/build.sh reparse     builds only ntfs-reparse.img (the others are kept)
#   bash tests/images/build.sh backdated   builds only ntfs-backdated.img
#
# Everything but the file system contents is zeros, so the gzipped images are small. mkntfs
# writes a random volume serial and GUIDs, so rebuilt NTFS images differ in those bytes; the
# tests compare what kbscan reads from the files, not image hashes.
#
#   bash tests/images/build.sh        (installs the Debian packages it needs with apt-get)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
systems="$repo/sample_binaries/systems"

need=()
for tool in mkfs.fat:dosfstools mcopy:mtools mkntfs:ntfs-3g sfdisk:fdisk gcc:gcc python3:python3 ifind:sleuthkit; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
[ -e /usr/include/ntfs-3g/volume.h ] || need+=(ntfs-3g-dev)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -O1 -Wall -o "$work/ntfsput" "$here/ntfsput.c" -lntfs-3g
ntfsput="$work/ntfsput"
export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
MIB=2048 # sectors of 512 bytes

# fat VOLUME SIZE_MIB FATBITS SYSTEM [fragment]
fat() {
    local vol="$1" mib="$2" bits="$3" sys="$4" frag="${5:-}"
    rm -f "$vol"
    local extra=()
    [ "$bits" = 32 ] && extra=(-s 1)
    mkfs.fat --invariant -i 4B53434E -n KBSCAN -F "$bits" "${extra[@]}" -C "$vol" $((mib * 1024)) >/dev/null
    local src="$systems/$sys"
    if [ -n "$frag" ]; then
        local server="WINNT/system32/Windows Media/Server"
        mmd -i "$vol" ::/WINNT ::/WINNT/system32 "::/WINNT/system32/Windows Media" "::/$server"
        # 300 one-cluster fillers, every other one deleted: 150 one-cluster holes.
        head -c 512 /dev/zero | tr '\0' 'Z' >"$work/filler"
        for i in $(seq 1 300); do mcopy -i "$vol" "$work/filler" "::/F$i.BIN"; done
        for i in $(seq 1 2 300); do mdel -i "$vol" "::/F$i.BIN"; done
        # A vulnerable Nscm.exe, deleted: the real one takes its directory slot.
        mcopy -i "$vol" "$systems/w2k-sp4-vulnerable/$server/Nscm.exe" "::/$server/Nscm.exe"
        mdel -i "$vol" "::/$server/Nscm.exe"
        # FAT32 keeps a "next free cluster" hint in its FSInfo sector, so the holes would be
        # skipped: set it to "unknown" and the allocator starts from the first free cluster.
        if [ "$bits" = 32 ]; then
            python3 - "$vol" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    boot = f.read(512)
    bps = struct.unpack_from("<H", boot, 11)[0]
    fsinfo = struct.unpack_from("<H", boot, 0x30)[0]
    f.seek(fsinfo * bps + 0x1EC)
    f.write(b"\xff\xff\xff\xff")
PY
        fi
        # The live Nscm.exe next, scattered over the holes; then the rest of the tree.
        mcopy -m -i "$vol" "$src/$server/Nscm.exe" "::/$server/Nscm.exe"
        rm -rf "$work/stage"
        cp -a "$src" "$work/stage"
        rm "$work/stage/$server/Nscm.exe"
        src="$work/stage"
    fi
    mcopy -s -m -n -o -i "$vol" "$src/WINNT" ::/
    if [ -n "$frag" ]; then
        for i in $(seq 2 2 300); do mdel -i "$vol" "::/F$i.BIN"; done
    fi
}

# ntfs VOLUME SIZE_MIB SYSTEM [fragment]
ntfs() {
    local vol="$1" mib="$2" sys="$3" frag="${4:-}"
    rm -f "$vol"
    truncate -s "${mib}M" "$vol"
    mkntfs -q -F -f -c 4096 -s 512 -L KBSCAN "$vol" >/dev/null 2>&1
    if [ -n "$frag" ]; then
        local live="/WINNT/system32/Windows Media/Server/Nscm.exe"
        "$ntfsput" "$vol" put "$systems/w2k-sp4-vulnerable/WINNT/system32/Windows Media/Server/Nscm.exe" "$live"
        "$ntfsput" "$vol" rm "$live"
        "$ntfsput" "$vol" frag "$systems/$sys/WINNT/system32/Windows Media/Server/Nscm.exe" "$live"
        "$ntfsput" "$vol" rm "/WINNT/system32/Windows Media/Server/filler.bin"
    fi
    "$ntfsput" "$vol" copy "$systems/$sys"
    # DOS 8.3 names as Windows gives them: the folder's and the file's index then hold a Win32
    # and a separate DOS entry for the same record (the DOS one must be skipped, or the
    # folder would be met twice).
    "$ntfsput" "$vol" dosname "/WINNT/system32/Windows Media" WINDOW~1
    "$ntfsput" "$vol" dosname "/WINNT/system32/Windows Media/Server/Nscm.exe" NSCM~1.EXE
}

# place DISK VOLUME START_SECTOR
place() { dd if="$2" of="$1" bs=512 seek="$3" conv=notrunc status=none; }

reparse_image() {
    local srv="$systems/w2k-sp4-patched/WINNT/system32/Windows Media/Server"
    ntfs "$work/r1" 8 w2k-sp4-patched
    "$ntfsput" "$work/r1" put "$srv/Nscm.exe" /Links/Junction/Nscm.exe
    "$ntfsput" "$work/r1" reparse /Links/Junction A0000003 dir
    "$ntfsput" "$work/r1" reparse /Links/Symlink A000000C dir
    "$ntfsput" "$work/r1" put "$srv/Nscm.exe" /Users/me/OneDrive/Nscm.exe
    "$ntfsput" "$work/r1" reparse /Users/me/OneDrive 9000601A dir
    "$ntfsput" "$work/r1" put "$srv/Nscm.exe" /Vendor/Nscm.exe
    "$ntfsput" "$work/r1" reparse /Vendor 0000BEEF dir
    ntfs "$work/r2" 8 w2k-sp4-patched
    "$ntfsput" "$work/r2" reparse "/WINNT/system32/Windows Media" A0000003 dir
    "$ntfsput" "$work/r2" put "$srv/Nspmon.exe" /Cloud/Nspmon.exe
    "$ntfsput" "$work/r2" reparse /Cloud/Nspmon.exe 9000001A file offline
    "$ntfsput" "$work/r2" put "$srv/Nscm.exe" /Dedup/Nscm.exe
    "$ntfsput" "$work/r2" reparse /Dedup/Nscm.exe 80000013 file
    "$ntfsput" "$work/r2" put "$srv/Nscm.exe" /Wof/Nscm.exe
    "$ntfsput" "$work/r2" reparse /Wof/Nscm.exe 80000017 file wof
    local disk="$work/ntfs-reparse.img"
    truncate -s 18M "$disk"
    sfdisk -q "$disk" <<EOF
label: dos
label-id: 0x6b627370
start=$((1 * MIB)), size=$((8 * MIB)), type=7
start=$((9 * MIB)), size=$((8 * MIB)), type=7
EOF
    place "$disk" "$work/r1" $((1 * MIB))
    place "$disk" "$work/r2" $((9 * MIB))
    gzip -9 -n -c "$disk" >"$here/ntfs-reparse.img.gz"
}

# The times of ntfs-backdated.img (Unix seconds, UTC); tests/install_time.rs checks them.
CREATED_AT=$(date -u -d 2004-03-17T15:15:04Z +%s)
BACKDATED_TO=$(date -u -d 2001-08-15T12:00:00Z +%s)

backdated_image() {
    local live="/WINNT/system32/Windows Media/Server/Nscm.exe"
    rm -rf "$work/files-only"
    cp -a "$systems/w2k-server1" "$work/files-only"
    rm "$work/files-only/WINNT/KB832359.log" "$work/files-only/WINNT/system32/config/SOFTWARE" \
        "$work/files-only/WINNT/system32/config/SYSTEM"
    rmdir "$work/files-only/WINNT/system32/config"
    local part src
    for part in b1 b2; do
        src="$systems/w2k-server1"
        [ "$part" = b2 ] && src="$work/files-only"
        rm -f "$work/$part"
        truncate -s 8M "$work/$part"
        mkntfs -q -F -f -c 4096 -s 512 -L KBSCAN "$work/$part" >/dev/null 2>&1
        NTFSPUT_NOW=$CREATED_AT "$ntfsput" "$work/$part" copy "$src"
        "$ntfsput" "$work/$part" backdate-si "$live" \
            "$BACKDATED_TO" "$BACKDATED_TO" "$BACKDATED_TO" "$BACKDATED_TO"
    done
    local disk="$work/ntfs-backdated.img"
    rm -f "$disk"
    truncate -s 18M "$disk"
    sfdisk -q "$disk" <<EOF
label: dos
label-id: 0x6b627369
start=$((1 * MIB)), size=$((8 * MIB)), type=7
start=$((9 * MIB)), size=$((8 * MIB)), type=7
EOF
    place "$disk" "$work/b1" $((1 * MIB))
    place "$disk" "$work/b2" $((9 * MIB))
    # What sleuthkit reads, for the record (tests/install_time.rs compares kbscan with it).
    local inode
    inode=$(ifind -n "${live#/}" "$work/b1")
    TZ=UTC istat -z UTC "$work/b1" "$inode" | sed -n '/^\$STANDARD_INFORMATION/,/^Attributes:/p'
    gzip -9 -n -c "$disk" >"$here/ntfs-backdated.img.gz"
}

if [ "${1:-}" = backdated ]; then
    backdated_image
    ls -l "$here/ntfs-backdated.img.gz"
    exit 0
fi

if [ "${1:-}" = reparse ]; then
    reparse_image
    ls -l "$here/ntfs-reparse.img.gz"
    exit 0
fi

# --- mbr.img -----------------------------------------------------------------------------
fat "$work/p1" 16 16 w2k-sp4-vulnerable
fat "$work/p5" 34 32 w2k-sp4-patched fragment
ntfs "$work/p6" 8 w2k-sp4-patched fragment
disk="$work/mbr.img"
truncate -s 64M "$disk"
sfdisk -q "$disk" <<EOF
label: dos
start=$((1 * MIB)), size=$((16 * MIB)), type=6
start=$((18 * MIB)), type=f
start=$((19 * MIB)), size=$((34 * MIB)), type=c
start=$((54 * MIB)), size=$((8 * MIB)), type=7
EOF
place "$disk" "$work/p1" $((1 * MIB))
place "$disk" "$work/p5" $((19 * MIB))
place "$disk" "$work/p6" $((54 * MIB))

# --- gpt.img -----------------------------------------------------------------------------
fat "$work/g1" 34 32 w2k-sp4-vulnerable
fat "$work/g2" 16 16 w2k-sp4-patched
ntfs "$work/g3" 8 w2k-sp4-vulnerable
fat "$work/g4" 2 12 backup-copies-only
disk="$work/gpt.img"
truncate -s 64M "$disk"
sfdisk -q "$disk" <<EOF
label: gpt
label-id: 6B627363-616E-4000-8000-000000000001
start=$((1 * MIB)), size=$((34 * MIB)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=6B627363-616E-4000-8000-000000000011
start=$((36 * MIB)), size=$((16 * MIB)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=6B627363-616E-4000-8000-000000000012
start=$((53 * MIB)), size=$((8 * MIB)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=6B627363-616E-4000-8000-000000000013
start=$((61 * MIB)), size=$((2 * MIB)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=6B627363-616E-4000-8000-000000000014
EOF
place "$disk" "$work/g1" $((1 * MIB))
place "$disk" "$work/g2" $((36 * MIB))
place "$disk" "$work/g3" $((53 * MIB))
place "$disk" "$work/g4" $((61 * MIB))

# --- ntfs-damaged.img --------------------------------------------------------------------
vol="$work/ntfs-damaged.img"
ntfs "$vol" 8 w2k-sp4-patched
"$ntfsput" "$vol" compress "$systems/w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nscm.exe" /Extra/Nscm.exe
python3 - "$vol" "$work/ntfsput" <<'PY'
# Overwrite the signature of one file's MFT record: the record becomes unreadable.
import struct, subprocess, sys
vol = sys.argv[1]
out = subprocess.run(["ifind", "-n", "WINNT/$NTUninstallKB832359$/Nspmon.exe", vol],
                     check=True, capture_output=True, text=True).stdout.split()
record = int(out[0])
with open(vol, "r+b") as f:
    boot = f.read(512)
    bps, spc = struct.unpack_from("<HB", boot, 11)
    mft_lcn = struct.unpack_from("<Q", boot, 0x30)[0]
    pos = mft_lcn * bps * spc + record * 1024
    f.seek(pos)
    assert f.read(4) == b"FILE", "not an MFT record"
    f.seek(pos)
    f.write(b"BAAD")
print(f"corrupted MFT record {record}")
PY

for img in mbr gpt ntfs-damaged; do
    gzip -9 -n -c "$work/$img.img" >"$here/$img.img.gz"
done
reparse_image
backdated_image
ls -l "$here"/*.img.gz
