#!/usr/bin/env python3
"""No fixed-size path buffers (issue 14, docs/security.md).

A file name that does not fit a fixed buffer is truncated, and a truncated
name is a different file (dir_of's `char dir[512]` once turned a long model
directory into "" and read shards from the current directory). Paths are
built in memory sized to them (io_path_join, io_dir_of, malloc + snprintf).

Flagged, in the library, the CLI and the examples:
1. PATH_MAX / MAXPATHLEN (a fixed size for paths by definition);
2. a fixed-size char array (local, global or struct field) passed as a path
   to a call that names a file: libc (fopen, open, openat, stat, rename,
   unlink, opendir, realpath, ...), jansson/libzip/HDF5 file calls, and
   recur's own file API (rc_io_load, rc_trainer_save, io_write_atomic, ...);
3. a fixed-size char array whose name says it holds a file name (file,
   filename, dir, dirname, full, fullpath, ...).

Usage: check_paths.py [ROOT]      exit 1 and one line per violation
       check_paths.py --self-test  the checks catch planted violations
"""
import os
import re
import shutil
import sys
import tempfile

FOLDERS = ["core", "ops", "layers", "train", "frontends", "examples"]

# call -> indices of its path arguments
PATH_CALLS = {
    "fopen": (0,), "freopen": (0,), "open": (0,), "creat": (0,), "openat": (1,), "openat2": (1,),
    "stat": (0,), "lstat": (0,), "fstatat": (1,), "access": (0,), "faccessat": (1,), "opendir": (0,),
    "unlink": (0,), "unlinkat": (1,), "rename": (0, 1), "renameat": (1, 3), "mkdir": (0,), "rmdir": (0,),
    "realpath": (0,), "chmod": (0,), "truncate": (0,), "readlink": (0,), "symlink": (0, 1), "link": (0, 1),
    "mkstemp": (0,), "mkdtemp": (0,), "dirname": (0,), "basename": (0,),
    "json_load_file": (0,), "json_dump_file": (1,), "zip_open": (0,), "H5Fopen": (0,),
    "io_write_atomic": (0,), "io_open_beneath": (1,), "io_path_join": (0,), "io_dir_of": (0,),
    "rc_safetensors_write": (0,), "rc_safetensors_read": (0,), "rc_trainer_save": (1,),
    "rc_trainer_load": (1,), "rc_load_params": (0,), "rc_save_params": (0,), "rc_io_load": (0,),
    "rc_io_export_tfjs": (1,), "rc_dot_save": (2,), "rc_dot_save_text": (1,),
    "rc_corpus_load_bytes": (1,), "rc_corpus_load_ints": (1,), "render_write_file": (0,),
}
PATH_NAMES = re.compile(r"^(file|filename|fname_path|dir|dirname|dirpath|full|fullpath|filepath|path_buf|pathbuf)$")
ARRAY_RE = re.compile(r"\bchar\s+(?:\*\s*)?(\w+)\s*\[\s*([^\]]+?)\s*\]")
ARRAY_MULTI_RE = re.compile(r"\bchar\s+([^;(){}]*\[[^;(){}]*);")
CALL_RE = re.compile(r"\b(" + "|".join(sorted(PATH_CALLS, key=len, reverse=True)) + r")\s*\(")
PATH_MAX_RE = re.compile(r"\b(PATH_MAX|MAXPATHLEN)\b")


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)


def split_args(text, start):
    """Arguments of the call whose '(' is at text[start-1]; None if unbalanced."""
    depth, args, cur = 1, [], []
    i = start
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return None


def fixed_arrays(text):
    names = set()
    for m in ARRAY_MULTI_RE.finditer(text):
        # char a[10], b[20]; and char *p, buf[64];
        for part in m.group(1).split(","):
            mm = re.match(r"\s*\**\s*(\w+)\s*\[", part)
            if mm:
                names.add(mm.group(1))
    return names


def top_blocks(text):
    """Top-level brace blocks: (start, end, is_body) where is_body says a
    function body (else a struct/union/enum/initializer)."""
    blocks, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                head = text[text.rfind(";", 0, start) + 1:start]
                is_body = head.rstrip().endswith(")") and not re.search(r"\b(struct|union|enum)\b\s*\w*\s*$", head)
                blocks.append((start, i, is_body))
    return blocks


