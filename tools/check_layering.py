#!/usr/bin/env python3
"""Check the house rules of recur's source tree (docs/architecture.md).

1. Arrows point down: core <- ops <- layers <- train <- frontends. A file
   may include the public headers (<folder>/include/recur/*.h) of its own
   folder and of the folders below it, and private headers of its own
   folder only (a relative include must not leave the folder).
2. Outside libraries stay where they belong: file formats and drawing
   (jansson, libzip, HDF5, Graphviz) in frontends/ only; BLAS and SLEEF in
   ops/ only; MPI in frontends/mpi/ only (the communicator's engine).
3. No behaviour hangs on an op's name: comparing an op name string
   (`->op->name` or `rc_node_op_name(...)` in strcmp/strncmp, or
   rc_op_find) happens only in DOT labels (core/dot.c) and the format
   readers (frontends/model, keras, tfjs). Code asks for op identity or
   op flags instead.

Usage: check_layering.py [ROOT]      exit 1 and one line per violation
       check_layering.py --self-test  the checks catch planted violations
"""
import os
import re
import shutil
import sys
import tempfile

FOLDERS = ["core", "ops", "layers", "train", "frontends"]
RANK = {f: i for i, f in enumerate(FOLDERS)}

# Outside libraries' headers (prefix match) and the folders (path prefixes)
# that may use them.
LIBRARY_HEADERS = [
    (("jansson.h", "zip.h", "zipconf.h", "hdf5", "H5", "graphviz/"), ("frontends/",)),
    (("cblas.h", "openblas", "sleef"), ("ops/",)),
    (("mpi.h", "mpi_", "openmpi/", "mpi/"), ("frontends/mpi/",)),
]
# Where op names may be compared as strings.
NAME_COMPARE_OK = ("core/dot.c", "frontends/model/", "frontends/keras/", "frontends/tfjs/")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
NAME_RE = re.compile(
    r'str(?:n)?cmp\s*\([^;]*?(?:->op->name|rc_node_op_name\s*\()'  # strcmp(x->op->name, "...")
    r'|(?:->op->name|rc_node_op_name\s*\([^()]*\))\s*\)?\s*(?:==|!=)\s*"'
    r'|\brc_op_find\s*\(')


def owner_of_public(root, header):
    """Folder whose include/recur/ holds `header` ("recur/x.h"), or None."""
    for f in FOLDERS:
        if os.path.isfile(os.path.join(root, f, "include", header)):
            return f
    return None


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def check(root):
    errors = []
    for folder in FOLDERS:
        base = os.path.join(root, folder)
        for dirpath, _, files in os.walk(base):
            for name in sorted(files):
                if not name.endswith((".c", ".h", ".inc")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                rank = RANK[folder]
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for lineno, line in enumerate(text.splitlines(), 1):
                    m = INCLUDE_RE.match(line)
                    if not m:
                        continue
                    kind, inc = m.groups()
                    where = f"{rel}:{lineno}"
                    if inc.startswith("recur/") or inc == "recur.h":
                        own = owner_of_public(root, inc) if inc != "recur.h" else "frontends"
                        if own is None and kind == '"' and os.path.isfile(os.path.join(dirpath, inc)):
                            own = folder
                        if own is None:
                            errors.append(f"{where}: includes {inc}, which no folder's include/ provides")
                        elif RANK[own] > rank:
                            errors.append(f"{where}: {folder}/ includes {inc} of {own}/, a folder above it")
                        continue
                    if kind == '"':
                        target = os.path.normpath(os.path.join(dirpath, inc))
                        if not os.path.exists(target):
                            errors.append(f"{where}: includes \"{inc}\", which is not a file beside it")
                        elif os.path.relpath(target, base).startswith(".."):
                            errors.append(f"{where}: includes \"{inc}\", a private header outside {folder}/")
                        continue
                    for prefixes, allowed in LIBRARY_HEADERS:
                        if inc.startswith(prefixes) and not rel.replace(os.sep, "/").startswith(allowed):
                            errors.append(f"{where}: {os.path.dirname(rel)}/ includes <{inc}>, which only "
                                          f"{' and '.join(allowed)} may use")
                if name.endswith(".c") and not rel.startswith(NAME_COMPARE_OK) and rel != "ops/table.c":
                    code = strip_comments(text)
                    for m in NAME_RE.finditer(code):
                        lineno = code.count("\n", 0, m.start()) + 1
                        errors.append(f"{rel}:{lineno}: compares an op name as a string "
                                      f"({m.group(0).strip()[:40]}...): use op identity or an op flag")
    return errors


def self_test():
    """Plant one violation of each kind in a copy of the tree's layout and
    check that each is reported; the clean copy must pass."""
    tmp = tempfile.mkdtemp(prefix="recur-layering-")
    try:
        for f in FOLDERS:
            os.makedirs(os.path.join(tmp, f, "include", "recur"))
        open(os.path.join(tmp, "core/include/recur/graph.h"), "w").write("")
        open(os.path.join(tmp, "ops/include/recur/ops.h"), "w").write("")
        open(os.path.join(tmp, "frontends/include/recur/model_io.h"), "w").write("")
        open(os.path.join(tmp, "ops/private.h"), "w").write("")
        open(os.path.join(tmp, "ops/ok.c"), "w").write('#include "recur/graph.h"\n#include "private.h"\n'
                                                        '#include <cblas.h>\n')
        os.makedirs(os.path.join(tmp, "frontends/mpi"))
        os.makedirs(os.path.join(tmp, "frontends/cli"))
        open(os.path.join(tmp, "frontends/mpi/ok.c"), "w").write("#include <mpi.h>\n")
        assert check(tmp) == [], check(tmp)
        planted = {
            "core/up.c": '#include "recur/ops.h"\n',
            "layers/up.c": '#include "recur/model_io.h"\n',
            "core/rel.c": '#include "../ops/private.h"\n',
            "layers/json.c": "#include <jansson.h>\n",
            "core/blas.c": "#include <cblas.h>\n",
            "train/mpi.c": "#include <mpi.h>\n",
            "frontends/cli/mpi.c": "#include <mpi.h>\n",
            "train/name.c": 'static int f(const rc_node *n) { return strcmp(n->op->name, "concat") == 0; }\n',
            "layers/name2.c": 'static int f(const rc_node *n) { return !strcmp(rc_node_op_name(n), "x"); }\n',
        }
        for path, text in planted.items():
            open(os.path.join(tmp, path), "w").write(text)
        errors = check(tmp)
        for path in planted:
            assert any(e.startswith(path + ":") for e in errors), f"not caught: {path}\n" + "\n".join(errors)
        assert len(errors) == len(planted), "\n".join(errors)
    finally:
        shutil.rmtree(tmp)
    print(f"check_layering self-test: {len(planted)} planted violations caught, clean tree passes")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    errors = check(os.path.abspath(root))
    for e in errors:
        print(e)
    if errors:
        print(f"check_layering: {len(errors)} violation(s)")
        return 1
    print("check_layering: ok (arrows point down, libraries in their folders, no op-name comparisons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
