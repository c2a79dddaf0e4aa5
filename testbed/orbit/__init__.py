"""Satellites and ground sites in time: TLE and Walker shells through SGP4, Earth-fixed frames."""