def check_file(path, rel):
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    text = strip_comments_and_strings(raw)
    raw_lines = raw.split("\n")
    errors = []
    blocks = top_blocks(text)
    outside = list(text)
    for b0, b1, _ in blocks:
        outside[b0:b1 + 1] = " " * (b1 + 1 - b0)
    globals_ = fixed_arrays("".join(outside))
    fields = set()
    for b0, b1, body in blocks:
        if not body:
            fields |= fixed_arrays(text[b0:b1 + 1])
    line_of = lambda pos: text.count("\n", 0, pos) + 1
    for m in PATH_MAX_RE.finditer(text):
        errors.append(f"{rel}:{line_of(m.start())}: {m.group(1)}: a fixed size for a path (build it to its length)")
    for m in ARRAY_MULTI_RE.finditer(text):
        for part in m.group(1).split(","):
            mm = re.match(r"\s*\**\s*(\w+)\s*\[", part)
            if mm and PATH_NAMES.match(mm.group(1)):
                errors.append(f"{rel}:{line_of(m.start())}: char {mm.group(1)}[...]: a fixed-size buffer named "
                              f"for a file name")
    for m in CALL_RE.finditer(text):
        # not a declaration or a member named like the call (x.open)
        before = text[max(0, m.start() - 2):m.start()]
        if before.endswith(".") or before.endswith("->"):
            continue
        args = split_args(text, m.end())
        if not args:
            continue
        # a buffer sized for what it holds (e.g. "/proc/self/fd/%d"): marked in the source
        if "path-lint: bounded" in raw_lines[line_of(m.start()) - 1]:
            continue
        body = next((b for b in blocks if b[0] <= m.start() <= b[1] and b[2]), None)
        local = fixed_arrays(text[body[0]:body[1] + 1]) if body else set()
        for k in PATH_CALLS[m.group(1)]:
            if k >= len(args):
                continue
            a = re.sub(r"^\(\s*(?:const\s+)?char\s*\*\s*\)\s*", "", args[k])
            mm = re.fullmatch(r"((?:\w+\s*(?:->|\.)\s*)*)(\w+)", a)
            if mm and (mm.group(2) in (fields if mm.group(1) else local | globals_)):
                errors.append(f"{rel}:{line_of(m.start())}: {m.group(1)}() is given '{a}', a fixed-size char array, "
                              f"as a path")
    return errors


def check(root):
    errors = []
    for folder in FOLDERS:
        base = os.path.join(root, folder)
        for dirpath, _, files in os.walk(base):
            for fn in sorted(files):
                if fn.endswith((".c", ".h")):
                    p = os.path.join(dirpath, fn)
                    errors += check_file(p, os.path.relpath(p, root))
    return errors


def self_test():
    planted = {
        "core/a.c": "#include <limits.h>\nvoid f(void) { char b[PATH_MAX]; (void)b; }\n",
        "frontends/b.c": "void g(const char *d) { char p[512]; snprintf(p, sizeof p, \"%s/x\", d); fopen(p, \"rb\"); }\n",
        "frontends/c.c": "struct s { char file[1024]; };\n",
        "train/d.c": "void h(struct t *m) { rc_trainer_save(m->tr, m->where, 0, 0, 0); }\nstruct t { char where[80]; };\n",
        "ops/e.c": "void k(int dfd) { char a[8], name[300]; openat(dfd, name, 0); }\n",
    }
    clean = {
        "layers/ok.c": "void ok(const char *d) { char label[64]; char *p = io_path_join(d, \"x\"); fopen(p, \"rb\"); "
                       "rc_node_path(n, label, sizeof label); x.open(label); }\n",
    }
    tmp = tempfile.mkdtemp()
    try:
        for f in FOLDERS:
            os.makedirs(os.path.join(tmp, f))
        for name, body in {**planted, **clean}.items():
            with open(os.path.join(tmp, name), "w") as fh:
                fh.write(body)
        errors = check(tmp)
        ok = True
        for name in planted:
            if not any(e.startswith(name + ":") for e in errors):
                print(f"self-test: the violation planted in {name} was not caught")
                ok = False
        for name in clean:
            hits = [e for e in errors if e.startswith(name + ":")]
            if hits:
                print(f"self-test: false alarm in {name}: {hits}")
                ok = False
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    errs = check(root)
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)
