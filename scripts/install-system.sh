#!/usr/bin/env bash
# Debian packages the toolkit and its tests need: espeak-ng (regenerating the sample store),
# chromium + chromium-driver (browser tests of the review UI), mariadb-server (the tests of
# FreePBX's CDR database start a private server of their own; the system service is not used),
# fonts-wqy-zenhei (Chinese text in the browser, e.g. the UI screenshots of Mandarin calls), sox
# (the fault-injection tests write GSM-in-WAV, gsm, ulaw, alaw, sln and mp3 the way Asterisk and sox
# do; libsox-fmt-mp3 gives sox its mp3 format), gcc + libc6-dev (mypyc compiles scoring's per-call
# modules to C: scripts/compile-scoring.py).
# Installs only what is missing.
set -euo pipefail
PACKAGES=(espeak-ng chromium chromium-driver mariadb-server fonts-wqy-zenhei sox libsox-fmt-mp3 gcc libc6-dev)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && { echo "system packages present: ${PACKAGES[*]}"; exit 0; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
