"""The catalogue of finding kinds: default severity, the clause each rests on, and what it means.

Clause references (see docs/declaration-format.md for the full names):
- 认定方法: 《App违法违规收集使用个人信息行为认定方法》 (国信办秘字〔2019〕191号)
- 26号文: 《工业和信息化部关于进一步提升移动互联网应用服务能力的通知》 (工信部信管函〔2023〕26号)
- 337号: 《工业和信息化部关于开展APP侵害用户权益专项整治工作的通知》 (工信部信管函〔2019〕337号)
- GB/T 35273-2020 《信息安全技术 个人信息安全规范》; GB/T 41391-2022 《移动互联网应用程序收集个人信息基本要求》
- 必要个人信息范围规定: 《常见类型移动互联网应用程序必要个人信息范围规定》 (2021)
"""

from __future__ import annotations

from dataclasses import dataclass

from flowaudit.core.model import Finding, Severity

RENDING = "《App违法违规收集使用个人信息行为认定方法》"
NOTICE_26 = "工信部信管函〔2023〕26号"
NOTICE_337 = "工信部信管函〔2019〕337号"


@dataclass(frozen=True, slots=True)
class FindingKind:
    kind: str
    severity: Severity
    legal_basis_zh: str
    legal_basis_en: str
    title_zh: str
    title_en: str
    explanation_zh: str
    explanation_en: str
    review: bool = False         # a lead for a human to check, not a verdict


