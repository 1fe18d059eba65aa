"""Fixed report wording in Chinese and English."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "flowaudit 合规检测报告", "en": "flowaudit compliance report"},
    "session": {"zh": "会话", "en": "Session"},
    "app": {"zh": "应用", "en": "App"},
    "generated": {"zh": "生成时间", "en": "Generated"},
    "summary": {"zh": "概要", "en": "Summary"},
    "findings": {"zh": "发现的问题", "en": "Findings"},
    "no_findings": {"zh": "未发现问题。", "en": "No findings."},
    "timeline": {"zh": "会话时间线", "en": "Session timeline"},
    "method": {"zh": "检测方法", "en": "Method"},
    "severity": {"zh": "严重程度", "en": "Severity"},
    "kind": {"zh": "类型", "en": "Kind"},
    "legal_basis": {"zh": "法律依据", "en": "Legal basis"},
    "evidence": {"zh": "证据", "en": "Evidence"},
    "more_evidence": {"zh": "另有 {n} 条请求（见 JSON 报告）", "en": "{n} more requests (see the JSON report)"},
    "sdks_seen": {"zh": "观察到的SDK", "en": "SDKs seen"},
    "sdks_declared": {"zh": "声明的SDK", "en": "SDKs declared"},
    "types_seen": {"zh": "观察到的个人信息类型", "en": "Personal-data types seen"},
    "pi_declared": {"zh": "声明的个人信息（已收集个人信息清单）", "en": "Personal information declared (collected-information list)"},
    "published_name": {"zh": "清单中的名称", "en": "Published name"},
    "sensitive": {"zh": "标为敏感", "en": "Marked sensitive"},
    "frequency": {"zh": "频次", "en": "Frequency"},
    "declared": {"zh": "已声明", "en": "declared"},
    "undeclared": {"zh": "未声明", "en": "not declared"},
    "observed": {"zh": "已观察到", "en": "observed"},
    "not_observed": {"zh": "未观察到", "en": "not observed"},
    "no_declaration": {"zh": "无声明（未与清单比对）", "en": "no declaration (not compared)"},
    "requests": {"zh": "请求数", "en": "Requests"},
    "recipients": {"zh": "接收方", "en": "Recipients"},
    "sdk": {"zh": "SDK", "en": "SDK"},
    "vendor": {"zh": "厂商", "en": "Vendor"},
    "host": {"zh": "主机", "en": "Host"},
    "data_type": {"zh": "个人信息类型", "en": "Data type"},
    "field": {"zh": "字段", "en": "Field"},
    "encoding": {"zh": "编码链", "en": "Decoding chain"},
    "preview": {"zh": "脱敏预览", "en": "Redacted preview"},
    "time": {"zh": "时间", "en": "Time"},
    "event": {"zh": "事件", "en": "Event"},
    "marker": {"zh": "标记", "en": "Marker"},
    "review": {"zh": "待复核", "en": "for review"},
    "details": {"zh": "详情", "en": "Details"},
    "version": {"zh": "flowaudit 版本", "en": "flowaudit version"},
    "signature_db": {"zh": "SDK特征库", "en": "Signature database"},
    "device_profile": {"zh": "设备画像（仅类型）", "en": "Device profile (types only)"},
    "capture_sources": {"zh": "采集来源", "en": "Capture sources"},
    "first_party": {"zh": "第一方域名", "en": "First-party domains"},
    "declaration": {"zh": "声明文件", "en": "Declaration"},
    "consent_moment": {"zh": "同意/拒绝时刻", "en": "Consent / refusal moment"},
    "no_consent": {"zh": "会话中没有同意或拒绝标记：未检查“同意前收集”和“拒绝后收集”",
                   "en": "no consent or refusal marker in the session: collection before consent and after refusal "
                         "were not checked"},
    "consent_at": {"zh": "同意 +{c}s", "en": "consent at +{c}s"},
    "refusal_at": {"zh": "拒绝 +{r}s", "en": "refusal at +{r}s"},
    "method_note": {
        "zh": "flowaudit 根据网络流量判断每个请求属于哪个SDK，并在各种编码中识别个人信息；再与应用公开的第三方SDK清单和已收集个人信息清单比对。"
              "置信度低于 {conf} 的识别结果、系统写入的User-Agent中的设备型号不计入。安装包下载前 {win} 秒内有用户操作标记的不视为静默下载。"
              "标注“待复核”的结果需人工判断；流量看不到的行为（如本地读取而未发送）不在检测范围内。所有值均已脱敏。",
        "en": "flowaudit attributes each request to an SDK from its traffic and finds personal data in every encoding, then "
              "compares what it saw with the app's published SDK list and collected-information list. Detections below "
              "confidence {conf} and device models in the OS-written User-Agent are not counted. A package download with a "
              "user-action marker within {win} s before it is not silent. Results marked for review need a human "
              "judgement; behaviour that leaves no traffic (reading data without sending it) is out of scope. All values "
              "are redacted."},
    "severity_critical": {"zh": "严重", "en": "critical"},
    "severity_high": {"zh": "高", "en": "high"},
    "severity_medium": {"zh": "中", "en": "medium"},
    "severity_low": {"zh": "低", "en": "low"},
    "severity_info": {"zh": "提示", "en": "info"},
    "truncated": {"zh": "另有 {n} 条请求未列出", "en": "{n} more requests not listed"},
    "count": {"zh": "数量", "en": "Count"},
    "entries": {"zh": "条目", "en": "entries"},
}


def label(key: str, lang: str, **values: object) -> str:
    text = LABELS.get(key, {}).get(lang) or LABELS.get(key, {}).get("en") or key
    return text.format(**values) if values else text
