"""docs/python.md as written: the six lines after a pip install of python/
(into a temporary folder: the same build as the page's command, without
touching the system), every other python block in order in one process,
and make install-python beside make install in a temporary prefix."""
import os
import re
import shlex
import subprocess
import sys

from conftest import ROOT

DOC = (ROOT / "docs" / "python.md").read_text()


def blocks(lang):
    return re.findall(r"^```" + lang + r"\n(.*?)^```", DOC, flags=re.S | re.M)


def run(code, cwd, pythonpath):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    env.pop("RNNLAB_LIB", None)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_six_lines(tmp_path):
    # the line names Debian's Python, whatever pip or python3 comes first on the PATH
    (pip,) = [line for b in blocks("sh") for line in b.splitlines() if " -m pip install" in line]
    args = shlex.split(pip)
    assert args[:4] == ["/usr/bin/python3", "-m", "pip", "install"] and args[-1] == "./python"
    flags = [a for a in args[4:-1] if a != "--break-system-packages"]  # --target needs no PEP 668 override
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *flags, "--no-deps", "--target", str(target),
                    "./python"], cwd=ROOT, check=True)
    six = blocks("python")[0]
    assert len(pip.splitlines()) + len(six.strip().splitlines()) == 6
    out = run(six, tmp_path, target)  # outside the checkout: the installed package finds the library
    assert "(100, 128, 128) (128, 128)" in out
    where = run("import rnnlab; print(rnnlab.library_path)", tmp_path, target)
    assert where.strip() == str(ROOT / "build" / "librnnlab.so.0")


def test_the_lstm_example(tmp_path):
    out = run("\n".join(blocks("python")[1:]), tmp_path, ROOT / "python")
    assert "training loss" in out and "lag 20" in out


def test_make_install_python(tmp_path):
    prefix = tmp_path / "prefix"
    make = ["make", "-s", "-C", str(ROOT), f"PREFIX={prefix}", f"PYTHON={sys.executable}"]
    subprocess.run(make + ["install", "install-python"], check=True, stdout=subprocess.DEVNULL)
    site = next(prefix.glob("lib/python3*/dist-packages"))
    where = run("import rnnlab; print(rnnlab.library_path)", tmp_path, site)
    assert where.strip() == str(prefix / "lib" / "librnnlab.so.0")
    subprocess.run(make + ["uninstall-python", "uninstall"], check=True, stdout=subprocess.DEVNULL)
    left = [p for p in prefix.rglob("*") if p.is_file() or p.is_symlink()]
    assert left == [], left
