"""The info service: current and predicted paths, served to nodes over the management network."""
