"""Settings and first run: district server, this PC's registration, printer, idle lock.

Values live in QSettings; the device token goes to the keyring through the device service.
The deployment file (desktop.deployment) gives the defaults, and when it names a district server
that server (and its CA file) wins over QSettings and is shown read-only.
Usable before anyone signs in: the sign-in window opens it too (a fresh PC registers there).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.deployment import NO_DEPLOYMENT, Deployment, DeploymentError, register_here
from desktop.services.device import (
    DeviceSetupError,
    ServerSettings,
    check_ca_file,
    check_server_url,
    is_registered,
)
from desktop.ui.widgets import dialog_frame, error_label

KEY_URL = "server/url"
KEY_CA = "server/caFile"
KEY_PRINTER = "print/printer"
KEY_IDLE = "counter/idleMinutes"
KEY_STREET = "counter/streetName"  # from the registration, printed on the forms
KEY_STREET_CODE = "counter/streetCode"  # from the registration: whose month the reports cover
# from the registration: this PC's number in its street, in its application numbers
# (desktop.services.numbering; the counter store keeps it, copied at each start)
KEY_DEVICE_NUMBER = "counter/deviceNumber"
DEFAULT_IDLE_MINUTES = 10


def server_settings(settings: QSettings, deployment: Deployment = NO_DEPLOYMENT
                    ) -> ServerSettings | None:
    """The deployment file's server when it names one (IT's choice wins), else the setting's."""
    if deployment.server:
        return ServerSettings(deployment.server, deployment.ca_file)
    url = settings.value(KEY_URL, "")
    if not url:
        return None
    ca = settings.value(KEY_CA, "")
    return ServerSettings(str(url), Path(str(ca)) if ca else None)


def idle_minutes(settings: QSettings, deployment: Deployment = NO_DEPLOYMENT) -> int:
    """The clerk's own setting; else the deployment file's; else 10 minutes."""
    default = deployment.idle_minutes or DEFAULT_IDLE_MINUTES
    try:
        return max(1, int(str(settings.value(KEY_IDLE, default))))
    except ValueError:
        return default


def printer_name(settings: QSettings, deployment: Deployment = NO_DEPLOYMENT) -> str:
    """The clerk's own choice ("" is the system default); else the deployment file's."""
    if settings.contains(KEY_PRINTER):
        return str(settings.value(KEY_PRINTER, "") or "")
    return deployment.printer or ""


def save_registration(settings: QSettings, server: ServerSettings, street_name: str,
                      street_code: str, device_number: int | None = None) -> None:
    """What a registration leaves in the settings (the token is already in the keyring)."""
    settings.setValue(KEY_URL, server.url)
    settings.setValue(KEY_CA, str(server.ca_file) if server.ca_file else "")
    settings.setValue(KEY_STREET, street_name)
    settings.setValue(KEY_STREET_CODE, street_code)
    if device_number is None:
        settings.remove(KEY_DEVICE_NUMBER)
    else:
        settings.setValue(KEY_DEVICE_NUMBER, device_number)
    settings.sync()


def registered_device_number(settings: QSettings) -> int | None:
    """This PC's number in its street, as its registration gave it (None: not given)."""
    try:
        return int(str(settings.value(KEY_DEVICE_NUMBER, "")))
    except ValueError:
        return None


