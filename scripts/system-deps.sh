#!/bin/sh
# Install the X11/xcb libraries Qt needs for a real window on Debian/Ubuntu, when missing.
# Best effort: without root or apt-get it only prints what to install.
PKGS="libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libegl1 libgl1 libfontconfig1 libdbus-1-3"
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Qt window libraries:$missing"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
    || echo "could not install:$missing (the window may not open; headless commands still work)"
else
  echo "the Qt window needs these Debian packages:$missing"
  echo "install them with: sudo apt-get install$missing"
fi
exit 0
