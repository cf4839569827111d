"""The printed forms: each value in its box, amounts as 1,234.56 and in capital numerals, the
font embedded, the same PDF for the same application, copies counted and audited (issue 5)."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
import yaml
from reportlab.lib.units import mm
from sqlalchemy import select

from desktop.domain.bank_card import luhn_check_digit
from desktop.printing.context import PrintContext
from desktop.printing.documents import approval_form_data
from desktop.printing.forms import FormDefinitionError, load_form, parse_form
from desktop.printing.jobs import (
    PREVIEW_MARK,
    ReprintNeedsReason,
    document_pdf,
    draft_application_pdf,
    print_copy,
    prints_so_far,
)
from desktop.services.approvals import sign
from desktop.services.counter import CounterSession
from desktop.store import Store, open_store
from desktop.store.models import AuditEventRecord
from tests.services.test_counter import P, fill, row
from tests.signers import remember_with_key

SECRET = "pass-2026-synthetic"
TODAY = date(2026, 6, 10)
CONTEXT = PrintContext(street_name="华阳路街道")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "s.sqlite")
    rows = [row(f"F{n:02d}", f"2026-{3 + n % 3:02d}-{1 + n % 27:02d}", f"{100 + n * 37}.{n:02d}")
            for n in range(50)]
    fill(opened, rows, spans=[{"code": "dibao", "start": "2024-03-01", "end": None}])
    staff = (("zhao", "赵审核", ["reviewer"]), ("wang", "王审批", ["approver"]))
    for username, name, roles in staff:
        remember_with_key(opened, username, name, roles, SECRET)
    yield opened
    opened.close()


def saved(store: Store, rows: int = 2, signed: bool = True) -> uuid.UUID:
    counter = CounterSession(store, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick_all([f"F{n:02d}" for n in range(rows)])
    application_id = counter.submit(bank_account="6222021234567890128",
                                    now=datetime(2026, 6, 10, 2, tzinfo=UTC)).application_id
    if signed:
        sign(store, application_id, role="reviewer", username="zhao", password=SECRET,
             now=datetime(2026, 6, 11, 2, tzinfo=UTC))
        # the person has no card on file: the card given is a change the approver confirms
        sign(store, application_id, role="approver", username="wang", password=SECRET,
             now=datetime(2026, 6, 12, 2, tzinfo=UTC), confirm_card=True)
    return application_id


def text_in(page: Any, box: tuple[float, float, float, float]) -> str:
    x, y, w, h = box
    crop = page.crop((x * mm, y * mm, (x + w) * mm, (y + h) * mm))
    return "".join((crop.extract_text() or "").split())


def pages(pdf: bytes) -> list[Any]:
    return list(pdfplumber.open(io.BytesIO(pdf)).pages)


# -- the approval form ---------------------------------------------------------------------------

def test_every_field_of_the_approval_form_is_in_its_box(store: Store) -> None:
    application_id = saved(store)
    pdf = document_pdf(store, application_id, "approval", context=CONTEXT)
    form = load_form("approval")
    data = approval_form_data(store, application_id, CONTEXT)
    first = pages(pdf)[0]
    expected = {
        # the human number when the application has one, else the id's first group; never the
        # whole UUID
        "street": "华阳路街道", "application_id": str(application_id).split("-")[0],
        "applied_on": "2026-06-10", "program": "医疗救助（事后救助）", "auto_enrolled": "否",
        "name": "张三", "id_number": data["person"]["id_number"],
        # no card on file: the card given is a change (变更), confirmed by the approver
        "categories": "城乡低保家庭成员", "bank_account": "6222021234567890128（变更）",
        "handler": "li", "handler_date": "2026-06-10", "reviewer": "赵审核",
        "reviewer_date": "2026-06-11", "approver": "王审批", "approver_date": "2026-06-12",
    }
    for name, value in expected.items():
        assert value in text_in(first, form.element(name).box), name
    payable = Decimal(data["payable"])
    assert payable == Decimal("142.21")  # 60 % of (100.00 + 137.01), half up (POLICY.md §1, D6)
    assert "142.21" in text_in(first, form.element("payable").box)
    assert "壹佰肆拾贰元贰角壹分" in text_in(first, form.element("payable_capital").box)
    table = text_in(first, form.element("rows").box)
    assert "100.00" in table and "137.01" in table and "计入" in table
    computation = text_in(first, form.element("computation").box)
    assert "年度救助限额2,800.00" in computation and "闵行区医疗保障局" in computation
    assert "MH-2026" not in computation and "§" not in computation
    assert str(application_id) not in "".join((first.extract_text() or "").split())


def test_fifty_rows_continue_on_further_pages(store: Store) -> None:
    application_id = saved(store, rows=50, signed=False)
    pdf = document_pdf(store, application_id, "approval", context=CONTEXT)
    all_pages = pages(pdf)
    assert len(all_pages) >= 2
    text = "".join("".join((p.extract_text() or "").split()) for p in all_pages)
    assert ("（续表）" in text and "共2页" in text.replace("第1页/", "")) or "共" in text
    receipts = [f"RF{n:02d}" for n in range(50)]
    assert all(r in text for r in receipts)  # every row printed once at least
    assert sum(text.count(r) for r in receipts) == 50


def test_the_same_application_prints_the_same_pdf(store: Store) -> None:
    application_id = saved(store)
    first = document_pdf(store, application_id, "approval", context=CONTEXT)
    again = document_pdf(store, application_id, "approval", context=CONTEXT)
    assert first == again


def test_the_font_is_embedded_as_a_subset(store: Store) -> None:
    pdf = document_pdf(store, saved(store), "approval", context=CONTEXT)
    assert b"/FontFile2" in pdf  # TrueType outlines inside the PDF
    assert len(pdf) < 200_000  # a subset, not the 5 MB font


def test_the_application_form_fields(store: Store) -> None:
    application_id = saved(store, rows=3)
    pdf = document_pdf(store, application_id, "application", context=CONTEXT)
    form = load_form("changning_application")
    first = pages(pdf)[0]
    assert "华阳路街道" in text_in(first, form.element("street").box)
    assert "新华居委" in text_in(first, form.element("committee").box)
    assert "√否" in text_in(first, form.element("auto_enrolled").box)
    categories = text_in(first, form.element("categories").box)
    assert "√城乡低保家庭成员" in categories and "√特困人员" not in categories
    assert "√门急诊" in text_in(first, form.element("kinds").box)
    assert "3" in text_in(first, form.element("receipts").box)
    assert "411.03" in text_in(first, form.element("total").box)  # 100.00 + 137.01 + 174.02
    assert "2026年06月10日" in text_in(first, form.element("applied_on").box)


# -- copies ------------------------------------------------------------------------------------

def test_copies_are_counted_marked_and_audited(store: Store) -> None:
    application_id = saved(store)
    original = print_copy(store, application_id, "approval", clerk="li", context=CONTEXT)
    assert "副本" not in "".join((pages(original)[0].extract_text() or "").split())
    with pytest.raises(ReprintNeedsReason, match="重印须填写原因"):
        print_copy(store, application_id, "approval", clerk="li", context=CONTEXT)
    copy = print_copy(store, application_id, "approval", clerk="li", reason="申请人遗失",
                      context=CONTEXT)
    assert "副本（第2次打印）" in "".join((pages(copy)[0].extract_text() or "").split())
    assert prints_so_far(store, application_id, "approval") == 2
    assert prints_so_far(store, application_id, "application") == 0
    with store.read_session() as session:
        details = [e.detail for e in session.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == "form.printed"))]
    assert [(d["copy"], d["reason"]) for d in details] == [(1, None), (2, "申请人遗失")]


def test_a_preview_is_watermarked(store: Store, tmp_path: Path) -> None:
    pdf = tmp_path / "preview.pdf"
    pdf.write_bytes(document_pdf(store, saved(store), "approval", context=CONTEXT,
                                 watermark=PREVIEW_MARK))
    # pdfplumber skips the diagonal text; poppler's pdftotext (scripts/setup.sh) reads it
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert all(char in text for char in "预览非正式")


def test_the_preview_prints_the_bank_the_address_and_the_records_to_receive(tmp_path: Path
                                                                            ) -> None:
    """Issue 12 point 7: the preview before saving fills 开户银行 (from the card's prefix) and
    户籍地址 as the submit dialog proposes them, and says which 病史资料 must come with the
    application (CN-2026 4.6: 门诊大病 and 住院 rows)."""
    card = "622202" + "1234567890"
    card += luhn_check_digit(card)  # synthetic, with a valid check digit
    opened = open_store(tmp_path / "p.sqlite")
    fill(opened, [row("F1", "2026-05-08", "500.00"),
                  row("F2", "2026-05-09", "8000.00", kind="inpatient")],
         bank_account=card, address="华阳路 100 弄 1 号")
    counter = CounterSession(opened, P, program="assistance", clerk="li",
                             application_date=TODAY)
    counter.tick_all(["F1", "F2"])
    person, fees = counter.draft()
    pdf = draft_application_pdf(person, fees, auto_enrolled=False, bank_account=card,
                                applied_on=TODAY, context=CONTEXT)
    text = "".join("".join((page.extract_text() or "").split()) for page in pages(pdf))
    assert "中国工商银行" in text
    assert "华阳路100弄1号" in text
    assert "须提供（住院1张）" in text
    opened.close()


# -- definitions -------------------------------------------------------------------------------

def _definition(**element: Any) -> dict[str, Any]:
    base = {"type": "field", "name": "x", "box": [10, 10, 50, 8], "label": "姓名",
            "label_width": 10, "bind": "person.name"}
    return {"schema": "counter-form/1", "elements": [{**base, **element}]}


@pytest.mark.parametrize(("change", "words"), [
    ({"box": [200, 10, 50, 8]}, "not inside the page"),
    ({"box": [10, 10, 50]}, "box must be"),
    ({"format": "money"}, "format must be"),
    ({"bind": ""}, "needs bind"),
    ({"type": "picture"}, "type must be"),
    ({"label_width": 80}, "label_width"),
    ({"type": "table", "columns": [{"title": "日期", "width": 20, "bind": "date"}]},
     "must fill the box"),
])
def test_a_definition_that_cannot_be_drawn_is_refused(change: dict[str, Any], words: str,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    with pytest.raises(FormDefinitionError, match=words) as info:
        parse_form(_definition(**change), path)
    assert str(path) in str(info.value) and "elements[0]" in str(info.value)


def test_every_shipped_form_loads() -> None:
    for name in ("changning_application", "approval"):
        assert load_form(name).elements
    shipped = Path(__file__).resolve().parents[2] / "forms"
    for path in shipped.glob("*.yaml"):
        parse_form(yaml.safe_load(path.read_text(encoding="utf-8")), path)


@pytest.mark.slow
def test_pages_render_to_png_with_pdftoppm(store: Store, tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is installed by scripts/setup.sh")
    pdf = tmp_path / "approval.pdf"
    pdf.write_bytes(document_pdf(store, saved(store), "approval", context=CONTEXT))
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (png,) = tmp_path.glob("page*.png")
    assert png.stat().st_size > 5_000


def test_the_enrolment_form_annex_1(store: Store) -> None:
    """MA-2021 附件1: every field of the annex, from the enrolment saved at the counter."""
    from desktop.services.enrolment import EnrolmentForm, enrol

    form_data = EnrolmentForm(person_attribute="zhijiang", hukou_district="长宁区",
                              hukou_street="华阳路街道", contact_district="长宁区",
                              contact_street="江苏路街道", external_inpatient_insurance=True,
                              phone="13912345678", postcode="200050",
                              original_employer="上海第三钢铁厂",
                              other_province_employer="新疆某农场")
    saved_enrolment = enrol(store, P, form_data, handler="li", paid_on=date(2026, 11, 24))
    pdf = document_pdf(store, saved_enrolment.enrolment_id, "enrolment", context=CONTEXT)
    form = load_form("mutual_aid_enrolment")
    first = pages(pdf)[0]
    expected = {"name": "张三", "year": "2027年度", "fee": "130.00", "attribute": "√支疆",
                "insurance": "√有报销", "hukou_district": "长宁区", "hukou_street": "华阳路街道",
                "contact_street": "江苏路街道", "phone": "13912345678", "postcode": "200050",
                "original_employer": "上海第三钢铁厂", "other_employer": "新疆某农场",
                "paid_on": "2026年11月24日", "benefits": "2027-01-01起"}
    for name, value in expected.items():
        assert value in text_in(first, form.element(name).box), name
    assert "√支内" not in text_in(first, form.element("attribute").box)


@pytest.mark.parametrize(("reimbursed", "subsidy", "cut"), [
    # POLICY.md §1 (MA-2021 四(三)), with insurance elsewhere: 60 % × (20,000 − 1,000 − 500
    # − reimbursed), then the person keeps ≥ 8 % of 19,000 = 1,520 of in-scope self-pay
    ("15000.00", "2100.00", False),  # 4,000 − 2,100 = 1,900 ≥ 1,520
    ("16500.00", "980.00", True),  # 1,200 would leave 1,300 < 1,520: cut to 2,500 − 1,520
])
def test_the_inpatient_subsidy_form_annex_2(tmp_path: Path, reimbursed: str, subsidy: str,
                                           cut: bool) -> None:
    store = open_store(tmp_path / "ma.sqlite")
    fill(store, [row("IN1", "2026-04-08", "19000.00", kind="inpatient", total="20000.00",
                     out_of_scope="1000.00", external_deductible="500.00",
                     external_reimbursed=reimbursed)],
         spans=[], mutual_aid_years=[2026], external_inpatient_insurance=True,
         mutual_aid_benefits_from="2026-01-01")
    counter = CounterSession(store, P, program="mutual_aid", clerk="li",
                             application_date=TODAY)
    assert counter.tick("IN1").payable == Decimal(subsidy)
    application_id = counter.submit(medical_records=counter.needing_medical_records(),
                                    now=datetime(2026, 6, 10, 2, tzinfo=UTC)).application_id
    pdf = document_pdf(store, application_id, "inpatient", context=CONTEXT)
    form = load_form("mutual_aid_inpatient")
    first = pages(pdf)[0]
    stays = text_in(first, form.element("stays").box)
    assert "20,000.00" in stays and "1,000.00" in stays and f"{Decimal(reimbursed):,.2f}" in stays
    assert f"{Decimal(subsidy):,.2f}" in text_in(first, form.element("subsidy").box)
    assert "√有" in text_in(first, form.element("external").box)
    floor = text_in(first, form.element("floor").box)
    assert ("已按此比例核减" in floor) is cut and "沪医保规〔2021〕10号" in floor
    store.close()


# -- every bound value in its box, for every form --------------------------------------------------

def _every_value_is_in_its_box(pdf: bytes, form_name: str, data: dict[str, Any]) -> int:
    """Each field's and cell's formatted value, each ticked option and each visible table
    cell, found inside its element's rectangle on the first page; returns the checks made."""
    from desktop.printing.render import formatted, resolve

    form = load_form(form_name)
    first = pages(pdf)[0]
    checked = 0
    for element in form.elements:
        inside = text_in(first, element.box) if element.type != "text" else ""
        if element.type in ("field", "cell") and element.bind:
            value = "".join(formatted(resolve(data, element.bind), element.format,
                                      element.bind).split())
            assert value in inside, (form_name, element.name, value, inside)
            checked += 1
        elif element.type == "checks":
            chosen = resolve(data, element.bind)
            chosen = set(chosen) if isinstance(chosen, list) else {chosen}
            for option in element.options:
                ticked = f"√{''.join(option.label.split())}" in inside
                assert ticked is (option.value in chosen), (form_name, element.name, option)
                checked += 1
        elif element.type == "lines":
            for line in resolve(data, element.bind):
                assert "".join(str(line).split()) in inside, (form_name, element.name, line)
                checked += 1
        elif element.type == "table":
            fits = int((element.box[3] - element.header_height) // element.row_height)
            for row_data in resolve(data, element.bind)[:fits]:
                for column in element.columns:
                    value = "".join(formatted(resolve(row_data, column.bind), column.format,
                                              column.bind).split())
                    assert value in inside, (form_name, element.name, column.bind, value)
                    checked += 1
    return checked


def test_every_value_of_every_form_is_in_its_box(store: Store, tmp_path: Path) -> None:
    from desktop.printing.documents import (
        application_form_data,
        enrolment_form_data,
        inpatient_form_data,
    )
    from desktop.services.enrolment import EnrolmentForm, enrol

    application_id = saved(store, rows=20)
    for kind, form_name, build in (("application", "changning_application",
                                    application_form_data),
                                   ("approval", "approval", approval_form_data)):
        pdf = document_pdf(store, application_id, kind, context=CONTEXT)
        assert _every_value_is_in_its_box(pdf, form_name, build(store, application_id,
                                                                 CONTEXT)) > 20
    enrolment_id = enrol(store, P, EnrolmentForm(
        person_attribute="spouse", hukou_district="长宁区", hukou_street="华阳路街道",
        contact_district="长宁区", contact_street="华阳路街道",
        external_inpatient_insurance=False), handler="li",
        paid_on=date(2026, 10, 9)).enrolment_id
    pdf = document_pdf(store, enrolment_id, "enrolment", context=CONTEXT)
    assert _every_value_is_in_its_box(pdf, "mutual_aid_enrolment",
                                      enrolment_form_data(store, enrolment_id, CONTEXT)) > 20
    member = open_store(tmp_path / "member.sqlite")
    fill(member, [row("IN1", "2026-04-08", "8000.00", kind="inpatient", total="9000.00",
                      out_of_scope="1000.00")], spans=[], mutual_aid_years=[2026],
         mutual_aid_benefits_from="2026-01-01")
    counter = CounterSession(member, P, program="mutual_aid", clerk="li",
                             application_date=TODAY)
    counter.tick("IN1")
    inpatient_id = counter.submit(
        medical_records=counter.needing_medical_records()).application_id
    pdf = document_pdf(member, inpatient_id, "inpatient", context=CONTEXT)
    assert _every_value_is_in_its_box(pdf, "mutual_aid_inpatient",
                                      inpatient_form_data(member, inpatient_id, CONTEXT)) > 15
    member.close()
