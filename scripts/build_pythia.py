"""Build a pythia8mc wheel fast: PyPI has only its source, and `pip install pythia8mc` compiles its 177 C++ files
one after another at -O3 with debug info (well over an hour on two cores). This compiles them in parallel, the
physics code at -O2 and the Python bindings (glue) at -O1, without debug info: about 25 minutes on two cores.

    pip download pythia8mc==8.318.0 --no-deps --no-binary :all: -d /tmp/p8
    tar xzf /tmp/p8/pythia8mc-8.318.0.tar.gz -C /tmp/p8
    cd /tmp/p8/pythia8mc-8.318.0
    JOBS=2 $REPO/.venv/bin/python $REPO/scripts/build_pythia.py bdist_wheel -d wheels
    $REPO/.venv/bin/pip install wheels/pythia8mc-*.whl

Run it inside the unpacked source (it runs that folder's setup.py with the compile step replaced).
"""

from __future__ import annotations

import os
import runpy
import sys
from concurrent.futures import ThreadPoolExecutor

import setuptools  # noqa: F401  (makes setuptools' distutils the one setup.py imports)
from setuptools._distutils import ccompiler


def compile_parallel(self, sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                     extra_preargs=None, extra_postargs=None, depends=None):
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)

    def one(obj: str) -> None:
        src, ext = build[obj]
        if os.path.exists(obj) and os.path.getmtime(obj) > os.path.getmtime(src):
            return  # built by an earlier, interrupted run
        fast = ["-g0", "-O1" if "/plugins/" in src else "-O2"]  # later flags win over setup.py's -g -O3
        self._compile(obj, src, ext, cc_args, list(extra_postargs or []) + fast, pp_opts)

    with ThreadPoolExecutor(int(os.environ.get("JOBS", os.cpu_count() or 1))) as pool:
        list(pool.map(one, objects))
    return objects


if __name__ == "__main__":
    ccompiler.CCompiler.compile = compile_parallel
    sys.argv = ["setup.py"] + sys.argv[1:]
    runpy.run_path("setup.py", run_name="__main__")
