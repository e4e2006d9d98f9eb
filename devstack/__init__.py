"""Installs and starts the local servers (SecantusDB, SeaweedFS, Redis) for `./dev run` and for the tests.

One description of each server's command line (`servers.py`) serves both: `./dev run` starts them under honcho
with the default ports and data under ./var/; the test suite starts them on free ports with temporary data.
"""
