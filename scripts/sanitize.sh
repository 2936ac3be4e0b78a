#!/usr/bin/env bash
# The compiled kernels under AddressSanitizer and UndefinedBehaviorSanitizer: build ltccodec/_kernels.c as pip does
# (Python's compiler and CFLAGS, pyproject.toml's extra-compile-args) plus the sanitizers, into a temporary
# directory; make it the `ltccodec._kernels` that Python imports (a sitecustomize that the temporary directory puts
# first on PYTHONPATH redirects that one module; the checkout and the installed .so are left alone); check that it
# is the one loaded and active; then run the kernel-heavy tests and a short fuzz (`ltccodec.lab.bench.fuzz` over the
# golden streams) with it. Any sanitizer report aborts the process, and the script fails.
#
# Usage: scripts/sanitize.sh [--source FILE] [--fuzz-seconds N] [--keep]
#   --source FILE     build FILE instead of ltccodec/_kernels.c (to show that a planted bug is caught)
#   --fuzz-seconds N  fuzz for about N seconds (default 60; 0: no fuzz)
#   --keep            keep the temporary directory (the build and its log), and say where it is
# Environment: PYTHON (default .venv/bin/python, which must have ltccodec installed, as scripts/setup.sh does).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
source_file="$root/ltccodec/_kernels.c"
fuzz_seconds=60
keep=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --source) source_file="$(realpath "$2")"; shift 2 ;;
        --fuzz-seconds) fuzz_seconds="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "usage: scripts/sanitize.sh [--source FILE] [--fuzz-seconds N] [--keep]" >&2; exit 2 ;;
    esac
done
python="${PYTHON:-$root/.venv/bin/python}"
say() { echo "sanitize: $*" >&2; }
fail() { echo "sanitize: FAILED: $*" >&2; exit 1; }
began=$SECONDS

[[ -f "$source_file" ]] || fail "no C source at $source_file"
"$python" -c "import ltccodec" 2>/dev/null || fail "$python cannot import ltccodec (run scripts/setup.sh first)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ltc-sanitize.XXXXXX")"
if [[ $keep -eq 1 ]]; then
    trap 'say "kept $tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi

# ----- build: what pip runs (sysconfig's CC, CFLAGS, CCSHARED, LDSHARED; pyproject's extra-compile-args) -----
"$python" - "$root/pyproject.toml" > "$tmp/flags.sh" <<'EOF'
import shlex, sys, sysconfig, tomllib

with open(sys.argv[1], "rb") as f:
    modules = tomllib.load(f)["tool"]["setuptools"]["ext-modules"]
(kernels,) = [m for m in modules if m["name"] == "ltccodec._kernels"]
v = sysconfig.get_config_var
for name, value in [("cc", v("CC")), ("cflags", v("CFLAGS")), ("ccshared", v("CCSHARED")), ("ldshared", v("LDSHARED"))]:
    print(f"{name}=({value})")
print(f"extra=({shlex.join(kernels.get('extra-compile-args', []))})")
print(f"include={shlex.quote(sysconfig.get_paths()['include'])}")
print(f"suffix={shlex.quote(v('EXT_SUFFIX'))}")
EOF
cc=() cflags=() ccshared=() ldshared=() extra=() include='' suffix=''
# shellcheck disable=SC1091
source "$tmp/flags.sh"
# Python's CFLAGS carry -fwrapv, under which UBSan does not check signed overflow; -fno-wrapv turns the check on
# (the kernels must not rely on signed wrap-around: it is undefined in C and other compilers exploit it).
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -fno-wrapv)
mkdir -p "$tmp/build" "$tmp/site"
so="$tmp/build/_kernels$suffix"
compile=("${cc[@]}" "${cflags[@]}" "${ccshared[@]}" "-I$include" "${extra[@]}" "${sanitize[@]}"
         -c "$source_file" -o "$tmp/build/_kernels.o")
