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
from desktop.domain.errors import DomainError
from desktop.domain.id_number import parse_id_number
from desktop.ui.screen_fit import fit_to_screen
from desktop.ui.widgets import dialog_frame, error_label, line_edit


@dataclass(frozen=True)
class SubmitChoices:
    bank_account: str | None
    auto_enrolled: bool
    proxy_name: str | None
    proxy_id_number: str | None


class SubmitDialog(QDialog):
    """What the application needs besides the ticked rows: bank account, 免申即享, proxy."""

    def __init__(self, *, person_name: str, program_label: str, payable_text: str,
                 bank_account: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("提交申请")
        self.setObjectName("submitDialog")
        self.bank = line_edit("bankAccount", "银行卡号", bank_account or "")
        self.auto = QCheckBox("本人已签署免申即享承诺（以后每月由经办人代为申请）")
        self.auto.setObjectName("autoEnrolled")
        self.proxy_name = line_edit("proxyName", "被委托人姓名")
        self.proxy_id = line_edit("proxyIdNumber", "被委托人身份证号码")
        self.error = error_label("submitError")
        form = QFormLayout()
        form.addRow("申请人", QLabel(person_name))
        form.addRow("申请项目", QLabel(program_label))
        form.addRow("本次应付（元）", QLabel(payable_text))
        form.addRow("银行卡号(&B)", self.bank)
        form.addRow("", self.auto)
        form.addRow("委托代办：被委托人姓名(&N)", self.proxy_name)
        form.addRow("被委托人身份证号码(&I)", self.proxy_id)
        dialog_frame(self, form, self.error, "保存并提交")
        self.choices: SubmitChoices | None = None
        self.confirm_bank_warning = self._ask_about_bank_card  # replaced in tests

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
        self.choices = SubmitChoices(bank, self.auto.isChecked(), name, number)
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
