#!/usr/bin/env bash
# Rebuilds kbscan's sample binaries and the example systems under systems/.
#
# These are tiny stand-ins built from src/prog.c and the VERSIONINFO scripts in src/*.rc;
# they are NOT Microsoft's Nscm.exe / Nspmon.exe and contain no Microsoft code.
#
# Needs the Debian packages gcc-mingw-w64-i686, gcc-mingw-w64-x86-64 and binutils-mingw-w64,
# plus python3 (standard library only) and coreutils. Runs from any directory:
#
#     bash sample_binaries/build.sh
#
# The output is deterministic: the same toolchain gives byte-identical files, so
# SHA256SUMS and MD5SUMS only change when the sources or the toolchain change.
# systems/ is deleted and recreated on every run.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/src
SYSTEMS=$HERE/systems
export LC_ALL=C TZ=UTC
umask 022

for tool in i686-w64-mingw32-gcc i686-w64-mingw32-windres \
            x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres python3 sha256sum md5sum; do
    command -v "$tool" >/dev/null || {
        echo "build.sh: $tool not found (apt-get install gcc-mingw-w64-i686 gcc-mingw-w64-x86-64 binutils-mingw-w64 python3)" >&2
        exit 1
    }
done

# -Os -s                   small, no symbol table (so an appended overlay is the file's tail)
# --no-insert-timestamp    ld writes 0 as the COFF TimeDateStamp instead of the build time
# windres already writes 0 as the resource directory timestamp, and nothing else in the
# image depends on the time or the build directory (postprocess.py verify checks both
# timestamps for every file).
CFLAGS=(-Os -s -Wl,--no-insert-timestamp)

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/kbscan-samples.XXXXXXXX")
trap 'rm -rf -- "$BUILD"' EXIT

pp() { python3 "$SRC/postprocess.py" "$@"; }

# build ARCH RC|- OUT: link src/prog.c with the resource script RC (or none) for ARCH.
build() {
    local arch=$1 rc=$2 out=$BUILD/$3
    local objs=()
    if [[ $rc != - ]]; then
        "$arch-w64-mingw32-windres" -O coff -i "$SRC/$rc" -o "$out.res.o"
        objs=("$out.res.o")
    fi
    "$arch-w64-mingw32-gcc" "${CFLAGS[@]}" -o "$out" "$SRC/prog.c" "${objs[@]}"
}

# build_dll ARCH RC OUT-DIR: link src/isapi.c as a DLL with the resource script RC, as
# OUT-DIR/nsiislog.dll. ld writes the output file's name into the DLL's export directory, so
# every variant is linked under its real name in a folder of its own; and ld derives a DLL's
# image base from the output path unless told not to (--disable-auto-image-base: 0x10000000).
build_dll() {
    local arch=$1 rc=$2 dir=$BUILD/$3
    mkdir -p -- "$dir"
    "$arch-w64-mingw32-windres" -O coff -i "$SRC/$rc" -o "$dir/res.o"
    "$arch-w64-mingw32-gcc" "${CFLAGS[@]}" -shared -Wl,--disable-auto-image-base \
        -o "$dir/nsiislog.dll" "$SRC/isapi.c" "$dir/res.o"
}

