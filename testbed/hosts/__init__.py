"""Real boards (Raspberry Pi, Jetson) as nodes, over SSH with Fabric: check what a board
has, provision it from the controller's wheelhouse, and remove all of it again.

`facts` is pure (what a probe's answer means); the other modules run commands on boards.
"""
