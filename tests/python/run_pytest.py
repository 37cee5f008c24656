#!/usr/bin/env python3
"""Run the Python binding's pytest suite (a meson test): exit 77 (skipped)
with a message when NumPy or pytest is missing."""
import os
import sys

try:
    import numpy  # noqa: F401
    import pytest
except ImportError as e:
    print("skipped: %s (install python3-numpy python3-pytest)" % e)
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-o", "console_output_style=classic", here]
                     + sys.argv[1:]))
