#!/usr/bin/env bash
# The TypeScript SDK (clients/typescript): install its dev tools (npm ci), type-check and build it
# (tsc --strict), then run its tests (node --test) end to end against real Fieldline servers that
# the tests start from this repository's Python environment.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sdk="$root/clients/typescript"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "test-typescript: $tool is missing (Node 20+ and npm are needed)" >&2; exit 1; }
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if (( major < 20 )); then
  echo "test-typescript: Node $major found, Node 20+ needed" >&2
  exit 1
fi
export FIELDLINE_REPO="$root"
export FIELDLINE_PYTHON="${FIELDLINE_PYTHON:-$root/.venv/bin/python}"
[ -x "$FIELDLINE_PYTHON" ] || { echo "test-typescript: $FIELDLINE_PYTHON is missing (run make install)" >&2; exit 1; }

cd "$sdk"
# npm ci when the lock file changed since the last install (a fresh clone always installs).
stamp=node_modules/.fieldline-lock
if [ -f package-lock.json ]; then
  if ! cmp -s package-lock.json "$stamp" 2>/dev/null; then
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
  fi
else
  npm install --no-audit --no-fund --loglevel=error
fi

rm -rf dist
npx --no-install tsc --strict -p .
node --test --test-concurrency="${FIELDLINE_TS_TEST_CONCURRENCY:-3}" dist/test/*.test.js
