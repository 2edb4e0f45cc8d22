"""The rnnlab Python package: pure Python over the shared library librnnlab.

The package records where the library was when it was installed
(rnnlab/_install.py, written into the build, never into the source tree):
RNNLAB_LIBDIR if set, else this checkout's build/, where it makes the
library first. rnnlab/_lib.py says where else it looks."""
import os
import re
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def version():
    h = ROOT / "include" / "rnnlab.h"
    m = re.search(r'#define RL_VERSION_STRING "([^"]+)"', h.read_text()) if h.exists() else None
    return m.group(1) if m else "0"


def libdirs():
    """RNNLAB_LIBDIR, or this checkout's build/ (the library made first:
    `make build/librnnlab.so`, which is quick when it is up to date)."""
    if os.environ.get("RNNLAB_LIBDIR"):
        return [os.environ["RNNLAB_LIBDIR"]]
    if (ROOT / "Makefile").exists() and (ROOT / "include" / "rnnlab.h").exists():
        subprocess.run(["make", "-C", str(ROOT), "build/librnnlab.so"], check=True, stdout=sys.stderr)
    build = ROOT / "build"
    return [str(build)] if (build / "librnnlab.so.0").exists() else []


class BuildPy(build_py):
    def run(self):
        super().run()
        out = Path(self.build_lib) / "rnnlab" / "_install.py"
        out.write_text("# written by setup.py: where librnnlab was when this package was installed\n"
                       f"LIBDIRS = {libdirs()!r}\n")


setup(
    name="rnnlab",
    version=version(),
    description="Recurrent networks trained by BPTT, their Jacobians and Lyapunov exponents (librnnlab from Python)",
    packages=["rnnlab"],
    python_requires=">=3.8",
    install_requires=["numpy"],
    cmdclass={"build_py": BuildPy},
)
