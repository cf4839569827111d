"""What makes a print fast must not change what it prints (issue 13): a definition parsed once
and kept gives the PDF a fresh parse gives, an edited definition is read again, and reportlab
(which measures the text) runs with its C accelerator. The engine's own writer is checked in
test_pdfwriter.py (its subsets, its caches) and test_same_look.py (its pages against reportlab's).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pdfplumber
import yaml

from desktop.paths import forms_dir
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import load_form, parse_form
from desktop.printing.render import render_form
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
    assert from_kept == from_fresh  # byte for byte


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


def test_reportlab_runs_with_its_c_accelerator() -> None:
    # rl_accel (pyproject.toml): without it reportlab falls back to Python for string widths
    # and number formatting, silently
    import _rl_accel
    from reportlab.lib import rl_accel

    assert rl_accel.fp_str is _rl_accel.fp_str
    assert rl_accel.instanceStringWidthTTF is _rl_accel.instanceStringWidthTTF
