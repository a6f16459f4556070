"""Plain helpers shared by the test modules: writers of small input files, tiny configs and
models. Fixtures built from them live in tests/conftest.py; no test module imports another."""
