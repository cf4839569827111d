"""What each audit action is called in the office's words: the counter's 待上传 list and the
district console's 审计 page say the same (an auditor reads them; neither shows the code alone).
"""

from __future__ import annotations

AUDIT_ACTION_LABELS = {
    # the counter's own events (desktop.store.append_audit)
    "user.signed_in": "登录",
    "user.sign_in_refused": "登录未成功",
    "user.password_change_required": "须修改密码（管理员已重置）",
    "user.password_changed": "修改密码",
    "signing_key.created": "生成签名密钥",
    "signing_key.revoked_by_district": "区里停用签名密钥",
    "application.saved": "保存申请",
    "application.accepted": "区里已受理",
    "application.review": "区里未受理",
    "application.reviewed": "审核人签名",
    "application.approved": "审批人签名",
    "application.returned": "退回",
    "application.withdrawn": "撤回",
    "application.exported": "导出申请数据",
    "application.sign_refused": "签名未成功",
    "application.return_refused": "退回未成功",
    "signature.refused": "区里未接受签名",
    "enrolment.saved": "互助帮困登记",
    "commitment.given": "签署免申即享承诺",
    "commitment.given_again": "重新登记免申即享承诺",
    "commitment.revoked": "撤销免申即享承诺",
    "fee_row.waived": "审批人豁免",
    "receipt.scanned": "扫描票据",
    "receipt.dismissed": "作废扫描记录",
    "receipt.rematched": "扫描记录匹配到费用",
    "form.printed": "打印表单",
    "report.printed": "打印报表",
    "report.exported": "导出报表",
    "sync.recovered": "同步恢复",
    # the district's: a counter user's password changed at the district (POST /password)
    "account.password_changed": "修改密码（柜台）",
    # the district console's own (district/console)
    "console.sign_in": "登录区管理台",
    "console.sign_in_failed": "区管理台登录未成功",
    "console.sign_out": "退出区管理台",
    "console.password_changed": "修改密码（区管理台）",
    "console.user_added": "添加人员",
    "console.roles_changed": "修改角色",
    "console.password_reset": "重置密码",
    "console.user_deactivated": "停用人员",
    "console.user_reactivated": "恢复人员",
    "device.enrolment_code_issued": "发放注册码",
    "device.revoked": "停用柜台电脑",
    "console.import_previewed": "预览导入文件",
    "console.import_run": "导入数据",
    "console.import_discarded": "放弃导入文件",
    "console.parameter_published": "发布政策参数",
    "console.month.downloaded": "下载月度汇总",
    "console.audit.searched": "查询审计",
    "console.audit.verified": "校验审计链",
}


def action_label(action: str) -> str:
    """The action's name for people; an action not listed keeps its code (never hidden)."""
    return AUDIT_ACTION_LABELS.get(action, action)
