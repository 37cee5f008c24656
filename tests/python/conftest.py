import os
import sys

import numpy as np
import pytest

# the package from the build tree (meson sets PYTHONPATH; this is for
# running pytest by hand from the source tree after `meson compile -C build`)
_build = os.path.join(os.path.dirname(__file__), "..", "..", "build", "frontends", "python")
if "RECUR_PYTHONPATH" not in os.environ and os.path.isdir(_build):
    sys.path.append(os.path.abspath(_build))

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(SRC, "tests", "golden")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
