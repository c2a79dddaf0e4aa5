"""`testbed image ...`: build the node image and show which one the current tree needs."""

from __future__ import annotations

from typing import Annotated

import typer

from testbed.image import engine
from testbed.image.build import build_node_image, node_image_tag
from testbed.image.spec import BaseChoice

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def build(
    base: Annotated[
        BaseChoice,
        typer.Option(
            case_sensitive=False,
            help="Base image: official (python:3.11-slim-bookworm from a registry), "
            "debootstrap (made offline), auto (keep the selected one, else official when "
            "a registry answers, else debootstrap).",
        ),
    ] = BaseChoice.AUTO,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the image is current.")
    ] = False,
    gpu: Annotated[
        bool,
        typer.Option(
            "--gpu",
            help="The GPU variant (the node image plus torch with CUDA, about 3 GB more), for "
            "nodes with the host's GPU attached; `testbed up` builds it when one is.",
        ),
    ] = False,
) -> None:
    """Build the node image for the current tree, if it is not built yet."""
    image = build_node_image(base, force, gpu=gpu)
    state = "built" if image.built else "up to date"
    typer.echo(f"{image.tag} ({state})")


@app.command()
def show() -> None:
    """Print the node image tag the current tree needs and whether it exists."""
    client = engine.connect()
    tag = node_image_tag(client)
    state = "present" if engine.image_id(client, tag) else "missing: run `testbed image build`"
    typer.echo(f"{tag} ({state})")
