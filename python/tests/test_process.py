"""The package in a process: Ctrl-C, the GIL, the library's BLAS check when
it is loaded into a running interpreter, and how the library is found."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import rnnlab
from conftest import ROOT


def _sigint_default():
    # a job started in the background by a non-interactive shell (nohup, &)
    # inherits SIGINT ignored, and Python then keeps it ignored: give the
    # child the disposition of a program started from a terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def python(code, env=None, timeout=120):
    e = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=e,
                          timeout=timeout, preexec_fn=_sigint_default)


INTERRUPT = """
    import os, signal, threading, time, numpy as np, rnnlab
    m = rnnlab.Model("tanh", 3, 96, 1)
    sd = {k: np.random.default_rng(0).normal(size=v.shape) * 0.1 for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t0 = time.time()
    try:
        CALL
        print("finished")
    except KeyboardInterrupt:
        print("interrupted after %.2f s" % (time.time() - t0))
    # the interpreter's own handler is back, and the library works on
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print(m.lyapunov(steps=10, k=1)[0] < 10)
"""


@pytest.mark.parametrize("call", [
    "m.lyapunov(steps=10**8)",
    "m.jacobian(np.ones((1, 100000, 3)), steps=False, radius=True)",
    "rnnlab.train(out=RUN, task='adding', seq_len=200, hidden=96, steps=10**7, log_every=10**6)",
])
def test_ctrl_c_stops_a_long_call(tmp_path, call):
    p = python(INTERRUPT.replace("CALL", call).replace("RUN", repr(str(tmp_path / "run"))))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split()
    assert lines[0] == "interrupted" and float(lines[2]) < 5 and lines[-1] == "True", p.stdout
    if "train" in call:  # a checkpoint to resume from
        assert (tmp_path / "run" / "checkpoint.safetensors").exists()


def test_long_calls_release_the_gil():
    m = rnnlab.Model("tanh", 3, 64, 1)
    stamps, done = [], threading.Event()

    def count():
        while not done.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.002)

    th = threading.Thread(target=count)
    th.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    m.lyapunov(steps=20000, state="random")
    t1 = time.perf_counter()
    done.set()
    th.join()
    # the other thread ran while the library worked (a held GIL would stop it)
    inside = [t for t in stamps if t0 + 0.005 < t < t1 - 0.005]
    assert t1 - t0 > 0.05 and len(inside) >= 3, (t1 - t0, len(inside))


BLAS = """
    import json, threading, time, warnings
    import numpy  # OpenBLAS loaded and started first, as in a notebook
    if BUSY:
        threading.Thread(target=time.sleep, args=(3,), daemon=True).start()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        import rnnlab
    b = rnnlab.info()["blas"]
    print(json.dumps({"action": b["action"], "before": b["kernel_before"], "after": b["kernel_after"],
                      "target": b["kernel_best"], "warning": b["warning"], "warned": [str(x.message) for x in w]}))
"""


def test_blas_check_when_loaded_late():
    """The library loaded into a running interpreter: its BLAS check switches
    OpenBLAS's kernel only when no thread but the loader and OpenBLAS's own
    workers is alive (src/blas.c). RNNLAB_TEST_BLAS_START makes OpenBLAS look
    as if it had chosen a weak kernel. Importing says nothing either way:
    rnnlab.info() holds the warning."""
    si = rnnlab.info()["blas"]
    if si["action"] in ("other", "fixed", "user") or si["kernel_best"] not in ("SkylakeX", "Haswell"):
        pytest.skip(f"no kernel switch possible here ({si['action']}, best {si['kernel_best']!r})")
    env = {"RNNLAB_TEST_BLAS_START": "Sandybridge"}
    env.pop("OPENBLAS_CORETYPE", None)
    alone = json.loads(python(BLAS.replace("BUSY", "False"), env).stdout)
    assert alone["action"] == "switched" and alone["before"] == "Sandybridge" and alone["after"] == alone["target"]
    assert alone["warned"] == []
    busy = json.loads(python(BLAS.replace("BUSY", "True"), env).stdout)
    assert busy["action"] == "failed" and busy["after"] == "Sandybridge", busy
    assert "switched nothing" in busy["warning"] and f"OPENBLAS_CORETYPE={busy['target']}" in busy["warning"]
    assert busy["warned"] == []


def test_info_is_the_commands(run_cli):
    """rnnlab.info() has the fields of `rnnlab info --json`, with the same values
    but for the timing of the kernel check and the thread counts (the command
    sets its own)."""
    mine, theirs = rnnlab.info(), json.loads(run_cli("info", "--json"))

    def keys(d, at=""):
        return {at + k for k in d} | {x for k, v in d.items() if isinstance(v, dict) for x in keys(v, at + k + ".")}
    assert keys(mine) == keys(theirs)
    for part in ("cpu", "blas"):
        for k, v in theirs[part].items():
            if k not in ("kernel_check_ms", "threads"):
                assert mine[part][k] == v, (part, k, mine[part][k], v)
    assert mine["blas"]["kernel_check"] == "passed" and mine["blas"]["kernel_check_ms"] > 0


def test_import_is_silent_whatever_the_blas():
    """A weak OPENBLAS_CORETYPE: import says nothing, info() says it."""
    code = ("import warnings\nwarnings.simplefilter('error')\nimport rnnlab\n"
            "print(rnnlab.info()['blas']['warning'])")
    p = python(code, {"OPENBLAS_CORETYPE": "Prescott"})
    assert p.returncode == 0 and p.stderr == "", p.stderr
    if rnnlab.info()["blas"]["kernel_best"]:
        assert p.stdout.startswith("OPENBLAS_CORETYPE=Prescott keeps OpenBLAS on its Prescott kernel"), p.stdout


def test_where_the_library_is_found(tmp_path):
    here = python("import rnnlab; print(rnnlab.library_path)")
    assert here.stdout.strip() == str(ROOT / "build" / "librnnlab.so.0"), here.stderr
    env = python("import rnnlab; print(rnnlab.library_path)", {"RNNLAB_LIB": str(ROOT / "build")})
    assert env.stdout.strip() == str(ROOT / "build" / "librnnlab.so.0"), env.stderr
    bad = python("import rnnlab", {"RNNLAB_LIB": str(tmp_path / "nothing.so")})
    assert bad.returncode != 0 and "RNNLAB_LIB=" in bad.stderr and "does not exist" in bad.stderr
