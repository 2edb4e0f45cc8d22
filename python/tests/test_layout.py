"""The ctypes mirrors of the C structures (rnnlab/_lib.py) against the
header, compiled: every field's offset and every struct's size. A struct
that changes in include/rnnlab.h fails here, naming the field, instead of
in a computation."""
import ctypes
import subprocess

from conftest import ROOT
from rnnlab import _lib


def test_mirrors_match_the_header(tmp_path):
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "rnnlab.h"', "int main(void)", "{"]
    for cname, mirror in _lib.MIRRORS.items():
        lines.append(f'    printf("{cname} %zu\\n", sizeof({cname}));')
        for field, _ in mirror._fields_:
            if field != "_pad":
                lines.append(f'    printf("{cname}.{field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["    return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    subprocess.run(["cc", "-std=c11", "-I", str(ROOT / "include"), "-o", str(exe), str(src)], check=True)
    c = dict(line.rsplit(" ", 1) for line in subprocess.run([str(exe)], capture_output=True, text=True,
                                                             check=True).stdout.splitlines())
    for cname, mirror in _lib.MIRRORS.items():
        assert int(c[cname]) == ctypes.sizeof(mirror) - _lib._PAD, f"{cname} has a field the mirror lacks"
        for field, _ in mirror._fields_:
            if field != "_pad":
                assert int(c[f"{cname}.{field}"]) == getattr(mirror, field).offset, f"{cname}.{field} moved"


def test_library_exports_what_the_package_calls():
    # every declaration of _lib is a function of the header, bound at import
    for name in _lib._DECLS:
        assert getattr(_lib.fn, name) is not None
