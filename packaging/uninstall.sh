#!/bin/sh
# Undo install.sh: remove nnviz's menu entry, icon, file type and the ~/.local/bin/nnviz command.
# Leaves the bundle folder itself (delete it by hand), your .nnviz files, settings and autosaves alone.
set -eu

: "${HOME:?uninstall.sh: HOME is not set}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
bin="${XDG_BIN_HOME:-$HOME/.local/bin}"
config="${XDG_CONFIG_HOME:-$HOME/.config}"

rm -f "$data/applications/nnviz.desktop" "$data/mime/packages/nnviz.xml" \
      "$data/icons/hicolor/256x256/apps/nnviz.png"
# the command only if it is install.sh's link to an nnviz bundle (never a file someone else put there)
if [ -L "$bin/nnviz" ] && [ "$(basename "$(readlink "$bin/nnviz")")" = nnviz ]; then
    rm -f "$bin/nnviz"
fi
# the default-application line install.sh added (only if it still names nnviz)
list="$config/mimeapps.list"
if grep -qs '^application/x-nnviz=nnviz.desktop$' "$list"; then
    tmp="$list.nnviz.$$"
    grep -v '^application/x-nnviz=nnviz.desktop$' "$list" > "$tmp" || true
    mv -f "$tmp" "$list"
fi

if command -v update-mime-database >/dev/null 2>&1 && [ -d "$data/mime" ]; then
    update-mime-database "$data/mime" >/dev/null 2>&1 || true
fi
if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$data/applications" ]; then
    update-desktop-database "$data/applications" >/dev/null 2>&1 || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" >/dev/null 2>&1 || true
fi

here=$(cd "$(dirname "$0")" && pwd -P)
echo "nnviz uninstalled (menu entry, file type, icon, command)."
echo "The bundle is still in $here: delete that folder to remove nnviz completely."
