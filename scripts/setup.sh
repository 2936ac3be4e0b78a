#!/usr/bin/env bash
# Create .venv in the project root and install ltccodec into it, editable. Safe to run again: it only
# does what is missing or out of date. Usage: scripts/setup.sh [EXTRAS]   (default: test; e.g. dev, speech-eval, "")
# The codec alone needs no extra; train, test and dev bring torch, which is installed first and pinned.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
extras="${1-test}"
python="${PYTHON:-python3}"
venv=.venv
torch_version=2.13.0
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "setup: $*" >&2; }

if ! "$venv/bin/python" -c "" 2>/dev/null; then
    say "creating $venv with $("$python" --version 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

# Extras already installed by an earlier run stay: what is wanted is their union with the requested ones, so
# `make demo` after `make test` installs nothing. A changed declaration starts the union afresh.
stamp="$venv/.ltccodec-setup"
digest="$(cat pyproject.toml scripts/setup.sh ltccodec/_kernels.c | sha256sum | cut -d' ' -f1)"
read -r stamped_digest stamped_extras 2>/dev/null < "$stamp" || true
have=""
[[ "${stamped_digest:-}" == "$digest" ]] && have="${stamped_extras:-}"
want="$(tr ', ' '\n\n' <<< "$have,$extras" | sed '/^$/d' | sort -u | paste -sd, -)"

# torch first and pinned, only for extras that need it: 2.13.0 is the CPU build this machine has; anything looser
# pulls a multi-GB CUDA build.
if [[ ",$want," =~ ,(train|test|dev), ]] && ! "$venv/bin/python" -c \
    "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
    say "installing torch==$torch_version (CPU build)"
    "$venv/bin/python" -m pip install -q "torch==$torch_version"
fi

# Reinstall only when the package's declaration changed or an extra is missing.
if [[ "$want" != "$have" || "${stamped_digest:-}" != "$digest" ]] \
    || [[ ! -x "$venv/bin/ltc" ]] || ! "$venv/bin/python" -c "import ltccodec" 2>/dev/null; then
    say "installing ltccodec (editable) with extras [$want]"
    "$venv/bin/python" -m pip install -q -e ".${want:+[$want]}"
    echo "$digest $want" > "$stamp"
fi
# The compiled kernels are optional to the install (pip does not fail without a compiler); say when they are missing.
if ! "$venv/bin/python" -c "import sys; from ltccodec import kernels; sys.exit(not kernels.built())" 2>/dev/null; then
    say "warning: the compiled kernels (ltccodec/_kernels.c) are not built; coding runs on numpy and constriction,"
    say "         slower (same streams). With a C compiler, 'pip install -v -e .' shows why the build failed."
fi
say "ready: $venv ($("$venv/bin/python" --version 2>&1))"