build i686   nscm_4.1.0.3917.rc       nscm-4.1.0.3917-x86.exe
build i686   nspmon_4.1.0.3917.rc     nspmon-4.1.0.3917-x86.exe
build i686   nscm_4.1.0.3934.rc       nscm-4.1.0.3934-x86.exe
build x86_64 nspmon_4.1.0.3934.rc     nspmon-4.1.0.3934-x64.exe
build i686   nscm_4.1.0.3936.rc       nscm-4.1.0.3936-x86.exe
build i686   nscm_version_mismatch.rc nscm-mismatch-x86.exe
build x86_64 nscm_two_languages.rc    nscm-two-languages-x64.exe
build i686   -                        nscm-no-version-x86.exe
build i686   nspmon_string_only.rc    nspmon-string-only-x86.exe
# The later WMS 4.1 bulletins (issue 13): nsum.exe (MS08-076, MS10-025) and nsiislog.dll
# (MS03-019, MS03-022). Not padded: no English size of these builds is published (see README).
build i686   nsum_4.1.0.3917.rc       nsum-4.1.0.3917-x86.exe
build i686   nsum_4.1.0.3936.rc       nsum-4.1.0.3936-x86.exe
build i686   nsum_4.1.0.3939.rc       nsum-4.1.0.3939-x86.exe
build_dll i686 nsiislog_4.1.0.3917.rc nsiislog-4.1.0.3917-x86
build_dll i686 nsiislog_4.1.0.3932.rc nsiislog-4.1.0.3932-x86

# Byte edits: pad the fixed builds to the sizes Microsoft published for KB832359
# (zero-byte overlay after the PE image), and break the VS_FIXEDFILEINFO signature
# of the string-only sample.
pp pad "$BUILD/nscm-4.1.0.3934-x86.exe" 222384
pp pad "$BUILD/nspmon-4.1.0.3934-x64.exe" 31808
pp zero-fixedinfo "$BUILD/nspmon-string-only-x86.exe"

# Check every built binary before it goes anywhere.
E=040904b0
G=040704b0
pp verify "$BUILD/nscm-4.1.0.3917-x86.exe" --arch pe32 --fixed 4.1.0.3917 \
    --string "$E:FileVersion=4.1.0.3917" --string "$E:ProductVersion=4.1.0.3917" \
    --string "$E:OriginalFilename=Nscm.exe" --translation 0409:04b0
pp verify "$BUILD/nspmon-4.1.0.3917-x86.exe" --arch pe32 --fixed 4.1.0.3917 \
    --string "$E:FileVersion=4.1.0.3917" --string "$E:OriginalFilename=Nspmon.exe" --translation 0409:04b0
pp verify "$BUILD/nscm-4.1.0.3934-x86.exe" --arch pe32 --fixed 4.1.0.3934 --size 222384 \
    --string "$E:FileVersion=4.1.0.3934" --string "$E:OriginalFilename=Nscm.exe" --translation 0409:04b0
pp verify "$BUILD/nspmon-4.1.0.3934-x64.exe" --arch pe32+ --fixed 4.1.0.3934 --size 31808 \
    --string "$E:FileVersion=4.1.0.3934" --string "$E:OriginalFilename=Nspmon.exe" --translation 0409:04b0
pp verify "$BUILD/nscm-4.1.0.3936-x86.exe" --arch pe32 --fixed 4.1.0.3936 \
    --string "$E:FileVersion=4.1.0.3936" --translation 0409:04b0
pp verify "$BUILD/nscm-mismatch-x86.exe" --arch pe32 --fixed 4.1.0.3917 \
    --string "$E:FileVersion=4.1.0.3934" --translation 0409:04b0
pp verify "$BUILD/nscm-two-languages-x64.exe" --arch pe32+ --fixed 4.1.0.3934 \
    --string "$E:FileVersion=4.1.0.3934" --string "$G:FileVersion=4, 1, 0, 3934" \
    --string "$G:FileDescription=Windows Media-Stationsdienst (Testdatei f\\u00fcr kbscan)" \
    --translation 0409:04b0 --translation 0407:04b0
pp verify "$BUILD/nscm-no-version-x86.exe" --arch pe32 --no-version
pp verify "$BUILD/nspmon-string-only-x86.exe" --arch pe32 --bad-signature \
    --string "$E:FileVersion=4.1.00.3934 (srv_wms.040115-1200)" --translation 0409:04b0
for v in 4.1.0.3917 4.1.0.3936 4.1.0.3939; do
    pp verify "$BUILD/nsum-$v-x86.exe" --arch pe32 --fixed $v \
        --string "$E:FileVersion=$v" --string "$E:ProductVersion=$v" \
        --string "$E:OriginalFilename=nsum.exe" --translation 0409:04b0
