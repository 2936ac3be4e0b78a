#!/usr/bin/env bash
# ltc in a shell pipeline: audio in on stdin, audio out on stdout, nothing else on stdout (messages go to stderr).
# Usage: examples/pipeline.sh IN.wav OUT.wav [ltc encode options, e.g. --randomness 4bits --bitrate 13]
set -euo pipefail
ltc=${LTC:-ltc}
in=$1 out=$2
shift 2
cat "$in" | $ltc encode - -o - "$@" | $ltc decode - -o - > "$out"
