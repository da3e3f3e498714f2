"""The hvdeck console: the Textual app, its screens, wizards and the command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hvdeck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
