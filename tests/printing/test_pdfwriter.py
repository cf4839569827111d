"""The engine's own PDF writer (issue 13): deflate pieces join into one stream, a subset holds
the font's own outlines with valid checksums, what is kept between documents never changes the
bytes, every character comes back out as text (even one the font lacks), and poppler reads the
file: metadata, fonts embedded, pages drawn without a complaint."""

from __future__ import annotations

import io
import itertools
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from reportlab.pdfbase.ttfonts import TTFontParser

from desktop.printing import deflate, pdfwriter, render
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import load_form, parse_form
from desktop.printing.render import FONT, TITLE_FONT, register_font, render_form
from desktop.printing.truetype import EmbeddedFace
from desktop.store import Store
from tests.printing.test_forms import CONTEXT, saved, store  # noqa: F401  (the fixture)

TEXT = "医疗救助帮困审批表街道（镇）复旦大学附属华山医院0123456789,.元角分√ 副本（第 2 次打印）"


def test_pieces_join_into_one_zlib_stream() -> None:
    draw = random.Random(5)
    parts = [bytes(draw.randrange(256) for _ in range(draw.randrange(0, 900))) + bytes(300)
             for _ in range(40)] + [b""]
    pieces = [deflate.piece(part, level) for part, level in zip(parts, [1, 6, 9] * 14,
                                                                 strict=False)]
    whole = b"".join(parts)
    assert zlib.decompress(deflate.zlib_stream(pieces, zlib.adler32(whole))) == whole
    # in another order too: each piece stands alone
    assert (zlib.decompress(deflate.zlib_stream(pieces[::-1], zlib.adler32(b"".join(parts[::-1]))))
            == b"".join(parts[::-1]))


def _glyph_table(program: bytes, parsed: TTFontParser) -> list[bytes]:
    """Each glyph's outline in a TrueType file, by its loca table."""
    glyf = parsed.get_table_pos("glyf")[0]
    loca, loca_length = parsed.get_table_pos("loca")
    head = parsed.get_table_pos("head")[0]
    long = struct.unpack(">h", program[head + 50:head + 52])[0] == 1
    offsets = (struct.unpack(f">{loca_length // 4}L", program[loca:loca + loca_length]) if long
               else [2 * o for o in struct.unpack(f">{loca_length // 2}H",
                                                   program[loca:loca + loca_length])])
    return [program[glyf + a:glyf + b] for a, b in itertools.pairwise(offsets)]


def _original(face: EmbeddedFace, gid: int) -> bytes:
    raw = face.face
    start = raw.get_table_pos("glyf")[0]
    return bytes(raw._ttf_data[start + raw.glyphPos[gid]:start + raw.glyphPos[gid + 1]])


@pytest.mark.parametrize("name", [FONT, TITLE_FONT])
def test_a_subset_holds_the_fonts_own_outlines_and_valid_checksums(name: str) -> None:
    register_font()
    face = pdfwriter.face_named(name)
    gids = {face.cid_of[char] for char in TEXT if char in face.cid_of}
    subset = face.subset(gids)
    program = zlib.decompress(subset.stream)
    assert len(program) == subset.length
    parsed = TTFontParser(io.BytesIO(program), validate=1)  # each table's and the file's sum
    glyphs = _glyph_table(program, parsed)
    assert len(glyphs) == len(subset.new_ids) and subset.new_ids[0] == 0
    assert gids <= set(subset.new_ids)
    composites = 0
    hmtx = parsed.get_table_pos("hmtx")[0]
    for gid, new in subset.new_ids.items():
        original = bytearray(_original(face, gid))
        kept = face.glyph(gid)
        for component, at in zip(kept.components, kept.at, strict=True):
            assert struct.unpack(">H", original[at:at + 2])[0] == component
            original[at:at + 2] = struct.pack(">H", subset.new_ids[component])
            composites += 1
        assert glyphs[new].rstrip(b"\0") == bytes(original).rstrip(b"\0"), (name, gid)
        assert program[hmtx + 4 * new:hmtx + 4 * new + 2] == face._metrics[gid][:2]
    if name == TITLE_FONT:
        assert composites  # WenQuanYi builds many CJK glyphs from components


def _clear_kept() -> None:
    render._layouts.clear()
    pdfwriter._kept_ops.clear()
    pdfwriter._kept_boxes.clear()
    for name in (FONT, TITLE_FONT):
        face = pdfwriter.face_named(name)
        face._glyphs.clear()
        face._composites.clear()


def test_what_is_kept_between_documents_does_not_change_the_bytes(store: Store  # noqa: F811
                                                                  ) -> None:
    form = load_form("approval")
    data = approval_form_data(store, saved(store, rows=50), CONTEXT)
    other = dict(data, person=dict(data["person"], name="欧阳秀英", address="愚园路 1 号"))
    render_form(form, other)
    warm = render_form(form, data)  # after another person's form
    _clear_kept()
    assert render_form(form, data) == warm  # as the first print in a process
    assert render_form(form, data) == warm


def _one_field(value: str, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    definition = {"schema": "counter-form/1", "id": "one", "title": "单项", "elements": [
        {"type": "text", "name": "title", "x": 105, "y": 18, "size": 15, "align": "center",
         "text": "标题"},
        {"type": "field", "name": "name", "box": [10, 30, 120, 10], "label": "姓名",
         "label_width": 20, "bind": "name"}]}
    return parse_form(definition, tmp_path / "one.yaml"), {"name": value}


def test_every_character_comes_back_as_text(tmp_path: Path) -> None:
    register_font()
    face = pdfwriter.face_named(FONT)
    astral = next(char for char in sorted(face.cid_of) if ord(char) > 0xFFFF)
    lacking = "\U0001F600\u4dc0"  # in neither face: drawn as the empty glyph, still text
    assert not any(char in face.cid_of for char in lacking)
    value = f"林{astral}秀{lacking}英 (a\\b)"
    form, data = _one_field(value, tmp_path)
    pdf = render_form(form, data)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        text = document.pages[0].extract_text() or ""
    assert value.replace(" ", "") in text.replace(" ", "")
    assert render_form(form, data) == pdf


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} (poppler-utils) is installed by scripts/setup.sh")
    return path


def test_poppler_reads_the_file(store: Store, tmp_path: Path) -> None:  # noqa: F811
    data = approval_form_data(store, saved(store, rows=50), CONTEXT)
    path = tmp_path / "approval.pdf"
    path.write_bytes(render_form(load_form("approval"), data, watermark="预览 — 非正式",
                                 copy_mark="副本（第 2 次打印）"))
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True, timeout=60)
    assert info.stderr == ""
    assert "医疗救助帮困审批表" in info.stdout and "医疗救助柜台" in info.stdout
    assert "Pages:           3" in info.stdout
    fonts = subprocess.run([_tool("pdffonts"), str(path)], capture_output=True, text=True,
                           check=True, timeout=60)
    assert fonts.stderr == ""
    rows = fonts.stdout.splitlines()[2:]
    assert len(rows) == 2
    for line in rows:  # CID TrueType, Identity-H, embedded, a subset, with ToUnicode
        assert "CID TrueType" in line and "Identity-H" in line
        assert line.split()[-5:-2] == ["yes", "yes", "yes"], line
    drawn = subprocess.run([_tool("pdftoppm"), "-r", "30", "-gray", str(path),
                            str(tmp_path / "page")], capture_output=True, text=True,
                           check=True, timeout=60)
    assert drawn.stderr == ""
    assert len(list(tmp_path.glob("page*.pgm"))) == 3
