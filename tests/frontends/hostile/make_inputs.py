#!/usr/bin/env python3
"""Build the hostile inputs of issue 14 from a golden model (test time, so
nothing binary is committed). usage: make_inputs.py KIND SRC OUT [ARGS]

  bigdecl  SRC.keras OUT.keras      model.weights.h5 declares 4 GiB - 2 bytes
                                    (central directory and local header),
                                    the archive stays 22 KB
  h5mut    SRC.keras OUT_DIR N SEED N copies with model.weights.h5 mutated
                                    (bytes, address fields, and the local heap
                                    size set to 1 TiB), deterministic by SEED
  nan      SRC.safetensors OUT.safetensors NAME
                                    element 3 of F32 tensor NAME set to NaN
"""
import random
import struct
import sys
import zipfile
import json
import os


def bigdecl(src, out):
    b = bytearray(open(src, "rb").read())
    name = b"model.weights.h5"
    i, hit = 0, False
    while True:
        i = b.find(b"PK\x01\x02", i)
        if i < 0:
            break
        nl = struct.unpack_from("<H", b, i + 28)[0]
        if b[i + 46:i + 46 + nl] == name:
            struct.pack_into("<I", b, i + 24, 0xFFFFFFFE)
            loc = struct.unpack_from("<I", b, i + 42)[0]
            struct.pack_into("<I", b, loc + 22, 0xFFFFFFFE)
            hit = True
        i += 4
    assert hit, "no model.weights.h5 in " + src
    open(out, "wb").write(b)


def h5mut(src, outdir, n, seed):
    z = zipfile.ZipFile(src)
    members = {k: z.read(k) for k in z.namelist()}
    h5 = members["model.weights.h5"]
    rnd = random.Random(seed)
    addrs = [i for i in range(0, len(h5) - 8, 8) if 0 < struct.unpack_from("<Q", h5, i)[0] < len(h5)]
    heaps = [i for i in range(len(h5) - 4) if h5[i:i + 4] == b"HEAP"]
    os.makedirs(outdir, exist_ok=True)
    for k in range(n):
        b = bytearray(h5)
        kind = k % 4
        if kind == 0:  # a few random bytes in the metadata at the front
            for _ in range(rnd.choice([1, 2, 4, 8])):
                b[rnd.randrange(min(len(b), 4096))] = rnd.randrange(256)
        elif kind == 1:  # an address field pointing elsewhere
            i = rnd.choice(addrs)
            struct.pack_into("<Q", b, i, rnd.choice([rnd.randrange(len(h5)), len(h5) + rnd.randrange(1 << 20),
                                                     (1 << 64) - 1 - rnd.randrange(16)]))
        elif kind == 2 and heaps:  # a local heap claiming 1 TiB of data
            struct.pack_into("<Q", b, rnd.choice(heaps) + 8, 1 << 40)
        else:  # bytes anywhere
            for _ in range(rnd.choice([1, 16, 64])):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
        with zipfile.ZipFile(os.path.join(outdir, "m%03d.keras" % k), "w") as w:
            for name, data in members.items():
                w.writestr(name, bytes(b) if name == "model.weights.h5" else data)


def nan(src, out, name):
    b = bytearray(open(src, "rb").read())
    n = struct.unpack_from("<Q", b, 0)[0]
    h = json.loads(bytes(b[8:8 + n]))
    assert h[name]["dtype"] == "F32"
    off = 8 + n + h[name]["data_offsets"][0] + 4 * 3
    struct.pack_into("<f", b, off, float("nan"))
    open(out, "wb").write(b)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "bigdecl":
        bigdecl(sys.argv[2], sys.argv[3])
    elif kind == "h5mut":
        h5mut(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif kind == "nan":
        nan(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown kind " + kind)
