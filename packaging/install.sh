#!/bin/sh
# Install this nnviz bundle for the current user (no root): a menu entry, the icon, the .nnviz file type
# (double-clicking a .nnviz file opens it in nnviz) and an `nnviz` command in ~/.local/bin.
#
#   ./install.sh          # run from the unpacked bundle folder (it stays where it is: the launcher runs it there)
#   ./uninstall.sh        # removes all of the above again (not the bundle folder itself, nor your files)
#
# Follows the XDG base directories: $XDG_DATA_HOME (default ~/.local/share) for the menu entry, icon and
# file type, ~/.local/bin (or $XDG_BIN_HOME) for the command. Moved the bundle? Run install.sh again.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
exe="$here/nnviz"
share="$here/share"
if [ ! -x "$exe" ] || [ ! -f "$share/applications/nnviz.desktop" ]; then
    echo "install.sh: run me from the unpacked nnviz bundle (no $exe or $share/applications/nnviz.desktop)" >&2
    exit 1
fi
: "${HOME:?install.sh: HOME is not set}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
bin="${XDG_BIN_HOME:-$HOME/.local/bin}"
config="${XDG_CONFIG_HOME:-$HOME/.config}"

mkdir -p "$data/applications" "$data/mime/packages" "$data/icons/hicolor/256x256/apps" "$bin"

# The menu entry, with the bundle's absolute path. Exec quoting (Desktop Entry spec): the path in double
# quotes with \ " ` $ escaped by a backslash, and every backslash of that then doubled (a .desktop value).
quoted=$(printf '%s' "$exe" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g')
tryexec=$(printf '%s' "$exe" | sed -e 's/\\/\\\\/g')
tmp="$data/applications/.nnviz.desktop.$$"
NNVIZ_EXEC="Exec=\"$quoted\" %f" NNVIZ_TRYEXEC="TryExec=$tryexec" awk '
    /^Exec=/ { print ENVIRON["NNVIZ_EXEC"]; next }
    /^TryExec=/ { print ENVIRON["NNVIZ_TRYEXEC"]; next }
    { print }' "$share/applications/nnviz.desktop" > "$tmp"
mv -f "$tmp" "$data/applications/nnviz.desktop"

cp -f "$share/mime/packages/nnviz.xml" "$data/mime/packages/nnviz.xml"
cp -f "$share/icons/hicolor/256x256/apps/nnviz.png" "$data/icons/hicolor/256x256/apps/nnviz.png"
ln -sfn "$exe" "$bin/nnviz"

# nnviz opens .nnviz files by default (unless the user already chose another program for them)
list="$config/mimeapps.list"
if ! grep -qs '^application/x-nnviz=' "$list"; then
    mkdir -p "$config"
    if grep -qs '^\[Default Applications\]' "$list"; then
        tmp="$list.nnviz.$$"
        awk '{ print } /^\[Default Applications\]$/ && !done { print "application/x-nnviz=nnviz.desktop"; done = 1 }' \
            "$list" > "$tmp" && mv -f "$tmp" "$list"
    else
        { [ -s "$list" ] && echo; echo '[Default Applications]'; echo 'application/x-nnviz=nnviz.desktop'; } >> "$list"
    fi
fi

# the desktop's caches; harmless if the tools are not installed (the desktop then rescans by itself)
if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$data/mime" >/dev/null 2>&1 || true; fi
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database "$data/applications" >/dev/null 2>&1 || true; fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" >/dev/null 2>&1 || true
fi

echo "nnviz installed for $(id -un 2>/dev/null || echo you):"
echo "  menu entry  $data/applications/nnviz.desktop  (runs $exe)"
echo "  file type   $data/mime/packages/nnviz.xml  (.nnviz files open in nnviz)"
echo "  icon        $data/icons/hicolor/256x256/apps/nnviz.png"
echo "  command     $bin/nnviz"
case ":${PATH:-}:" in
    *":$bin:"*) ;;
    *) echo "  ($bin is not on your PATH: add it, or run $exe)";;
esac
echo "Uninstall with: $here/uninstall.sh"
