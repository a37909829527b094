"""The file name of the native library on this platform. Imports nothing from the package:
``setup.py`` loads this file on its own to name the library it builds and bundles."""

import sys


def library_file_name() -> str:
    """``libtaskgroup.so``, ``libtaskgroup.dylib`` (macOS) or ``taskgroup.dll`` (Windows)."""
    if sys.platform == "darwin":
        return "libtaskgroup.dylib"
    if sys.platform.startswith("win"):
        return "taskgroup.dll"
    return "libtaskgroup.so"
