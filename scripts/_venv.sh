# Sourced by scripts/demo and scripts/test: make .venv and install the package with an extra.
#   ensure_venv EXTRA
# pip runs only when .venv is new or pyproject.toml changed since the last install of that
# extra (the package itself is installed editable: code changes need no reinstall).

ensure_venv() {
  local extra=$1
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$extra"
  local wanted
  wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -V 2>&1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extra]"
    echo "$wanted" > "$stamp"
  fi
}