done
for v in 4.1.0.3917 4.1.0.3932; do
    pp verify "$BUILD/nsiislog-$v-x86/nsiislog.dll" --arch pe32 --dll --fixed $v \
        --string "$E:FileVersion=$v" --string "$E:ProductVersion=$v" \
        --string "$E:OriginalFilename=nsiislog.dll" --translation 0409:04b0
done
# The umlaut must be stored as UTF-16LE U+00FC ("f\xfcr" = 66 00 FC 00 72 00), not as
# the two UTF-8 bytes read as Windows-1252 ("fÃ¼r"); windres needs the code_page pragma.
python3 - "$BUILD/nscm-two-languages-x64.exe" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
good = "Testdatei f\u00fcr kbscan".encode("utf-16-le")
bad = "f\u00c3\u00bcr".encode("utf-16-le")
assert data.count(good) == 2 and bad not in data, "umlaut not stored as UTF-16 U+00FC"
PY

# Lay out the example systems.
rm -rf -- "$SYSTEMS"
place() { # place BUILT-NAME DEST-PATH-BELOW-systems/
    mkdir -p -- "$(dirname -- "$SYSTEMS/$2")"
    cp -- "$BUILD/$1" "$SYSTEMS/$2"
    chmod 0644 -- "$SYSTEMS/$2"
}
WMS='WINNT/system32/Windows Media/Server'

place nscm-4.1.0.3917-x86.exe     "w2k-sp4-vulnerable/$WMS/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-sp4-vulnerable/$WMS/Nspmon.exe"

place nscm-4.1.0.3934-x86.exe     "w2k-sp4-patched/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-sp4-patched/$WMS/Nspmon.exe"
place nscm-4.1.0.3917-x86.exe     'w2k-sp4-patched/WINNT/$NTUninstallKB832359$/Nscm.exe'
place nspmon-4.1.0.3917-x86.exe   'w2k-sp4-patched/WINNT/$NTUninstallKB832359$/Nspmon.exe'

place nscm-4.1.0.3936-x86.exe     "w2k-later-update/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-later-update/$WMS/Nspmon.exe"

place nscm-mismatch-x86.exe       "odd-version-mismatch/$WMS/Nscm.exe"
place nscm-two-languages-x64.exe  "odd-two-languages/$WMS/NSCM.EXE"
place nscm-no-version-x86.exe     "odd-no-version/$WMS/nscm.exe"
place nspmon-string-only-x86.exe  "odd-string-only/$WMS/Nspmon.exe"

place nscm-4.1.0.3917-x86.exe     'backup-copies-only/WINNT/system32/dllcache/nscm.exe'
place nspmon-4.1.0.3917-x86.exe   'backup-copies-only/WINNT/ServicePackFiles/i386/nspmon.exe'
place nscm-4.1.0.3917-x86.exe     'backup-copies-only/WINNT/$hf_mig$/KB832359/SP4QFE/Nscm.exe'

# Systems that exist to exercise the registry evidence (hives from registry/*.reg below).
place nscm-4.1.0.3917-x86.exe     "w2k-claims-update/$WMS/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-claims-update/$WMS/Nspmon.exe"
place nscm-4.1.0.3917-x86.exe     "nt4-wms41/$WMS/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "nt4-wms41/$WMS/Nspmon.exe"
place nscm-4.1.0.3917-x86.exe     "w2k3-server/WINDOWS/system32/Windows Media/Server/nscm.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-pro-workstation/$WMS/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-pro-workstation/$WMS/Nspmon.exe"
place nscm-4.1.0.3934-x86.exe     "w2k-service-image/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-service-image/$WMS/Nspmon.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-service-image/Program Files/WMS 4.1 copy/Nscm.exe"
place nscm-4.1.0.3934-x86.exe     "w2k-unclean-hive/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-unclean-hive/$WMS/Nspmon.exe"
# Two Windows installations on one volume (issue 10 case 4): Windows 2000 SP4 in WINNT with
# old WMS 4.1 files, Windows Server 2003 in WINDOWS with an old copy too.
place nscm-4.1.0.3917-x86.exe     "two-windows/$WMS/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "two-windows/$WMS/Nspmon.exe"
place nscm-4.1.0.3917-x86.exe     "two-windows/WINDOWS/system32/Windows Media/Server/nscm.exe"

