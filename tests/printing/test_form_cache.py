"""What makes a print fast must not change what it prints (issue 13): a definition parsed once
and kept gives the PDF a fresh parse gives, an edited definition is read again, the font faces'
subsets are reportlab's own, its lines are written as reportlab writes them, and reportlab runs
with its C accelerator."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pdfplumber
import yaml
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFontFace
from reportlab.pdfgen.canvas import Canvas

from desktop.paths import forms_dir, resources_dir
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import load_form, parse_form
from desktop.printing.render import FONT, TITLE_FONT, _draw_line, register_font, render_form
from desktop.store import Store
from tests.printing.test_forms import CONTEXT, saved, store  # noqa: F401  (the fixture)


def _words(pdf: bytes) -> list[tuple[int, str, float, float]]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [(page.page_number, w["text"], round(w["x0"], 2), round(w["top"], 2))
                for page in document.pages for w in page.extract_words()]


def test_the_kept_definition_prints_what_a_fresh_parse_prints(store: Store) -> None:  # noqa: F811
    data = approval_form_data(store, saved(store, rows=50), CONTEXT)
    path = forms_dir() / "approval.yaml"
    kept = load_form("approval")
    assert load_form("approval") is kept  # parsed once per process
    fresh = parse_form(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader),
                       path)
    assert kept == fresh
    from_kept, from_fresh = render_form(kept, data), render_form(fresh, data)
    assert _words(from_kept) == _words(from_fresh)
    assert len(_words(from_kept)) > 300  # 50 rows over three pages
    assert from_kept == from_fresh  # byte for byte (reportlab's invariant mode)


def test_an_edited_definition_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "approval.yaml"
    shutil.copyfile(forms_dir() / "approval.yaml", path)
    first = load_form("approval", tmp_path)
    assert load_form("approval", tmp_path) is first
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["title"] = "医疗救助帮困审批表（改）"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    again = load_form("approval", tmp_path)
    assert again.title == "医疗救助帮困审批表（改）"
    assert first.title == "医疗救助帮困审批表"  # what was handed out is not changed


def test_the_faces_make_the_subsets_reportlab_makes() -> None:
    register_font()
    fonts = resources_dir() / "fonts"
    text = "医疗救助帮困审批表街道（镇）复旦大学附属华山医院0123456789,.元角分√"
    for name, file in ((FONT, "uming.ttc"), (TITLE_FONT, "wqy-microhei.ttc")):
        ours = pdfmetrics.getFont(name).face
        plain = TTFontFace(str(fonts / file), subfontIndex=0)
        subset = [ord(char) for char in text]
        assert ours.makeSubset(subset) == plain.makeSubset(subset), name


def test_reportlab_runs_with_its_c_accelerator() -> None:
    # rl_accel (pyproject.toml): without it reportlab falls back to Python for string widths
    # and number formatting, silently
    import _rl_accel
    from reportlab.lib import rl_accel

    assert rl_accel.fp_str is _rl_accel.fp_str
    assert rl_accel.instanceStringWidthTTF is _rl_accel.instanceStringWidthTTF


def test_lines_are_written_as_reportlab_writes_them() -> None:
    register_font()
    texts = ["", "申请编号 华阳-2026-03-0042", "(括号) \\ 反斜杠 ）", "壹仟贰佰元整",
             "".join(chr(0x4E00 + n) for n in range(300))]  # more than one subset
    ours, theirs = io.BytesIO(), io.BytesIO()
    mine = Canvas(ours, pagesize=(595, 842), pageCompression=1, invariant=1)
    plain = Canvas(theirs, pagesize=(595, 842), pageCompression=1, invariant=1)
    for font in (FONT, TITLE_FONT):
        for size in (6, 8.5, 15):
            for n, text in enumerate(texts):
                width = pdfmetrics.stringWidth(text, font, size)
                for canvas in (mine, plain):
                    canvas.setFont(font, size)
                plain.drawString(10.5, 20 + n * 30, text)
                _draw_line(mine, pdfmetrics.getFont(font), 10.5, 20 + n * 30, text, size)
                plain.drawCentredString(300, 25 + n * 30, text)
                _draw_line(mine, pdfmetrics.getFont(font), 300 - 0.5 * width, 25 + n * 30,
                           text, size)
                plain.drawRightString(580, 30 + n * 30, text)
                _draw_line(mine, pdfmetrics.getFont(font), 580 - width, 30 + n * 30, text, size)
    for canvas in (mine, plain):
        canvas.showPage()
        canvas.save()
    assert ours.getvalue() == theirs.getvalue()
