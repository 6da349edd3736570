#!/usr/bin/env bash
# Build the one-folder nnviz bundle with PyInstaller: dist/nnviz/nnviz (see packaging/README.md).
#
#   packaging/build.sh                 # own venv in build/venv (made with python3, or $BASE_PYTHON)
#   PYTHON=/path/to/python packaging/build.sh   # use that interpreter's environment as it is
#
# Run from anywhere; everything it writes is under build/ and dist/ of this checkout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ -n "${PYTHON:-}" ]]; then
    python="$PYTHON"
    # someone's working environment: install editable, so an editable nnviz stays editable
    install=(--editable "$root[package]")
else
    venv="$root/build/venv"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "== creating $venv"
        "${BASE_PYTHON:-python3}" -m venv "$venv"
    fi
    python="$venv/bin/python"
    install=("$root[package]")
fi

# (the bundle takes nnviz from this source tree; installing it brings its dependencies and PyInstaller)
echo "== installing nnviz[package] into $("$python" -c 'import sys; print(sys.prefix)')"
# setuptools builds the wheel in build/lib: clear it so a module deleted from the source cannot linger
rm -rf "$root/build/lib" "$root"/build/bdist.*
"$python" -m pip install --quiet "${install[@]}"

echo "== running PyInstaller"
start=$SECONDS
"$python" -m PyInstaller --noconfirm --clean \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
    "$root/packaging/nnviz.spec"

bundle="$root/dist/nnviz"
echo "== done in $((SECONDS - start)) s: $bundle ($(du -sh "$bundle" | cut -f1))"
echo "   run it:  $bundle/nnviz            (the app)"
echo "            $bundle/nnviz --help     (train, presets, screenshot)"
