"""Physical constants, each once, with its source.

One Earth model for every distance in the project: WGS-84. Positions (satellites, sites)
are on its ellipsoid; distances along the surface (HyperDrive's candidate radii) are great
circles on the sphere of its mean radius through the geodetic sub-points.
"""

from __future__ import annotations

WGS84_EQUATORIAL_RADIUS_KM = 6_378.137
"""Semi-major axis a of WGS-84 (NIMA TR8350.2, table 3.1)."""
WGS84_FLATTENING = 1 / 298.257223563
"""Flattening f of WGS-84 (NIMA TR8350.2, table 3.1)."""
WGS84_POLAR_RADIUS_KM = WGS84_EQUATORIAL_RADIUS_KM * (1 - WGS84_FLATTENING)
"""Semi-minor axis b = a (1 - f)."""
WGS84_ECCENTRICITY_SQUARED = WGS84_FLATTENING * (2 - WGS84_FLATTENING)
"""First eccentricity squared e^2 = f (2 - f)."""
WGS84_MEAN_RADIUS_KM = (2 * WGS84_EQUATORIAL_RADIUS_KM + WGS84_POLAR_RADIUS_KM) / 3
"""Arithmetic mean radius R1 = (2a + b) / 3 of the ellipsoid (IUGG): 6,371.0088 km."""
WGS84_GM_KM3_S2 = 398_600.4418
"""Earth's gravitational parameter GM of WGS-84 (NIMA TR8350.2, table 3.1)."""

SPEED_OF_LIGHT_KM_S = 299_792.458
"""Speed of light in vacuum, exact by the definition of the metre (SI, 1983)."""

SECONDS_PER_DAY = 86_400.0

LINUX_CONGESTION_CONTROL = "cubic"
"""Linux's default TCP congestion control since 2.6.19 (what a node's stack runs unless
its host was configured otherwise)."""
NODE_SLOW_START_AFTER_IDLE = False
"""The nodes' `net.ipv4.tcp_slow_start_after_idle` unless a scenario says otherwise (Linux:
on); see `LinksSpec.slow_start_after_idle`."""

MAX_CONCURRENCY = 1000
"""The most invocations one function instance may run at once (Knative's largest
`containerConcurrency` is 1000: knative.dev/docs/serving/autoscaling/concurrency)."""
