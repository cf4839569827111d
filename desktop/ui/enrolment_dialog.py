"""互助帮困登记: the form 附件1 at the counter, the fee received, saved at once (synced later)."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QWidget,
)

from desktop.policy.enrolment import EnrolmentClosed
from desktop.services.counter import PersonCard, format_amount
from desktop.services.enrolment import (
    ATTRIBUTE_LABELS,
    EnrolmentForm,
    EnrolmentRefused,
    SavedEnrolment,
    enrol,
    terms_for,
)
from desktop.store import Store
from desktop.ui.widgets import dialog_frame, error_label, line_edit


class EnrolmentDialog(QDialog):
    def __init__(self, store: Store, card: PersonCard, *, clerk: str, today: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("互助帮困登记缴费")
        self.setObjectName("enrolmentDialog")
        self.store, self.card, self.clerk, self.today = store, card, clerk, today
        self.saved: SavedEnrolment | None = None
        self.terms = QLabel()
        self.terms.setObjectName("enrolmentTerms")
        self.terms.setWordWrap(True)
        self.attribute = QComboBox()
        self.attribute.setObjectName("personAttribute")
        self.attribute.setAccessibleName("人员属性")
        self.attribute.addItem("请选择", "")
        for code, label in ATTRIBUTE_LABELS.items():
            self.attribute.addItem(label, code)
        self.hukou_district = line_edit("hukouDistrict", "户籍所在地 区（县）")
        self.hukou_street = line_edit("hukouStreet", "户籍所在地 街道（镇/乡）")
        self.contact_district = line_edit("contactDistrict", "联系住址 区（县）")
        self.contact_street = line_edit("contactStreet", "联系住址 街道（镇/乡）")
        self.contact_address = line_edit("contactAddress", "联系住址", card.address or "")
        self.phone = line_edit("phone", "联系电话", card.phone or "")
        self.postcode = line_edit("postcode", "邮政编码")
        self.original_employer = line_edit("originalEmployer", "原在沪工作单位")
        self.other_employer = line_edit("otherProvinceEmployer", "在外省市工作单位")
        self.insured = QRadioButton("有报销")
        self.not_insured = QRadioButton("无报销")
        self.insured.setObjectName("externalInsured")
        self.not_insured.setObjectName("externalNotInsured")
        group = QButtonGroup(self)
        group.addButton(self.insured)
        group.addButton(self.not_insured)
        (self.insured if card.external_inpatient_insurance else self.not_insured).setChecked(True)
        self.reason = line_edit("midYearReason", "期外参加的特殊情况")
        self.fee_received = QCheckBox()
        self.fee_received.setObjectName("feeReceived")
        self.error = error_label("enrolmentError")

        insurance = QHBoxLayout()
        insurance.addWidget(self.insured)
        insurance.addWidget(self.not_insured)
        insurance.addStretch(1)
        form = QFormLayout()
        form.addRow("申请人", QLabel(f"{card.name}（{card.id_masked}）"))
        form.addRow("人员属性(&A)", self.attribute)
        form.addRow("户籍所在地 区（县）", self.hukou_district)
        form.addRow("户籍所在地 街道（镇/乡）", self.hukou_street)
        form.addRow("联系住址 区（县）", self.contact_district)
        form.addRow("联系住址 街道（镇/乡）", self.contact_street)
        form.addRow("联系住址", self.contact_address)
        form.addRow("联系电话", self.phone)
        form.addRow("邮政编码", self.postcode)
        form.addRow("原在沪工作单位（支内人员填写）", self.original_employer)
        form.addRow("在外省市工作单位", self.other_employer)
        form.addRow("外省市住院医疗待遇", insurance)
        form.addRow("期外参加的特殊情况(&R)", self.reason)
        form.addRow("", self.fee_received)
        dialog_frame(self, form, self.error, "保存登记", above=self.terms)
        self.reason.textChanged.connect(lambda _t: self.show_terms())
        self.show_terms()

    def show_terms(self) -> None:
        reason = self.reason.text().strip() or None
        try:
            terms = terms_for(self.store, self.card.person_id, self.today, reason)
        except EnrolmentClosed as exc:
            self.terms.setText(exc.message_zh)
            self.fee_received.setText("已收取个人缴费")
            return
        where = ("登记缴费期内" if terms.in_window
                 else f"期外特殊情况，缴费次月起享受（{terms.benefits_from.isoformat()} 起）")
        lines = [f"参加 {terms.year} 年度；{where}；个人缴费 {format_amount(terms.fee)} 元"
                 f"〔{'；'.join(terms.sources)}〕"]
        lines += [f"注意：{w}" for w in terms.warnings]
        self.terms.setText("\n".join(lines))
        self.fee_received.setText(f"已收取个人缴费 {format_amount(terms.fee)} 元")

    def accept(self) -> None:
        if not self.fee_received.isChecked():
            self.error.setText("请确认已收取个人缴费。")
            return
        form = EnrolmentForm(
            person_attribute=str(self.attribute.currentData() or ""),
            hukou_district=self.hukou_district.text(), hukou_street=self.hukou_street.text(),
            contact_district=self.contact_district.text(),
            contact_street=self.contact_street.text(),
            external_inpatient_insurance=self.insured.isChecked(),
            contact_address=self.contact_address.text().strip() or None,
            phone=self.phone.text().strip() or None,
            postcode=self.postcode.text().strip() or None,
            original_employer=self.original_employer.text().strip() or None,
            other_province_employer=self.other_employer.text().strip() or None,
            mid_year_reason=self.reason.text().strip() or None)
        try:
            self.saved = enrol(self.store, self.card.person_id, form, handler=self.clerk,
                               paid_on=self.today)
        except EnrolmentRefused as exc:
            self.error.setText(str(exc))
            return
        super().accept()
