#!/usr/bin/env bash
# Installs the Debian packages the local stack and the tests use, when they are missing:
# pocketsphinx with its US English model (the local recognizer) and its test recordings, and sox
# (the accuracy tests resample those recordings with it, independently of our own converter), ffmpeg
# (the twin's Transcribe stand-in decodes Ogg Opus and FLAC with it; the local recognizer decodes every
# compressed upload with it), and PostgreSQL's server binaries (tests and benchmarks start throwaway
# servers: test/support/postgres-server.ts); for tests also chromium (test/browser records with
# MediaRecorder in it), which `npm start` skips with --runtime. Needs root or passwordless sudo; otherwise it says what to run.
set -euo pipefail
packages=(pocketsphinx pocketsphinx-en-us pocketsphinx-testdata sox ffmpeg postgresql)
if [ "${1:-}" = "--runtime" ]; then shift; else packages+=(chromium); fi
packages+=("$@")
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "interview-ops: missing Debian packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "interview-ops: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"; }
