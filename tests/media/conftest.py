"""Fixtures for the media tests: generated files, built once per session where they are big."""

from __future__ import annotations

from pathlib import Path

import mediagen as gen
import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def photo_jpeg(media_dir: Path) -> Path:
    """A 1600x1200 photo-like JPEG."""
    return gen.write(media_dir / "photo.jpg", gen.encode(gen.photo_like(1600, 1200, seed=3), quality=88))


@pytest.fixture(scope="session")
def big_50mp_jpeg(media_dir: Path) -> Path:
    """A 50-megapixel (8660x5774) photo-like JPEG at q95, the size of a high-end phone photo."""
    quarter = np.asarray(gen.photo_like(4330, 2887, seed=50))
    image = Image.fromarray(
        np.block([[[quarter], [quarter[:, ::-1]]], [[quarter[::-1]], [quarter[::-1, ::-1]]]])
    )
    return gen.write(media_dir / "big50.jpg", gen.encode(image, quality=95))
