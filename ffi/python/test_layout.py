"""The ctypes structures of taskgroup.py have the layout of the C header's structs.

A small C program, generated from include/taskgroup.h and compiled at test time with the
system C compiler ($CC, else cc/gcc), prints sizeof, and the offsetof and size of every field,
of every struct the header defines; each ctypes Structure of taskgroup.py (``_c_name_`` names
its C struct) must agree field for field, in the same order. A reordered, retyped, missing or
extra field on either side fails here.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess

import pytest

from testutil import REPO

import taskgroup as tg  # noqa: E402

HEADER = REPO / "include" / "taskgroup.h"


def header_structs(text: str):
    """{struct name: [field names in order]} for every struct with a body in the header."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        name, body, alias = m.group(1), m.group(2), m.group(3)
        assert name == alias, f"struct {name} is typedef'd as {alias}"
        fields = []
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            ident = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", decl)
            assert ident, f"cannot parse field {decl!r} of {name}"
            fields.append(ident.group(1))
        structs[name] = fields
    return structs


def python_structs():
    """{C struct name: ctypes Structure class} for every Structure defined in taskgroup.py."""
    found = {}
    for obj in vars(tg).values():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and obj.__module__ == tg.__name__:
            c_name = obj.__dict__.get("_c_name_")
            assert c_name, f"{obj.__name__} has no _c_name_ naming its C struct"
            assert c_name not in found, f"two Structures claim {c_name}"
            found[c_name] = obj
    return found


def c_compiler():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


def c_layouts(structs, tmp_path):
    """{struct: (sizeof, [(field, offsetof, sizeof field)])} as the C compiler lays them out."""
    cc = c_compiler()
    if cc is None:
        pytest.skip("no C compiler ($CC, cc, gcc, clang) to check the layout against")
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "taskgroup.h"', "int main(void) {"]
    for name, fields in structs.items():
        lines.append(f'    printf("S {name} %zu\\n", sizeof({name}));')
        for f in fields:
            lines.append(
                f'    printf("F {name} {f} %zu %zu\\n", offsetof({name}, {f}), '
                f"sizeof((({name} *)0)->{f}));"
            )
    lines += ["    return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    out = subprocess.run(
        [cc, "-std=c11", "-Wall", "-Werror", "-I", str(HEADER.parent), str(src), "-o", str(exe)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    layouts = {}
    for line in run.stdout.splitlines():
        parts = line.split()
        if parts[0] == "S":
            layouts[parts[1]] = (int(parts[2]), [])
        else:
            layouts[parts[1]][1].append((parts[2], int(parts[3]), int(parts[4])))
    return layouts


def python_layout(cls):
    fields = []
    for name, ctype in cls._fields_:
        fields.append((name, getattr(cls, name).offset, ctypes.sizeof(ctype)))
    return ctypes.sizeof(cls), fields


def test_header_structs_are_parsed():
    structs = header_structs(HEADER.read_text())
    assert "tg_options" in structs and "tg_k_search" in structs
    assert structs["tg_request_id"] == ["step", "index"]


def test_every_ctypes_structure_matches_the_c_layout(tmp_path):
    structs = header_structs(HEADER.read_text())
    py = python_structs()
    # Every struct of the header that Python passes has a twin, and every twin a C struct.
    assert set(py) <= set(structs), f"no such C struct: {set(py) - set(structs)}"
    assert set(structs) == set(py), f"C structs without a ctypes twin: {set(structs) - set(py)}"
    layouts = c_layouts(structs, tmp_path)
    for name, cls in sorted(py.items()):
        c_size, c_fields = layouts[name]
        p_size, p_fields = python_layout(cls)
        assert [f[0] for f in p_fields] == [f[0] for f in c_fields], f"{name}: field names/order"
        assert p_fields == c_fields, f"{name}: (field, offset, size) differ"
        assert p_size == c_size, f"{name}: sizeof {p_size} in Python, {c_size} in C"


def test_a_reordered_field_is_caught(tmp_path):
    """The check itself: swapping two fields of a copy of a Structure breaks the comparison."""
    structs = header_structs(HEADER.read_text())
    layouts = c_layouts({"tg_request": structs["tg_request"]}, tmp_path)
    f = list(tg._Request._fields_)
    f[1], f[2] = f[2], f[1]
    swapped = type("_Swapped", (ctypes.Structure,), {"_fields_": f})
    assert python_layout(tg._Request) == (layouts["tg_request"][0], layouts["tg_request"][1])
    assert python_layout(swapped) != (layouts["tg_request"][0], layouts["tg_request"][1])
