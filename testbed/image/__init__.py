"""The node image that every emulated node runs, built offline and tagged by its content.

`node_image_tag()` names the image the emulation should run; `build_node_image()` makes sure
it exists (the `testbed image build` command).
"""

from __future__ import annotations

from testbed.image.build import NodeImage, build_node_image, node_image_tag
from testbed.image.spec import BaseChoice

__all__ = ["BaseChoice", "NodeImage", "build_node_image", "node_image_tag"]
