# A package, so this folder's conftest does not replace tests/conftest.py as module `conftest`.
