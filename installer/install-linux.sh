#!/usr/bin/env bash
# Installs the unpacked bundle for the current user: ~/.local/opt/cardiotrace, a launcher on PATH,
# the desktop entry and the icon. Run from inside the bundle folder.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DEST="${HOME}/.local/opt/cardiotrace"
mkdir -p "$DEST" "${HOME}/.local/bin" "${HOME}/.local/share/applications" "${HOME}/.local/share/icons/hicolor/256x256/apps"
cp -a "$HERE/." "$DEST/"
ln -sf "$DEST/cardiotrace" "${HOME}/.local/bin/cardiotrace"
sed "s|^Exec=cardiotrace|Exec=$DEST/cardiotrace|" "$HERE/cardiotrace.desktop" > "${HOME}/.local/share/applications/cardiotrace.desktop"
cp "$HERE/cardiotrace.png" "${HOME}/.local/share/icons/hicolor/256x256/apps/cardiotrace.png"
echo "CardioTrace installed in $DEST (run: cardiotrace)"
