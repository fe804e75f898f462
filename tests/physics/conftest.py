"""Run the Numba kernels single-threaded in the test suite.

The CI machine is shared: with other jobs on its two cores, Numba's parallel regions (the CG
solver makes five per iteration) wait on busy cores and slow down by 10-100x. One thread is
immune to that and costs at most 2x on an idle machine.
"""

import numba
import pytest


@pytest.fixture(autouse=True, scope="session")
def _single_numba_thread():
    numba.set_num_threads(1)