CATALOGUE: tuple[FindingKind, ...] = (
    FindingKind(
        "undeclared_sdk", Severity.HIGH,
        f"{RENDING} 二.1；{NOTICE_26} 二(一)3",
        "Identification Method (2019) II.1; MIIT notice No. 26 (2023) II(1)3",
        "使用了未在第三方SDK清单中列明的SDK",
        "SDK not in the published SDK list",
        "应用的网络流量显示有第三方SDK在收发数据，但该SDK不在应用公开的第三方SDK共享清单中。"
        "规定要求应用逐一列明嵌入的第三方代码收集使用个人信息的目的、方式和范围。",
        "Traffic shows a third-party SDK at work that the app's published SDK list does not name. "
        "Apps must list every embedded third-party component with the purpose, method and scope of the "
        "personal information it handles."),
    FindingKind(
        "sdk_entry_incomplete", Severity.LOW,
        f"{NOTICE_26} 二(一)3、二(三)7",
        "MIIT notice No. 26 (2023) II(1)3 and II(3)7",
        "第三方SDK清单条目信息不完整",
        "Incomplete entry in the SDK list",
        "SDK清单中的条目缺少必填信息（如SDK名称、第三方主体、使用目的、收集的个人信息类型或隐私政策链接）。",
        "An entry of the SDK list lacks required information (name, company, purpose, personal-information "
        "types or privacy-policy link)."),
    FindingKind(
        "undeclared_data_type", Severity.MEDIUM,
        f"{NOTICE_26} 一(三)9；{RENDING} 二.1",
        "MIIT notice No. 26 (2023) I(3)9; Identification Method (2019) II.1",
        "收集了已收集个人信息清单未列明的个人信息",
        "Personal information not in the collected-information list",
        "流量中出现了一类个人信息，但应用公开的已收集个人信息清单和SDK清单都没有列出这一类。",
        "A kind of personal information left the device that neither the app's collected-information list "
        "nor its SDK list mentions."),
    FindingKind(
        "data_type_not_declared_for_sdk", Severity.MEDIUM,
        f"{NOTICE_26} 二(一)3；{RENDING} 二.1",
        "MIIT notice No. 26 (2023) II(1)3; Identification Method (2019) II.1",
        "SDK收集了清单中未为其列明的个人信息",
        "SDK sends personal information not declared for it",
        "某个已列明的SDK发送了一类个人信息，而SDK清单中该SDK的条目并未列出这一类。",
        "A declared SDK sent a kind of personal information that its entry in the SDK list does not mention."),
    FindingKind(
        "undeclared_recipient", Severity.HIGH,
        f"{NOTICE_337}（私自共享给第三方）；{RENDING} 五",
        "MIIT notice No. 337 (2019) (sharing with third parties without consent); Identification Method (2019) V",
        "个人信息发送给了未声明的接收方",
        "Personal information sent to an undeclared recipient",
        "个人信息被发送到一个既不属于应用自身、也不属于清单中任何SDK或共享对象的主机。",
        "Personal information went to a host that belongs neither to the app nor to any SDK or recipient the "
        "declaration names."),
    FindingKind(
        "collected_before_consent", Severity.HIGH,
        f"{RENDING} 三.1",
        "Identification Method (2019) III.1",
        "征得用户同意前即开始收集个人信息",
        "Personal information collected before consent",
        "在用户同意隐私政策之前，流量中已经出现个人信息。",
        "Personal information left the device before the user agreed to the privacy policy."),
    FindingKind(
        "collected_after_refusal", Severity.HIGH,
        f"{RENDING} 三.2",
        "Identification Method (2019) III.2",
        "用户明确拒绝后仍收集个人信息",
        "Personal information collected after refusal",
        "用户拒绝同意之后，流量中仍出现个人信息。",
        "Personal information kept leaving the device after the user refused consent."),
    FindingKind(
        "cleartext_transmission_of_pi", Severity.HIGH,
        f"{NOTICE_26} 二(一)2；SDK安全要求（个人信息传输应加密）",
        "MIIT notice No. 26 (2023) II(1)2; SDK security requirements (encrypt personal information in transit)",
        "以明文（HTTP）传输个人信息",
        "Personal information sent in clear text",
        "个人信息通过未加密的HTTP发送，网络路径上的任何人都能读取。",
        "Personal information was sent over unencrypted HTTP, readable by anyone on the network path."),
    FindingKind(
        "excessive_frequency", Severity.MEDIUM,
        f"{NOTICE_337}（超频次收集）",
        "MIIT notice No. 337 (2019) (collection above the declared frequency)",
        "收集频次超过声明",
        "Collected more often than declared",
        "同一类个人信息发往同一接收方的次数，在一个时间窗口内超过了清单中声明的频次。",
        "A kind of personal information went to the same recipient more often within one window than the "
        "declared frequency allows."),
    FindingKind(
        "silent_apk_download", Severity.HIGH,
        f"{NOTICE_26} 一(一)1",
        "MIIT notice No. 26 (2023) I(1)1",
        "静默下载应用安装包",
        "App package downloaded silently",
        "应用在没有用户操作的情况下下载了安装包（APK/IPA等）。规定禁止以\u201c静默下载\u201d等方式误导用户下载安装。",
        "The app downloaded an installable package (APK, IPA...) without a preceding user action. Silent "
        "downloads are forbidden."),
    FindingKind(
        "hot_update_payload", Severity.HIGH,
        f"{NOTICE_26} 二(二)5、二(四)10",
        "MIIT notice No. 26 (2023) II(2)5 and II(4)10",
        "运行时下载热更新代码",
        "Code downloaded at run time (hot update)",
        "应用在运行时下载了可执行代码（dex/jar/so补丁或JS包）。以热更新方式擅自更改功能或个人信息收集范围是被禁止的；请核实补丁内容。",
        "The app downloaded executable code at run time (dex/jar/so patch or JavaScript bundle). Changing "
        "features or data collection through hot updates is forbidden; check what the patch does."),
    FindingKind(
        "beyond_necessary_scope", Severity.LOW,
        "必要个人信息范围规定 第三条",
        "Necessary Personal Information Rules (2021) art. 3",
        "超出该类应用基本功能必要范围的个人信息（待复核）",
        "Beyond the necessary scope for the app category (review)",
        "按应用类别，基本功能服务不需要这一类个人信息。流量无法区分基本功能与扩展功能，请人工复核。",
        "The app's category needs no such information for its basic function. Traffic cannot tell basic "
        "from extended features: review by hand.",
        review=True),
    FindingKind(
        "sensitive_pi_not_marked", Severity.LOW,
        "GB/T 35273-2020 附录B；" + NOTICE_26 + " 一(三)9",
        "GB/T 35273-2020 Appendix B; MIIT notice No. 26 (2023) I(3)9",
        "敏感个人信息未标明为敏感",
        "Sensitive personal information not marked sensitive",
        "清单列出了一类敏感个人信息（如精准定位、身份证号、通讯录），但没有标明其敏感属性。敏感个人信息的处理目的、方式和范围应突出显示。",
        "The declaration lists sensitive personal information (precise location, ID number, contacts...) "
        "without marking it sensitive; its purpose and scope must be highlighted."),
    FindingKind(
        "immutable_device_id", Severity.MEDIUM,
        "GB/T 41391-2022 附录F",
        "GB/T 41391-2022 Appendix F",
        "收集不可变更的设备唯一标识符",
        "Immutable device identifier collected",
        "流量中出现了用户无法重置的设备标识符（IMEI、MEID、MAC地址、硬件序列号），应使用可重置的标识符代替。",
        "A device identifier the user cannot reset (IMEI, MEID, MAC address, serial number) left the device; "
        "resettable identifiers should be used instead."),
    FindingKind(
        "opaque_payload", Severity.INFO,
        "检测覆盖说明（非违规结论）",
        "Coverage note (not a violation)",
        "无法解码的数据发往SDK",
        "Undecodable payload sent to an SDK",
        "发往SDK的请求体是无法解码的高熵数据（可能加密），flowaudit无法判断其中是否含有个人信息。这是检测盲区，不是违规结论。",
        "A request body to an SDK is high-entropy data flowaudit cannot decode (probably encrypted); whether "
        "it holds personal information is unknown. This is a coverage gap, not a verdict."),
    FindingKind(
        "declared_not_observed", Severity.INFO,
        "仅供参考",
        "Information only",
        "已声明但本次会话未观察到",
        "Declared but not observed",
        "清单中列出的SDK或个人信息类型在本次会话的流量中没有出现。这可能是功能未被触发，并不代表问题。",
        "An SDK or data type in the declaration did not appear in this session's traffic; the feature may "
        "simply not have been exercised."),
)

KINDS: dict[str, FindingKind] = {k.kind: k for k in CATALOGUE}
KIND_ORDER: dict[str, int] = {k.kind: i for i, k in enumerate(CATALOGUE)}


def get_kind(kind: str) -> FindingKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown finding kind: {kind!r}") from None


def legal_basis(kind: str, lang: str = "zh") -> str:
    entry = get_kind(kind)
    return entry.legal_basis_en if lang == "en" else entry.legal_basis_zh


def make_finding(kind: str, *, severity: Severity | None = None, sdk_id: str | None = None,
                 data_type: str | None = None, host: str | None = None, evidence: list[int] | None = None,
                 details: dict[str, object] | None = None) -> Finding:
    entry = get_kind(kind)
    return Finding(kind=kind, severity=severity or entry.severity, legal_basis=entry.legal_basis_zh,
                   title_en=entry.title_en, title_zh=entry.title_zh, explanation_en=entry.explanation_en,
                   explanation_zh=entry.explanation_zh, sdk_id=sdk_id, data_type=data_type, host=host,
                   evidence=list(evidence or []), details=dict(details or {}))


def severity_at_least(finding: Finding, threshold: Severity) -> bool:
    return finding.severity.rank >= threshold.rank
