"""帮助 (F1): the counter's keyboard shortcuts and the day's flow in a few lines, in Chinese."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from desktop.ui.screen_fit import fit_to_screen

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("F1", "打开本帮助"),
    ("Ctrl+1 … Ctrl+7", "切换到对应编号的标签页（柜台受理、今日受理、免申即享……）"),
    ("F2 / Ctrl+F", "柜台受理：转到查找对象"),
    ("空格", "柜台受理：勾选或取消当前费用"),
    ("F4", "柜台受理：查看计算过程"),
    ("F9 / Ctrl+Enter", "柜台受理：提交申请"),
    ("Enter / 双击", "今日受理：在柜台受理中打开所选申请的申请人"),
    ("Ctrl+Enter", "审核审批：签名"),
    ("F5", "审核审批、免申即享：刷新列表"),
    ("Ctrl+,", "设置"),
    ("Ctrl+L", "锁定柜台"),
    ("Ctrl+Shift+L", "切换用户"),
    ("Ctrl+Q", "退出"),
)

FLOW: tuple[str, ...] = (
    "查找对象：输入身份证号、姓名、拼音首字母或电话（F2）。",
    "扫描医疗费用收据上的二维码，或在费用列表中勾选本次申请的费用。",
    "核对右侧的救助金额合计；有疑问按 F4 查看计算过程。",
    "提交申请（F9）：本机立即保存，联网后自动上传区里。",
    "打印申请表，请申请人签字；审批表由经办人、审核人、审批人签名。",
    "随时在“今日受理”查看当天的申请及其状态，可重印，或一次打印全部审批表。",
)
SUPERVISORS = "审核人、审批人：在“审核审批”中逐份审核、审批并签名，或退回经办人。"
MONTH = "每月：在“月度报表”中生成结算汇总表和发放清单，于 20 日前报区里。"
OFFLINE = ("离线时窗口顶部显示“离线：本机保存，联网后自动上传”。点击状态栏的“待上传”"
           "可查看正在等待上传的各项及其错误。")


def help_html() -> str:
    rows = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                   for k, v in SHORTCUTS)
    steps = "".join(f"<li>{escape(s)}</li>" for s in FLOW)
    return (f"<h3>一天的工作</h3><ol>{steps}</ol><p>{escape(SUPERVISORS)}</p>"
            f"<p>{escape(MONTH)}</p><p>{escape(OFFLINE)}</p>"
            f"<h3>快捷键</h3><table cellpadding='4'>{rows}</table>")


class HelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("帮助 — 快捷键与操作流程")
        self.setObjectName("helpDialog")
        self.text = QTextBrowser()
        self.text.setObjectName("helpText")
        self.text.setHtml(help_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        fit_to_screen(self, 620, 640)