# The later WMS 4.1 bulletins (issue 13): MS03-019/MS03-022 (nsiislog.dll in the IIS Scripts
# folder), MS08-076 (Nscm.exe, nsum.exe 4.1.0.3936) and MS10-025 (nsum.exe 4.1.0.3939), with
# each update's uninstall folder holding the files it replaced (MS03-019 and MS03-022 cannot
# be uninstalled, so they have none). Hives from registry/*.reg as below.
ISS=Inetpub/Scripts
U832359='WINNT/$NTUninstallKB832359$'
U952068='WINNT/$NTUninstallKB952068_WM41$'
U980858='WINNT/$NTUninstallKB980858$'

place nscm-4.1.0.3936-x86.exe     "w2k-wms-fully-patched/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-wms-fully-patched/$WMS/Nspmon.exe"
place nsum-4.1.0.3939-x86.exe     "w2k-wms-fully-patched/$WMS/nsum.exe"
place nsiislog-4.1.0.3932-x86/nsiislog.dll "w2k-wms-fully-patched/$ISS/nsiislog.dll"
place nscm-4.1.0.3917-x86.exe     "w2k-wms-fully-patched/$U832359/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-wms-fully-patched/$U832359/Nspmon.exe"
place nscm-4.1.0.3934-x86.exe     "w2k-wms-fully-patched/$U952068/Nscm.exe"
place nsum-4.1.0.3917-x86.exe     "w2k-wms-fully-patched/$U952068/nsum.exe"
place nsum-4.1.0.3936-x86.exe     "w2k-wms-fully-patched/$U980858/nsum.exe"

place nscm-4.1.0.3936-x86.exe     "w2k-ms10-025-withdrawn/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-ms10-025-withdrawn/$WMS/Nspmon.exe"
place nsum-4.1.0.3936-x86.exe     "w2k-ms10-025-withdrawn/$WMS/nsum.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-ms10-025-withdrawn/$U832359/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-ms10-025-withdrawn/$U832359/Nspmon.exe"
place nscm-4.1.0.3934-x86.exe     "w2k-ms10-025-withdrawn/$U952068/Nscm.exe"
place nsum-4.1.0.3917-x86.exe     "w2k-ms10-025-withdrawn/$U952068/nsum.exe"
place nsum-4.1.0.3936-x86.exe     "w2k-ms10-025-withdrawn/$U980858/nsum.exe"

place nscm-4.1.0.3934-x86.exe     "w2k-ms04-008-only/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-ms04-008-only/$WMS/Nspmon.exe"
place nsum-4.1.0.3917-x86.exe     "w2k-ms04-008-only/$WMS/nsum.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-ms04-008-only/$U832359/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-ms04-008-only/$U832359/Nspmon.exe"
# The update audit (`kbscan updates`): each file status once, on files no rule names (so the
# scan's report is not lengthened): copies of the builds under names of their own. The
# records (registry/w2k-update-audit/software.reg, all made up) claim kbaudit-b.exe 4.1.0.3934
# over a live 4.1.0.3917 (older), kbaudit-a.exe current, kbaudit-c.exe 4.1.0.3939 newer than
# one record and current for another, a file that is not there, one without a version
# resource, values of another type, a path climbing out of the root.
place nscm-4.1.0.3934-x86.exe     "w2k-update-audit/WINNT/system32/kbaudit-a.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-update-audit/WINNT/system32/kbaudit/kbaudit-b.exe"
place nsum-4.1.0.3939-x86.exe     "w2k-update-audit/WINNT/system32/kbaudit-c.exe"
place nscm-no-version-x86.exe     "w2k-update-audit/WINNT/system32/kbnover.exe"

