"""The info service: current and predicted paths, served to the nodes over the management network."""
