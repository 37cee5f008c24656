#!/usr/bin/python3
"""The KANN textgen corpus of issue 18: Debian's fortunes (the definition in
../shared/peers/fortunes_corpus.py: 43 files, sorted, raw concatenation,
2,576,674 bytes) mapped to symbol ids, each byte value that occurs -> its
rank among the occurring values (114 symbols), written as whitespace-separated
integers for `recur train --ints`.

usage: bench/kann_corpus.py OUT.ints
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
for d in (os.path.join(here, "..", "..", "shared", "peers"), "/work/shared/peers"):
    if os.path.isfile(os.path.join(d, "fortunes_corpus.py")):
        sys.path.insert(0, d)
        break
import fortunes_corpus  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kann_corpus.py OUT.ints")
    data = fortunes_corpus.load()
    rank = {b: i for i, b in enumerate(sorted(set(data)))}
    if len(rank) != 114:
        sys.exit(f"expected 114 distinct byte values, found {len(rank)}")
    ids = [rank[b] for b in data]
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        for i in range(0, len(ids), 64):
            f.write(" ".join(map(str, ids[i:i + 64])))
            f.write("\n")
    os.replace(tmp, sys.argv[1])
    print(f"{sys.argv[1]}: {len(ids)} tokens, {len(rank)} symbols")


if __name__ == "__main__":
    main()
