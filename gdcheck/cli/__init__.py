"""The `gdcheck` command line: arguments (parser.py), commands (commands.py), and what a
run prints (display.py). It parses, calls the library and displays; nothing more."""

from .commands import main

__all__ = ["main"]
