"""Applies swap_client's patch in every Python process a library's suite starts (workers, CLI
runs, helper scripts), as the pytest plugin applies it in the test process (make
library-suites puts this directory on PYTHONPATH only for those runs)."""

import os

if os.environ.get("LIBRARY_SUITES_MODE"):
    import swap_client

    swap_client.install()
