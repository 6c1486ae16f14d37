#!/usr/bin/env bash
# make bench: the tools the benchmark needs, then bench/run.py (see its docstring).
#   BENCH_SIZE=10000 make bench-quick    a quick run on 10,000 listings
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

scripts/dev.sh venv
scripts/dev.sh packages

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing wrk (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is missing: sudo apt-get install wrk" >&2
    exit 1
  fi
fi

# tipg pins its own Starlette and FastAPI: it gets a throwaway virtualenv of its own.
TIPG_VERSION=1.6.1
if [ ! -x bench/.venv-tipg/bin/uvicorn ] \
  || ! bench/.venv-tipg/bin/python -c "import tipg, sys; sys.exit(tipg.__version__ != '$TIPG_VERSION')" 2>/dev/null; then
  say "creating bench/.venv-tipg with tipg $TIPG_VERSION"
  rm -rf bench/.venv-tipg
  "${PYTHON:-python3.11}" -m venv bench/.venv-tipg
  bench/.venv-tipg/bin/pip install --quiet --disable-pip-version-check "tipg==$TIPG_VERSION" uvicorn
fi

exec .venv/bin/python -m bench.run
