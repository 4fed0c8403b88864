#!/usr/bin/env bash
# Installs the system packages Fieldline needs on Debian/Ubuntu, only those missing.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

for pkg in python3 python3-venv python3-dev build-essential \
           libsqlite3-mod-spatialite \
           tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim \
           fonts-noto-cjk fonts-dejavu-core \
           poppler-utils; do
  have "$pkg" || need+=("$pkg")
done

# PostGIS for the PostgreSQL the tests use (any installed major version).
if [ "${FIELDLINE_SKIP_POSTGIS:-0}" != 1 ] && command -v pg_config >/dev/null 2>&1 || ls /usr/lib/postgresql >/dev/null 2>&1; then
  for v in $(ls /usr/lib/postgresql 2>/dev/null); do
    have "postgresql-$v-postgis-3" || need+=("postgresql-$v-postgis-3")
  done
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

echo "system packages: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