link=("${ldshared[@]}" "$tmp/build/_kernels.o" "${sanitize[@]}" -o "$so")
say "building $source_file"
echo "+ ${compile[*]}" >&2
"${compile[@]}"
echo "+ ${link[*]}" >&2
"${link[@]}"
libasan="$("${cc[0]}" -print-file-name=libasan.so)"
[[ "$libasan" == /* && -e "$libasan" ]] || fail "${cc[0]} has no libasan.so (got '$libasan')"

# ----- import it as ltccodec._kernels: a meta path finder ahead of every other, for that one module -----
cat > "$tmp/site/sitecustomize.py" <<'EOF'
"""Written by scripts/sanitize.sh: `ltccodec._kernels` is the sanitized build at $LTC_SANITIZED_KERNELS, whatever
sys.path says (pytest puts the checkout first); then any sitecustomize this one shadows runs."""
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys


class _SanitizedKernels(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "ltccodec._kernels":
            return None
        return importlib.util.spec_from_file_location(fullname, os.environ["LTC_SANITIZED_KERNELS"])


sys.meta_path.insert(0, _SanitizedKernels())
_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here])
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
EOF

cat > "$tmp/site/ltc_sanitize_driver.py" <<'EOF'
"""Written by scripts/sanitize.sh. `check`: the sanitized build is the ltccodec._kernels loaded and active, in this
very process. `pytest ARGS...`: check, then run pytest here. `fuzz SECONDS`: check, then fuzz campaigns over the
golden streams (`ltccodec.lab.bench.fuzz.run`, 2 forked workers) until SECONDS have passed."""
import os
import sys
import time


def check() -> None:
    import ltccodec._kernels as module
    from ltccodec import kernels

    want = os.environ["LTC_SANITIZED_KERNELS"]
    print(f"sanitize: ltccodec._kernels is {module.__file__} (version {getattr(module, 'VERSION', None)})",
          file=sys.stderr)
    if not os.path.samefile(module.__file__, want):
        sys.exit(f"sanitize: FAILED: ltccodec._kernels came from {module.__file__}, not the sanitized {want}")
    if kernels.active() is not module:
        sys.exit(f"sanitize: FAILED: the sanitized kernels are not active (built: {kernels.built()}, the package "
                 f"wants version {kernels.VERSION}, LTC_KERNELS={os.environ.get('LTC_KERNELS')!r})")
    with open("/proc/self/maps") as maps:
        if "libasan" not in maps.read():
            sys.exit("sanitize: FAILED: libasan is not loaded in this process")


def fuzz(seconds: float) -> int:
    import resource
    from collections import Counter
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    from ltccodec.lab.bench import fuzz

    from ltccodec.runtime import registry

    golden = Path("tests/data/golden")
    streams = sorted(golden.rglob("*.ltc"))
    dirs = [golden, *registry.model_dirs()]  # the golden folder's models, then the shipped ones
    if not streams:
        print("sanitize: FAILED: no golden streams to fuzz in tests/data/golden", file=sys.stderr)
        return 1
    # The workers' address-space limit cannot hold ASan's shadow memory (terabytes reserved): keep the current
    # hard limit; ASAN_OPTIONS caps single allocations instead (a huge one is a MemoryError: the 'memory' outcome).
    unlimited = resource.getrlimit(resource.RLIMIT_AS)[1]
    began, seed, total = time.monotonic(), 1000, Counter()
    while time.monotonic() - began < seconds:
        try:
            campaign = fuzz.run(streams, 1000, dirs, seed=seed, jobs=2, memory_bytes=unlimited)
        except BrokenProcessPool:
            print(f"sanitize: FAILED: a fuzz worker died (a sanitizer report above says why) in the 1000 cases of "
                  f"seed {seed}", file=sys.stderr)
            return 1
        total.update(campaign.outcomes)
        if campaign.failures:
            print(f"sanitize: FAILED: fuzz seed {seed} (1000 cases): {campaign.outcomes}; without the sanitizers: "
                  f"ltc bench fuzz --cases 1000 --seed {seed}", file=sys.stderr)
            return 1
        seed += 1
    cases = sum(total.values())
    print(f"sanitize: fuzz: {cases} cases of {len(streams)} streams in {time.monotonic() - began:.0f} s "
          f"(seeds 1000-{seed - 1}): {dict(sorted(total.items()))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    check()
    what, args = sys.argv[1], sys.argv[2:]
    if what == "pytest":
        import pytest

        sys.exit(pytest.main(args))
    if what == "fuzz":
        sys.exit(fuzz(float(args[0])))
EOF

run() {
    env LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=4096" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1" \
        PYTHONMALLOC=malloc PYTHONPATH="$tmp/site${PYTHONPATH:+:$PYTHONPATH}" LTC_SANITIZED_KERNELS="$so" \
        LTC_KERNELS=1 OMP_NUM_THREADS=1 "$python" -m ltc_sanitize_driver "$@"
}

say "checking that the sanitized build is the one imported"
run check || fail "the sanitized kernels are not the ones Python runs"

# Whatever of these exists (the golden tests are rewritten now and then); at least one must.
tests=()
for t in tests/test_kernels.py tests/test_golden.py tests/test_paths.py; do
    [[ -f "$t" ]] && tests+=("$t")
done
[[ ${#tests[@]} -gt 0 ]] || fail "none of the kernel and golden test files exist"
# and the in-process hostile-stream tests (the campaign in limited workers is the fuzz below)
[[ -f tests/test_hostile.py ]] && tests+=(tests/test_hostile.py
    --deselect tests/test_hostile.py::test_a_campaign_in_limited_workers_finds_no_failure)
step=$SECONDS
say "pytest -q ${tests[*]}"
status=0
# --capture=sys: pytest leaves file descriptor 2 alone, so a sanitizer's report shows (fd capture would swallow it)
run pytest -q -p no:cacheprovider --capture=sys "${tests[@]}" || status=$?
if [[ $status -gt 128 ]]; then
    fail "pytest under the sanitizers died of signal $((status - 128)) (see the sanitizer's report above)"
elif [[ $status -ne 0 ]]; then
    fail "pytest under the sanitizers exited with $status"
fi
say "tests passed under the sanitizers in $((SECONDS - step)) s"

if [[ "$fuzz_seconds" != 0 ]]; then
    step=$SECONDS
    say "fuzzing for about $fuzz_seconds s"
    status=0
    run fuzz "$fuzz_seconds" || status=$?
    [[ $status -le 128 ]] || fail "the fuzz under the sanitizers died of signal $((status - 128)) (see the report above)"
    [[ $status -eq 0 ]] || fail "the fuzz under the sanitizers exited with $status"
    say "fuzz done in $((SECONDS - step)) s"
fi
say "OK in $((SECONDS - began)) s"
