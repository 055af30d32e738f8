#!/usr/bin/env bash
# Regenerates this folder's seed: a sample binary signed by osslsigncode (Debian package
# osslsigncode) with a throwaway self-signed certificate made by openssl, so the fuzzer starts
# from a real certificate table and PKCS#7 SignedData. The key is deleted; nothing is trusted.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$here/../../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    -subj "/CN=kbscan fuzz seed signer/O=kbscan tests" -days 1 2>/dev/null
osslsigncode sign -certs "$tmp/cert.pem" -key "$tmp/key.pem" -h sha256 -time 1075000000 \
    -in "$repo/sample_binaries/systems/w2k-sp4-patched/WINNT/system32/Windows Media/Server/Nspmon.exe" \
    -out "$here/signed-nspmon.exe" >/dev/null