class SettingsDialog(QDialog):
    def __init__(self, settings: QSettings, parent: QWidget | None = None, *,
                 deployment: Deployment = NO_DEPLOYMENT) -> None:
        super().__init__(parent)
        self.setWindowTitle("设置")
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.deployment = deployment
        self.url = QLineEdit(str(settings.value(KEY_URL, "")))
        self.url.setObjectName("serverUrl")
        self.url.setAccessibleName("区服务器地址")
        self.url.setPlaceholderText("https://…")
        self.ca = QLineEdit(str(settings.value(KEY_CA, "")))
        self.ca.setObjectName("caFile")
        self.ca.setAccessibleName("证书文件（可选）")
        browse = QPushButton("选择…")
        browse.clicked.connect(self._browse)
        locked_note = None
        if deployment.server:  # IT's deployment file decides the server: not editable here
            self.url.setText(deployment.server)
            self.ca.setText(str(deployment.ca_file) if deployment.ca_file else "")
            for field in (self.url, self.ca):
                field.setReadOnly(True)
            browse.setEnabled(False)
            locked_note = QLabel(f"区服务器由部署文件设定：{deployment.source}")
            locked_note.setObjectName("serverFromDeployment")
            locked_note.setWordWrap(True)
        self.device_name = QLineEdit()
        self.device_name.setObjectName("deviceName")
        self.device_name.setAccessibleName("柜台名称")
        self.code = QLineEdit()
        self.code.setObjectName("enrolmentCode")
        self.code.setAccessibleName("一次性注册码")
        self.register_button = QPushButton("注册本柜台(&R)")
        self.register_button.setObjectName("registerDevice")
        self.register_button.clicked.connect(self.register)
        self.registered = QLabel()
        self.registered.setObjectName("registrationState")
        self.printer = QComboBox()
        self.printer.setObjectName("printerChoice")
        self.printer.addItem("系统默认打印机", "")
        for name in QPrinterInfo.availablePrinterNames():
            self.printer.addItem(name, name)
        chosen = printer_name(settings, deployment)
        if chosen and self.printer.findData(chosen) < 0:  # configured, but not installed here
            self.printer.addItem(f"{chosen}（未找到）", chosen)
        index = self.printer.findData(chosen)
        self.printer.setCurrentIndex(max(0, index))
        self.idle = QSpinBox()
        self.idle.setObjectName("idleMinutes")
        self.idle.setRange(1, 120)
        self.idle.setSuffix(" 分钟")
        self.idle.setValue(idle_minutes(settings, deployment))
        self.error = error_label("settingsError")

        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca, 1)
        ca_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("区服务器地址(&S)", self.url)
        form.addRow("证书文件（区自建证书时）", ca_row)
        if locked_note is not None:
            form.addRow("", locked_note)
        form.addRow("柜台名称(&N)", self.device_name)
        form.addRow("一次性注册码(&C)", self.code)
        form.addRow("", self.register_button)
        form.addRow("注册状态", self.registered)
        form.addRow("打印机(&P)", self.printer)
        form.addRow("无操作自动锁定(&L)", self.idle)
        dialog_frame(self, form, self.error, "保存")
        self._show_registration()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择证书文件", "", "证书 (*.pem *.crt *.cer)")
        if path:
            self.ca.setText(path)

    def _server(self) -> ServerSettings:
        return ServerSettings(check_server_url(self.url.text()), check_ca_file(self.ca.text()))

    def _show_registration(self) -> None:
        try:
            server = self._server()
        except DeviceSetupError:
            self.registered.setText("未设置区服务器")
            return
        self.registered.setText("已注册" if is_registered(server) else "未注册")

    def register(self) -> None:
        try:
            server = self._server()
            registration = register_here(self.deployment, server, self.code.text(),
                                         self.device_name.text())
        except (DeviceSetupError, DeploymentError) as exc:
            self.error.setText(str(exc))
            self._show_registration()
            return
        self.code.clear()
        self.error.clear()
        save_registration(self.settings, server, registration.street_name,
                          registration.street_code, registration.device_number)
        self.registered.setText(
            f"已注册（{registration.street_name}，设备 {registration.device_id}）")

    def _save_server(self) -> None:
        server = self._server()
        self.settings.setValue(KEY_URL, server.url)
        self.settings.setValue(KEY_CA, str(server.ca_file) if server.ca_file else "")

    def accept(self) -> None:
        try:
            if self.url.text().strip():
                self._save_server()
        except DeviceSetupError as exc:
            self.error.setText(str(exc))
            return
        # the deployment file's defaults stay defaults until the clerk chooses otherwise
        printer = str(self.printer.currentData() or "")
        if self.settings.contains(KEY_PRINTER) or printer != (self.deployment.printer or ""):
            self.settings.setValue(KEY_PRINTER, printer)
        idle = self.idle.value()
        if self.settings.contains(KEY_IDLE) or idle != (
                self.deployment.idle_minutes or DEFAULT_IDLE_MINUTES):
            self.settings.setValue(KEY_IDLE, idle)
        self.settings.sync()
        super().accept()
