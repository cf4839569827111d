"""Small dialogs: submit an application, the trace, a password or a reason to confirm an action."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.bank_card import check_bank_card
from desktop.domain.banks import bank_of_card
from desktop.domain.errors import DomainError
from desktop.domain.id_number import parse_id_number
from desktop.ui.screen_fit import fit_to_screen
from desktop.ui.widgets import dialog_frame, error_label, line_edit

MEDICAL_RECORDS_TEXT = "已收到病史资料（门诊大病、住院须附，长宁区操作细则 4.6）(&M)"


@dataclass(frozen=True)
class SubmitChoices:
    bank_account: str | None
    auto_enrolled: bool
    proxy_name: str | None
    proxy_id_number: str | None
    bank_name: str | None = None  # 开户银行
    household_address: str | None = None  # 户籍地址
    medical_records: bool = False  # the 病史资料 of the 门诊大病 / 住院 rows were received


class SubmitDialog(QDialog):
    """What the application needs besides the ticked rows: bank account and 开户银行, 户籍地址,
    免申即享, proxy, and — with 门诊大病 or 住院 rows — that their 病史资料 came with it."""

    def __init__(self, *, person_name: str, program_label: str, payable_text: str,
                 bank_account: str | None, household_address: str | None = None,
                 medical_rows: tuple[str, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("提交申请")
        self.setObjectName("submitDialog")
        self.bank = line_edit("bankAccount", "银行卡号", bank_account or "")
        self.bank_name = line_edit("bankName", "开户银行", bank_of_card(bank_account) or "")
        self.bank_name.setPlaceholderText("按卡号自动填写，可修改")
        self._bank_name_guess = self.bank_name.text()
        self.bank.textChanged.connect(self._guess_bank_name)
        self.address = line_edit("householdAddress", "户籍地址", household_address or "")
        self.auto = QCheckBox("本人已签署免申即享承诺（以后每月由经办人代为申请）")
        self.auto.setObjectName("autoEnrolled")
        self.proxy_name = line_edit("proxyName", "被委托人姓名")
        self.proxy_id = line_edit("proxyIdNumber", "被委托人身份证号码")
        self.records = QCheckBox(MEDICAL_RECORDS_TEXT)
        self.records.setObjectName("medicalRecords")
        self.medical_rows = medical_rows
        self.error = error_label("submitError")
        form = QFormLayout()
        form.addRow("申请人", QLabel(person_name))
        form.addRow("申请项目", QLabel(program_label))
        form.addRow("本次应付（元）", QLabel(payable_text))
        form.addRow("银行卡号(&B)", self.bank)
        form.addRow("开户银行(&K)", self.bank_name)
        form.addRow("户籍地址(&H)", self.address)
        if medical_rows:
            rows = QLabel("须附病史资料的费用：" + "、".join(medical_rows))
            rows.setObjectName("medicalRows")
            rows.setWordWrap(True)
            form.addRow("", rows)
            form.addRow("", self.records)
        else:
            self.records.hide()
        form.addRow("", self.auto)
        form.addRow("委托代办：被委托人姓名(&N)", self.proxy_name)
        form.addRow("被委托人身份证号码(&I)", self.proxy_id)
        dialog_frame(self, form, self.error, "保存并提交")
        self.choices: SubmitChoices | None = None
        self.confirm_bank_warning = self._ask_about_bank_card  # replaced in tests

    def _guess_bank_name(self, card: str) -> None:
        """Follow the card number, until the clerk writes a bank name of their own."""
        if self.bank_name.text() == self._bank_name_guess:
            self._bank_name_guess = bank_of_card(card) or ""
            self.bank_name.setText(self._bank_name_guess)

    def accept(self) -> None:
        problem = self._check()
        if problem is not None:
            self.error.setText(problem)
            return
        super().accept()

    def _check(self) -> str | None:
        bank = self.bank.text().strip() or None
        if bank is not None:
            try:
                check = check_bank_card(bank)
            except DomainError as exc:
                return exc.message_zh
            bank = check.value
            if check.warning_zh and not self.confirm_bank_warning(check.warning_zh):
                return "请核对银行卡号。"
        name = self.proxy_name.text().strip() or None
        number = self.proxy_id.text().strip() or None
        if (name is None) != (number is None):
            return "委托代办须同时填写被委托人姓名和身份证号码（CN-2026 4.7）。"
        if number is not None:
            try:
                number = parse_id_number(number).value
            except DomainError as exc:
                return f"被委托人身份证号码：{exc.message_zh}"
        if self.medical_rows and not self.records.isChecked():
            return "门诊大病、住院费用须附病史资料（长宁区操作细则 4.6）：收到后请勾选确认。"
        self.choices = SubmitChoices(bank, self.auto.isChecked(), name, number,
                                     self.bank_name.text().strip() or None,
                                     self.address.text().strip() or None,
                                     bool(self.medical_rows) and self.records.isChecked())
        return None

    def _ask_about_bank_card(self, warning: str) -> bool:
        answer = QMessageBox.question(self, "银行卡号", f"{warning}\n仍然使用这个卡号吗？")
        return answer == QMessageBox.StandardButton.Yes


class TraceDialog(QDialog):
    """The engine's explanation, line by line ("为什么是这个金额")."""

    def __init__(self, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("计算过程")
        self.setObjectName("traceDialog")
        self.text = QPlainTextEdit("\n".join(lines))
        self.text.setObjectName("traceView")
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        fit_to_screen(self, 820, 520)


class CredentialsDialog(QDialog):
    """Password (and optionally a reason) to confirm who does an action."""

    def __init__(self, title: str, *, username: str | None = None, ask_reason: bool = False,
                 ask_password: bool = True, confirm: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("credentialsDialog")
        self.username = line_edit("username", "用户名", username or "")
        self.password = line_edit("password", "密码")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("reason")
        self.reason.setAccessibleName("原因")
        self.error = error_label("dialogError")
        form = QFormLayout()
        form.addRow("用户名(&U)", self.username)
        if ask_password:
            form.addRow("密码(&P)", self.password)
        else:
            self.password.hide()
        if ask_reason:
            form.addRow("原因(&R)", self.reason)
        else:
            self.reason.hide()
        # a statement the signer must tick, e.g. confirming a changed payout card
        self.confirm = QCheckBox(confirm or "")
        self.confirm.setObjectName("confirm")
        if confirm:
            form.addRow("", self.confirm)
        else:
            self.confirm.hide()
        dialog_frame(self, form, self.error, "确定")
        self._ask_reason = ask_reason
        self._ask_confirm = bool(confirm)
        if username:
            self.password.setFocus()

    def accept(self) -> None:
        if not self.username.text().strip():
            self.error.setText("请输入用户名。")
            return
        if self._ask_reason and not self.reason.toPlainText().strip():
            self.error.setText("请填写原因。")
            return
        if self._ask_confirm and not self.confirm.isChecked():
            self.error.setText("请核对后勾选确认；不同意的，请退回经办人。")
            return
        super().accept()
