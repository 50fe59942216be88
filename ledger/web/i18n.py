"""The workbench's words in Chinese (the default) and English.

A page asks for a label by key; a key missing in English falls back to Chinese, and a key missing in both
shows as the key itself, so a forgotten label is visible, never an error. Messages from the books (domain
errors) are shown as the domain wrote them.
"""

from __future__ import annotations

from collections.abc import Callable

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "app": "村社联营账本",
        "app_sub": "街道财务工作台",
        "lang_zh": "中文",
        "lang_en": "English",
        "login": "登录",
        "logout": "退出",
        "username": "用户名",
        "password": "密码",
        "login_title": "登录工作台",
        "login_failed": "用户名或密码错误",
        "logged_out": "已退出登录",
        "signed_in_as": "当前用户",
        "dashboard": "街道总览",
        "dashboard_intro": "各单位结账、对账和欠款情况",
        "org": "单位",
        "kind": "类型",
        "kind_county": "县",
        "kind_street": "街道",
        "kind_community": "社区",
        "kind_village": "村",
        "kind_company": "公司",
        "standard_collective": "农村集体经济组织会计制度",
        "standard_small_enterprise": "小企业会计准则",
        "closed_through": "已结账至",
        "none_closed": "尚未结账",
        "open_period": "当前会计期间",
        "open_shifts": "未交班班次",
        "unmatched_lines": "未勾对流水",
        "last_reconciliation": "最近对账",
        "arrears": "欠租合计",
        "not_available": "暂无",
        "not_available_hint": "该功能模块尚未启用",
        "no_orgs": "没有可查看的单位。",
        "open": "查看",
        "trial_balance": "科目余额表",
        "period": "会计期间",
        "show": "查询",
        "code": "科目编码",
        "account": "科目名称",
        "opening": "期初余额",
        "debit": "本期借方",
        "credit": "本期贷方",
        "closing": "期末余额",
        "side": "方向",
        "total": "合计",
        "no_movement": "本期无发生额，且无余额。",
        "status": "状态",
        "status_open": "未结账",
        "status_closed": "已结账",
        "close_period": "期末结账",
        "close_period_help": "结账后本期不能再记账；按月顺序结账，反结账须由管理员办理并说明原因。",
        "close_button": "结账",
        "closed_ok": "{period} 已结账",
        "read_only": "只读：社区账户可以查看账簿和报表，不能修改。",
        "back": "返回总览",
        "statements": "银行对账",
        "reports": "报表下载",
        "error": "出错了",
        "error_403": "无权操作",
        "error_404": "页面不存在",
        "error_429": "尝试次数过多",
        "error_4xx": "请求无法完成",
        "error_500": "系统错误，未写入任何数据",
        "csrf_refused": "表单已失效或并非来自本站，请刷新页面后重试。",
        "not_found_text": "您要找的页面不存在，或您无权查看。",
        "home": "返回首页",
        "skip": "跳到正文",
    },
    "en": {
        "app": "Cunshe Ledger",
        "app_sub": "Street finance workbench",
        "lang_zh": "中文",
        "lang_en": "English",
        "login": "Log in",
        "logout": "Log out",
        "username": "Username",
        "password": "Password",
        "login_title": "Log in to the workbench",
        "login_failed": "Wrong username or password",
        "logged_out": "You are logged out",
        "signed_in_as": "Signed in as",
        "dashboard": "Street dashboard",
        "dashboard_intro": "Closing, reconciliation and arrears, org by org",
        "org": "Organisation",
        "kind": "Kind",
        "kind_county": "County",
        "kind_street": "Street",
        "kind_community": "Community",
        "kind_village": "Village",
        "kind_company": "Company",
        "standard_collective": "Rural collective economy accounting system",
        "standard_small_enterprise": "Small enterprise accounting standard",
        "closed_through": "Closed through",
        "none_closed": "nothing closed yet",
        "open_period": "Open period",
        "open_shifts": "Open shifts",
        "unmatched_lines": "Unmatched statement lines",
        "last_reconciliation": "Last reconciliation",
        "arrears": "Rent arrears",
        "not_available": "n/a",
        "not_available_hint": "this module is not installed yet",
        "no_orgs": "No organisations to show.",
        "open": "Open",
        "trial_balance": "Trial balance",
        "period": "Period",
        "show": "Show",
        "code": "Code",
        "account": "Account",
        "opening": "Opening",
        "debit": "Debit",
        "credit": "Credit",
        "closing": "Closing",
        "side": "Dr/Cr",
        "total": "Total",
        "no_movement": "No movement and no balances in this period.",
        "status": "Status",
        "status_open": "open",
        "status_closed": "closed",
        "close_period": "Close the period",
        "close_period_help": (
            "A closed month takes no postings; months close in order, and only an admin can reopen one, "
            "with a reason."
        ),
        "close_button": "Close",
        "closed_ok": "{period} is closed",
        "read_only": "Read-only: a community user can read the books and reports, not change them.",
        "back": "Back to the dashboard",
        "statements": "Bank reconciliation",
        "reports": "Reports",
        "error": "Something went wrong",
        "error_403": "Not allowed",
        "error_404": "Page not found",
        "error_429": "Too many attempts",
        "error_4xx": "The request could not be completed",
        "error_500": "System error; nothing was written",
        "csrf_refused": "This form has expired or did not come from this site; reload the page and retry.",
        "not_found_text": "The page does not exist, or you may not see it.",
        "home": "Home",
        "skip": "Skip to content",
    },
}

SIDES = {"en": {"借": "Dr", "贷": "Cr", "平": "—"}}


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **fields)``: the label in ``lang`` (Chinese when missing), formatted with ``fields``."""
    table = LABELS.get(lang, LABELS["zh"])
    fallback = LABELS["zh"]

    def t(key: str, **fields: object) -> str:
        text = table.get(key) or fallback.get(key) or key
        return text.format(**fields) if fields else text

    return t


def side_label(side: str, lang: str) -> str:
    """借 / 贷 / 平 as printed in the language of the page."""
    return SIDES.get(lang, {}).get(side, side)
