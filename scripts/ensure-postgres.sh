#!/usr/bin/env bash
# Makes sure the PostgreSQL the tests use is up and has PostGIS available.
set -euo pipefail
url="${1:-postgresql://postgres@127.0.0.1:5432/test}"
if ! pg_isready -d "$url" -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
    sleep 2
  fi
fi
if ! pg_isready -d "$url" -q 2>/dev/null; then
  echo "PostgreSQL is not reachable at $url (set TEST_PG_URL)" >&2
  exit 1
fi
if ! psql "$url" -Atqc "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" | grep -q 1; then
  echo "PostGIS is not available in $url; run scripts/install-system.sh" >&2
  exit 1
fi
echo "postgres: ready with PostGIS at $url"
