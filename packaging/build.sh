#!/usr/bin/env bash
# Build the one-folder nnviz bundle with PyInstaller, dist/nnviz/ (run dist/nnviz/nnviz), and its archive
# dist/nnviz-VERSION-linux-ARCH.tar.gz (unpacks to nnviz-VERSION/; see packaging/README.md).
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
# recording (nnviz record, the Record menu) needs PyAV; until pyproject.toml lists it, make sure it is there
"$python" -c "import av" 2>/dev/null || "$python" -m pip install --quiet "av>=14"

echo "== running PyInstaller"
start=$SECONDS
"$python" -m PyInstaller --noconfirm --clean \
    --distpath "$root/dist" --workpath "$root/build/pyinstaller" \
    "$root/packaging/nnviz.spec"

bundle="$root/dist/nnviz"
echo "== bundle built in $((SECONDS - start)) s: $bundle ($(du -sh "$bundle" | cut -f1))"

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/nnviz/__init__.py")
arch=$(uname -m)
tarball="$root/dist/nnviz-$version-linux-$arch.tar.gz"
echo "== packing $tarball"
rm -f "$tarball"
# the archive's top folder is nnviz-VERSION/ (S, H: member names only, never symlink or hard-link targets)
tar --owner=0 --group=0 --numeric-owner --transform "s,^nnviz,nnviz-$version,SH" \
    -C "$root/dist" -czf "$tarball" nnviz
echo "== done in $((SECONDS - start)) s: $tarball ($(du -h "$tarball" | cut -f1))"
echo "   run it:      $bundle/nnviz            (the app)"
echo "                $bundle/nnviz --help     (train, presets, screenshot, record, --self-test)"
echo "   install it:  tar xzf $(basename "$tarball") && nnviz-$version/install.sh"
