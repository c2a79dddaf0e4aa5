"""LEO Trek testbed: emulation of the Edge-Cloud-Space continuum."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("leotrek-testbed")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
