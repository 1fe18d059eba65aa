"""UI strings in Chinese and English; the language comes from ?lang=, a cookie, or Accept-Language."""

from __future__ import annotations

from starlette.requests import Request

LANGS = ("zh", "en")

STRINGS: dict[str, dict[str, str]] = {
    "sessions": {"zh": "会话", "en": "Sessions"},
    "traffic": {"zh": "流量", "en": "Traffic"},
    "sdks": {"zh": "SDK", "en": "SDKs"},
    "data_types": {"zh": "个人信息类型", "en": "Data types"},
    "matrix": {"zh": "声明与实测对照", "en": "Declared vs observed"},
    "findings": {"zh": "问题", "en": "Findings"},
    "timeline": {"zh": "时间线", "en": "Timeline"},
    "reports": {"zh": "报告", "en": "Reports"},
    "new_session": {"zh": "新建会话", "en": "New session"},
    "name": {"zh": "名称", "en": "Name"},
    "app": {"zh": "应用", "en": "App"},
    "device": {"zh": "设备", "en": "Device"},
    "created": {"zh": "创建时间", "en": "Created"},
    "observations": {"zh": "请求", "en": "Observations"},
    "detections": {"zh": "个人信息检出", "en": "Detections"},
    "create": {"zh": "创建", "en": "Create"},
    "mark": {"zh": "标记", "en": "Mark"},
    "consent": {"zh": "已同意隐私政策", "en": "Consent given"},
    "refusal": {"zh": "已拒绝隐私政策", "en": "Consent refused"},
    "background": {"zh": "进入后台", "en": "Entered background"},
    "foreground": {"zh": "回到前台", "en": "Back to foreground"},
    "user_action": {"zh": "用户操作", "en": "User action"},
    "note": {"zh": "备注", "en": "Note"},
    "markers": {"zh": "标记", "en": "Markers"},
    "time": {"zh": "时间", "en": "Time"},
    "method": {"zh": "方法", "en": "Method"},
    "host": {"zh": "主机", "en": "Host"},
    "url": {"zh": "地址", "en": "URL"},
    "status": {"zh": "状态", "en": "Status"},
    "sdk": {"zh": "SDK", "en": "SDK"},
    "vendor": {"zh": "厂商", "en": "Vendor"},
    "category": {"zh": "类别", "en": "Category"},
    "data": {"zh": "个人信息", "en": "Personal data"},
    "party": {"zh": "归属", "en": "Party"},
    "first_party": {"zh": "第一方", "en": "First party"},
    "third_party": {"zh": "第三方", "en": "Third party"},
    "unattributed": {"zh": "未识别的第三方", "en": "Unattributed third party"},
    "any": {"zh": "全部", "en": "Any"},
    "before_consent": {"zh": "同意前", "en": "Before consent"},
    "after_consent": {"zh": "同意后", "en": "After consent"},
    "filter": {"zh": "筛选", "en": "Filter"},
    "live": {"zh": "实时", "en": "Live"},
    "newer": {"zh": "较新", "en": "Newer"},
    "older": {"zh": "更早", "en": "Older"},
    "request": {"zh": "请求", "en": "Request"},
    "headers": {"zh": "请求头", "en": "Headers"},
    "body": {"zh": "请求体", "en": "Body"},
    "query": {"zh": "查询参数", "en": "Query"},
    "location": {"zh": "位置", "en": "Location"},
    "key": {"zh": "字段", "en": "Key"},
    "encoding": {"zh": "编码链", "en": "Encoding chain"},
    "confidence": {"zh": "置信度", "en": "Confidence"},
    "reason": {"zh": "依据", "en": "Reason"},
    "value": {"zh": "值（已脱敏）", "en": "Value (redacted)"},
    "rule": {"zh": "匹配规则", "en": "Matched rule"},
    "copy_curl": {"zh": "复制为 curl", "en": "Copy as curl"},
    "count": {"zh": "次数", "en": "Count"},
    "first_seen": {"zh": "首次出现", "en": "First seen"},
    "declared": {"zh": "已声明", "en": "Declared"},
    "observed": {"zh": "实测", "en": "Observed"},
    "both": {"zh": "声明且实测", "en": "Declared and observed"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "severity": {"zh": "严重程度", "en": "Severity"},
    "legal_basis": {"zh": "法律依据", "en": "Legal basis"},
    "evidence": {"zh": "证据", "en": "Evidence"},
    "no_declaration": {"zh": "尚未导入声明（SDK清单、个人信息清单）。使用 flowaudit declare import 导入。",
                       "en": "No declaration imported yet (SDK list, PI list). Use flowaudit declare import."},
    "no_findings": {"zh": "没有问题。", "en": "No findings."},
    "refresh_findings": {"zh": "重新比对", "en": "Re-run comparison"},
    "download": {"zh": "下载", "en": "Download"},
    "nothing": {"zh": "暂无数据", "en": "Nothing yet"},
    "errors": {"zh": "错误与警告", "en": "Errors and warnings"},
    "relative_consent": {"zh": "相对同意时间", "en": "Relative to consent"},
    "pinned": {"zh": "证书固定的主机", "en": "Pinned hosts"},
    "language": {"zh": "English", "en": "中文"},
    "opaque": {"zh": "无法解码的加密负载", "en": "Opaque payload"},
    "select_session": {"zh": "请选择一个会话", "en": "Select a session"},
}


def pick_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("flowaudit_lang")
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()
        if code.startswith("zh"):
            return "zh"
        if code.startswith("en"):
            return "en"
    return "en"


def translator(lang: str):  # type: ignore[no-untyped-def]
    def t(key: str) -> str:
        entry = STRINGS.get(key)
        return entry[lang] if entry else key

    return t