# issue 14: server1, MS04-008 installed 2004-03-17 with its update log (KB832359.log, from
# registry/w2k-server1/KB832359.log) and key times (registry/w2k-server1/*-key-times.txt).
place nscm-4.1.0.3934-x86.exe     "w2k-server1/$WMS/Nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-server1/$WMS/Nspmon.exe"
place nsum-4.1.0.3917-x86.exe     "w2k-server1/$WMS/nsum.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-server1/$U832359/Nscm.exe"
place nspmon-4.1.0.3917-x86.exe   "w2k-server1/$U832359/Nspmon.exe"
cp "$HERE/registry/w2k-server1/KB832359.log" "$SYSTEMS/w2k-server1/WINNT/KB832359.log"

place nsiislog-4.1.0.3917-x86/nsiislog.dll "w2k-iis-nsiislog-unpatched/$ISS/nsiislog.dll"
# Issue 10 case 2: two live copies that differ only in case (a Linux mount can hold both).
place nscm-4.1.0.3934-x86.exe     "w2k-case-twins/$WMS/Nscm.exe"
place nscm-4.1.0.3917-x86.exe     "w2k-case-twins/$WMS/nscm.exe"
place nspmon-4.1.0.3934-x64.exe   "w2k-case-twins/$WMS/Nspmon.exe"
# Issue 10 case 6: the only live copies are relative links to the uninstall copies.
place nscm-4.1.0.3917-x86.exe     'w2k-link-not-read/WINNT/$NTUninstallKB832359$/Nscm.exe'
place nspmon-4.1.0.3917-x86.exe   'w2k-link-not-read/WINNT/$NTUninstallKB832359$/Nspmon.exe'
mkdir -p -- "$SYSTEMS/w2k-link-not-read/$WMS"
ln -s '../../../$NTUninstallKB832359$/Nscm.exe' "$SYSTEMS/w2k-link-not-read/$WMS/Nscm.exe"
ln -s '../../../$NTUninstallKB832359$/Nspmon.exe' "$SYSTEMS/w2k-link-not-read/$WMS/Nspmon.exe"

# Registry hives (needs hivexregedit: Debian packages libhivex-bin, libwin-hivex-perl).
python3 "$HERE/registry/make-hives.py" "$SYSTEMS" "$HERE/../tests/fixtures/registry/minimal.hive"

# w2k-server1's System log (boots around the install, a record naming the update) is written
# by the EVT test writer (crates/kbscan-core/src/evidence/evt/writer.rs, read back by libevt).
(cd "$HERE/.." && KBSCAN_WRITE_SAMPLE_EVT=1 cargo test -q --test cli \
    event_logs::the_example_event_log_is_the_writers_output >/dev/null)

# The example NTBackup backup is written from two of the systems by the MTF test writer
# (crates/kbscan-core/src/backup/tests/): three sets, MS04-008 missing in the first two.
(cd "$HERE/.." && KBSCAN_WRITE_SAMPLE_BACKUP=1 cargo test -q -p kbscan-core --lib \
    backup::tests::the_example_backup_is_the_writers_output >/dev/null)

# A fixed modification time (the KB832359 file date) for every file and folder, so the
# tree looks the same after every run. (Git does not keep it; nothing depends on it.)
find "$SYSTEMS" -exec touch -h -d '2004-01-15 00:00:00 UTC' {} +

# Manifests, paths relative to sample_binaries/, sorted bytewise.
cd -- "$HERE"
find systems -type f -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS
find systems -type f -print0 | sort -z | xargs -0 md5sum >MD5SUMS
echo "build.sh: built $(wc -l <SHA256SUMS) files under $SYSTEMS" >&2
