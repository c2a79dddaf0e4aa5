"""Choosing the base: `auto` keeps the selected base, else probes the registry once."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.image import base, engine
from testbed.image.spec import OFFICIAL_BASE, BaseChoice


class FakeEngine:
    """Local images by reference, a registry that answers or not, and what was done."""

    def __init__(self, images: dict[str, str], registry: bool) -> None:
        self.images = dict(images)
        self.registry = registry
        self.actions: list[str] = []

    def image_id(self, client: object, reference: str) -> str | None:
        return self.images.get(reference)

    def registry_serves(self, image: str) -> bool:
        self.actions.append(f"probe {image}")
        return self.registry

    def pull(self, client: object, image: str) -> str:
        self.actions.append(f"pull {image}")
        self.images[image] = "sha256:pulled"
        return "sha256:pulled"

    def tag_image(self, client: object, image: str, reference: str) -> None:
        self.actions.append(f"tag {image} {reference}")
        self.images[reference] = image


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine(images={}, registry=False)
    for name in ("image_id", "registry_serves", "pull", "tag_image"):
        monkeypatch.setattr(engine, name, getattr(fake, name))

    def bootstrap(client: object, reference: str, workdir: Path) -> str:
        fake.actions.append(f"debootstrap {reference}")
        return "sha256:bootstrapped"

    monkeypatch.setattr(base, "_bootstrap", bootstrap)
    return fake


def test_auto_keeps_the_selected_base_without_probing(fake: FakeEngine) -> None:
    fake.images[base.SELECTED_BASE] = "sha256:selected"
    assert base.ensure_base(None, BaseChoice.AUTO, Path("/src")) == "sha256:selected"
    assert fake.actions == []


def test_auto_on_a_first_build_takes_the_official_image_when_the_registry_answers(
    fake: FakeEngine,
) -> None:
    fake.registry = True
    assert base.ensure_base(None, BaseChoice.AUTO, Path("/src")) == "sha256:pulled"
    assert fake.actions == [
        f"probe {OFFICIAL_BASE}",
        f"pull {OFFICIAL_BASE}",
        f"tag sha256:pulled {base.SELECTED_BASE}",
    ]


def test_auto_without_a_registry_bootstraps(fake: FakeEngine) -> None:
    assert base.ensure_base(None, BaseChoice.AUTO, Path("/src")) == "sha256:bootstrapped"
    assert fake.actions == [
        f"probe {OFFICIAL_BASE}",
        f"debootstrap {base.debootstrap_reference()}",
        f"tag sha256:bootstrapped {base.SELECTED_BASE}",
    ]


def test_explicit_choice_reuses_a_local_base_and_reselects_it(fake: FakeEngine) -> None:
    fake.images[base.SELECTED_BASE] = "sha256:official"
    fake.images[base.debootstrap_reference()] = "sha256:made-earlier"
    assert base.ensure_base(None, BaseChoice.DEBOOTSTRAP, Path("/src")) == "sha256:made-earlier"
    assert fake.actions == [f"tag sha256:made-earlier {base.SELECTED_BASE}"]


def test_official_base_present_locally_is_not_pulled(fake: FakeEngine) -> None:
    fake.images[OFFICIAL_BASE] = "sha256:local"
    assert base.ensure_base(None, BaseChoice.OFFICIAL, Path("/src")) == "sha256:local"
    assert fake.actions == [f"tag sha256:local {base.SELECTED_BASE}"]
