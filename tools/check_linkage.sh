#!/bin/sh
# A program that only builds and trains models links librecur alone: none of
# the file-format or drawing libraries (those come with librecur-io).
# usage: check_linkage.sh PROGRAM   (a program linked against librecur.so)
set -eu
prog=$1
deps=$(ldd "$prog") || { echo "check_linkage: ldd failed on $prog"; exit 1; }
echo "$deps" | grep -q 'librecur\.so' || { echo "check_linkage: $prog does not link librecur.so"; exit 1; }
bad=$(echo "$deps" | grep -E 'librecur-io|libjansson|libzip|libhdf5|libgvc|libcgraph' || true)
if [ -n "$bad" ]; then
    echo "check_linkage: $prog links what only file formats and drawing need:"
    echo "$bad"
    exit 1
fi
echo "check_linkage: $prog links librecur without jansson, libzip, HDF5 or Graphviz"
