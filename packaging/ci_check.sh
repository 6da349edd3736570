#!/usr/bin/env bash
# CI: build the bundle and its archive, unpack the archive elsewhere and check that copy works:
# --version, --self-test, train, screenshot, record, and install.sh / uninstall.sh in a throw-away HOME.
# A broken bundle fails here. About 2 minutes on 2 cores (most of it PyInstaller and gzip).
#
#   packaging/ci_check.sh                          # builds with .venv/bin/python if there is one
#   PYTHON=/path/to/python packaging/ci_check.sh   # or with that environment (see build.sh)
#   NNVIZ_SKIP_BUILD=1 packaging/ci_check.sh       # check the archive already in dist/
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [[ -z "${PYTHON:-}" && -x "$root/.venv/bin/python" ]]; then
    export PYTHON="$root/.venv/bin/python"
fi
start=$SECONDS
if [[ "${NNVIZ_SKIP_BUILD:-}" != 1 ]]; then
    packaging/build.sh
fi

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' nnviz/__init__.py)
tarball="$root/dist/nnviz-$version-linux-$(uname -m).tar.gz"
[[ -f "$tarball" ]] || { echo "ci_check: no $tarball" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nnviz-ci.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/somewhere else" "$work/home"
tar -C "$work/somewhere else" -xzf "$tarball"     # another folder than dist/: the bundle must not care
app="$work/somewhere else/nnviz-$version"
exe="$app/nnviz"
for f in install.sh uninstall.sh README.txt share/applications/nnviz.desktop share/mime/packages/nnviz.xml \
         share/icons/hicolor/256x256/apps/nnviz.png; do
    [[ -e "$app/$f" ]] || { echo "ci_check: the bundle has no $f" >&2; exit 1; }
done

# a clean user: no settings, no recovery files, no display
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export XDG_CACHE_HOME="$work/home/.cache" QT_QPA_PLATFORM=offscreen
unset XDG_BIN_HOME || true
cd "$work"

step() { echo "== ci_check: $*"; }
step "--version";      timeout 60 "$exe" --version | grep -x "nnviz $version"
step "--self-test";    timeout 150 "$exe" --self-test
step "train";          timeout 120 "$exe" train circle --epochs 20 | tee train.txt
grep -q "circle: 20 epochs" train.txt
step "screenshot";     timeout 120 "$exe" screenshot circle --epochs 20 --out "$work/x.png"
python3 - "$work/x.png" <<'PY' || { echo "ci_check: x.png is not a PNG" >&2; exit 1; }
import sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000, len(data)
PY
step "record";         timeout 120 "$exe" record circle --seconds 1 --fps 15 --size 1024x768 --out "$work/demo.mp4" --gif
[[ -s "$work/demo.mp4" && -s "$work/demo.gif" ]] || { echo "ci_check: record wrote no video" >&2; exit 1; }
step "install.sh";     "$app/install.sh"
[[ "$("$HOME/.local/bin/nnviz" --version)" == "nnviz $version" ]]
grep -q "^Exec=\"$exe\" %f$" "$HOME/.local/share/applications/nnviz.desktop"
step "uninstall.sh";   "$app/uninstall.sh"
[[ ! -e "$HOME/.local/share/applications/nnviz.desktop" && ! -e "$HOME/.local/bin/nnviz" ]]
leftover=$(pgrep -f "$app/nnviz" || true)
[[ -z "$leftover" ]] || { echo "ci_check: nnviz processes left behind: $leftover" >&2; exit 1; }
step "OK in $((SECONDS - start)) s ($(du -sh "$app" | cut -f1) unpacked, $(du -h "$tarball" | cut -f1) archive)"
