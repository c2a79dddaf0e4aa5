"""Every number of the Gaia policy in one place: the scenario's `platform.gaia`."""

from __future__ import annotations

from testbed.scenario.model import GaiaSpec

GaiaConfig = GaiaSpec
"""The runtime reads the scenario's model as it is: one definition of each constant."""

DEFAULT_CONFIG = GaiaConfig()
