"""The README's and docs' drawings exist, and the README's two slide drawings fit a 1920×1080 slide."""
from __future__ import annotations

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE_LINK = re.compile(r"!\[[^\n]*?\]\(([^)\s]+)\)")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])  # the IHDR chunk: width, height


def test_every_image_link_of_the_readme_and_docs_resolves():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        links = IMAGE_LINK.findall(page.read_text(encoding="utf-8"))
        missing = [link for link in links if not (page.parent / link).is_file()]
        assert not missing, f"{page.name} shows images that are not there: {missing}"


def test_the_readme_shows_the_chain_and_the_mlp_as_slides():
    links = IMAGE_LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {"docs/images/chain3.png", "docs/images/mlp.png"} <= set(links)
    for name in ("chain3.png", "mlp.png"):
        width, height = png_size(ROOT / "docs" / "images" / name)
        # drawn into a 16:9 slide of 1920×1080 px: it fills the slide's height or width, never more
        assert width <= 1920 and height <= 1080 and (height == 1080 or width == 1920), (name, width, height)
