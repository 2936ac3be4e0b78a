#!/usr/bin/env bash
# The codec as a user installs it: build the wheel, install it WITHOUT extras into a fresh venv, code speech, a
# digit and a Gaussian array with that venv's `ltc` (outside the checkout, so only the installed package is used),
# and report the installed size and that torch, matplotlib and scipy are absent. Needs the package index (pip).
# Usage: scripts/check_wheel.sh [WORK_DIR]   (default: a temporary folder, removed after)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
if [[ $# -gt 0 ]]; then
    work="$1"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset LTC_MODELS LTC_KEY
say() { echo "check_wheel: $*" >&2; }

rm -rf "$work/wheel" "$work/bare" "$work/out"
mkdir -p "$work/out"
say "building the wheel"
"$root/.venv/bin/python" -m pip wheel -q --no-deps -w "$work/wheel" "$root"
wheel="$(ls "$work"/wheel/ltccodec-*.whl)"
say "installing $(basename "$wheel") without extras into a fresh venv"
"$python" -m venv "$work/bare"
"$work/bare/bin/pip" install -q "$wheel"

ltc="$work/bare/bin/ltc"
cd "$work/out"
cp "$root/examples/speech.wav" "$root/examples/digit7.png" "$root/examples/gaussian8.npy" .
start=$(date +%s.%N)
"$ltc" encode speech.wav -o speech.ltc
"$ltc" decode speech.ltc -o speech.out.wav
"$ltc" encode digit7.png -o digit7.ltc
"$ltc" decode digit7.ltc -o digit7.out.png
"$ltc" encode gaussian8.npy -o gaussian8.ltc --model gaussian8-e8-sd-l2m
"$ltc" decode gaussian8.ltc -o gaussian8.out.npy
"$ltc" info gaussian8.ltc > /dev/null
end=$(date +%s.%N)
listed="$("$ltc" models)"  # not piped to head: pipefail would count ltc's stop on the closed pipe
head -n 2 <<< "$listed"
"$ltc" train --name x || true  # one line naming the extra

site="$("$work/bare/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
absent=()
for module in torch matplotlib scipy; do
    if ! "$work/bare/bin/python" -c "import $module" 2>/dev/null; then
        absent+=("$module")
    fi
done
echo "wheel:      $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
echo "installed:  $(du -sh "$site" | cut -f1) in $site"
echo "packages:   $("$work/bare/bin/pip" list --format=freeze 2>/dev/null | grep -v '^\(pip\|setuptools\)==' | paste -sd' ')"
echo "absent:     ${absent[*]:-(none)}"
echo "coded:      speech, a digit and a Gaussian array, encoded and decoded in $(printf %.2f "$(awk "BEGIN {print $end - $start}")") s (7 processes)"
[[ " ${absent[*]} " == *" torch "* && " ${absent[*]} " == *" matplotlib "* ]] || { say "torch or matplotlib is installed"; exit 1; }
