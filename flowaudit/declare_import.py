"""Importers for declarations as apps publish them: CSV, XLSX, Markdown and HTML tables with the Chinese
column headers of real SDK lists and collected-information lists, "名称：值" blocks, and the YAML/JSON
declaration format itself.

Every type name that maps onto no taxonomy id and every SDK name that maps onto no signature (or onto
several) is reported back in the ImportReport; nothing is guessed silently. Files are read, never fetched;
HTML is parsed as data (no scripts, no network).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from flowaudit.core.declarations import (
    FORMAT_VERSION,
    Declaration,
    DeclarationError,
    SdkMatch,
    declaration_json_schema,
    load_declaration,
    map_type_name,
    match_sdk,
)
from flowaudit.core.signature_schema import Signature

MAX_FILE_BYTES = 20_000_000
TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".md", ".markdown", ".txt", ".html", ".htm")
DECLARATION_SUFFIXES = (".yaml", ".yml", ".json")
NONE_WORDS = re.compile(r"^(无|不涉及|不收集|不收集个人信息|未收集|none|n/?a|-+)$", re.I)

# Published column headers -> field. Exact header first, then the longest keyword the header contains.
SDK_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("sdk名称", "使用sdk名称", "合作sdk名称", "第三方sdk名称", "sdk(包名)", "sdk", "产品/类型", "产品名称",
             "sdk name", "name"),
    "vendor": ("第三方名称", "sdk厂商", "合作方主体", "第三方主体", "所属公司名称", "公司主体", "第三方公司名称", "运营方",
               "开发者", "接收方名称", "合作方名称", "提供方", "所属机构", "vendor", "company"),
    "purpose": ("使用目的", "功能描述", "收集目的", "用途和目的", "功能", "合作目的", "个人信息共享目的", "共享目的", "purpose"),
    "scene": ("使用场景", "场景描述", "共享场景", "scene"),
    "pi_types": ("收集个人信息类型", "个人信息字段", "收集范围", "个人信息收集范围", "共享信息名称", "涉及的个人信息类型",
                 "涉及的个人信息种类", "共享的信息", "共享信息", "收集个人信息", "个人信息类型", "涉及个人信息",
                 "收集个人信息字段及目的", "共享个人信息类型", "收集的个人信息", "个人信息", "data types"),
    "sharing": ("处理方式", "共享方式", "收集方式", "共享个人信息方式", "sharing"),
    "privacy_policy_url": ("隐私政策链接", "隐私政策", "第三方隐私政策", "第三方个人信息处理规则", "合作方隐私链接",
                           "sdk隐私政策链接", "个人信息保护政策/官网链接", "第三方隐私政策链接", "第三方隐私政策或官网链接",
                           "privacy policy"),
    "package": ("包名", "package"),
    "version": ("版本", "sdk版本", "版本号", "version"),
}
PI_HEADERS: dict[str, tuple[str, ...]] = {
    "type": ("信息名称", "个人信息种类", "个人信息字段", "个人信息名称", "收集信息", "个人信息", "type"),
    "category": ("类型", "信息类别", "信息类型", "个人信息类型", "类别", "category"),
    "scene": ("收集场景", "使用场景", "场景/业务功能", "功能场景", "场景", "业务功能", "scene"),
    "purpose": ("收集目的", "使用目的", "目的", "处理目的", "purpose"),
    "frequency": ("频次", "收集频次", "频次或者时机", "收集情况", "下载后累计收集次数", "收集次数", "frequency"),
}
_SDK_TABLE_HINTS = ("sdk", "第三方", "厂商", "主体", "公司", "运营方", "接收方", "合作方")
_PI_TABLE_HINTS = ("信息名称", "个人信息种类", "信息类别", "收集频次", "频次")


class ImportError_(DeclarationError):  # noqa: N801 - distinct from the builtin ImportError
    """A file that cannot be read as a declaration."""


@dataclass(slots=True)
class UnmappedType:
    where: str            # "sdk_list[2] 极光推送SDK" or "pi_list[0]"
    text: str             # the published item
    remainder: str        # the part no taxonomy name matched


@dataclass(slots=True)
class ImportReport:
    declaration: Declaration
    sdk_matches: list[SdkMatch] = field(default_factory=list)
    unmapped_types: list[UnmappedType] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    tables: int = 0

    @property
    def unmapped_sdks(self) -> list[str]:
        return [m.name for m in self.sdk_matches if not m.sdk_ids]

    @property
    def ambiguous_sdks(self) -> list[SdkMatch]:
        return [m for m in self.sdk_matches if m.ambiguous]

    @property
    def approximate_sdks(self) -> list[SdkMatch]:
        return [m for m in self.sdk_matches if m.sdk_id and not m.exact]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sdk_entries": len(self.declaration.sdk_list), "pi_entries": len(self.declaration.pi_list),
            "tables": self.tables,
            "sdk_matches": [{"name": m.name, "sdk_ids": m.sdk_ids, "how": m.how, "exact": m.exact}
                            for m in self.sdk_matches],
            "unmapped_sdks": self.unmapped_sdks,
            "ambiguous_sdks": [{"name": m.name, "candidates": m.sdk_ids} for m in self.ambiguous_sdks],
            "unmapped_types": [{"where": u.where, "text": u.text, "remainder": u.remainder} for u in self.unmapped_types],
            "ignored_columns": self.ignored_columns,
        }


# --- reading tables ---------------------------------------------------------------------------------

Table = list[list[str]]


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.I)
    text = re.sub(r"\*\*|__", "", text)
    return "\n".join(line.strip() for line in text.splitlines()).strip()


class _HTMLTables(HTMLParser):
    """Collects every <table> as rows of cell text, links kept as "text <url>"; other text as lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.lines: list[str] = []
        self._stack: list[Table] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template", "noscript"):
            self._skip += 1
        elif tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" or tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._emit("\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith(("http://", "https://")):
                self._emit(f" <{href}> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(_clean("".join(self._cell)))
            self._cell = None
        elif tag == "tr" and self._stack and self._row is not None:
            if any(self._row):
                self._stack[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            table = self._stack.pop()
            if table:
                self.tables.append(table)
        elif tag in ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._emit(data)

    def _emit(self, text: str) -> None:
        if self._cell is not None:
            self._cell.append(text)
        elif not self._stack:
            self._text.append(text)

    def text_lines(self) -> list[str]:
        return [line.strip() for line in "".join(self._text).splitlines() if line.strip()]


def html_tables(text: str) -> tuple[list[Table], list[str]]:
    parser = _HTMLTables()
    parser.feed(text)
    parser.close()
    return parser.tables, parser.text_lines()


_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?$")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((https?://[^)\s]+)\)")


def _md_cell(cell: str) -> str:
    return _clean(_MD_LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", cell))


def _split_pipes(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [_md_cell(c) for c in re.split(r"(?<!\\)\|", line)]


def markdown_tables(text: str) -> tuple[list[Table], list[str]]:
    """Pipe tables (also inside > quotes), embedded HTML tables, and the remaining text lines."""
    lines = [re.sub(r"^\s*(>\s?)+", "", line) for line in text.splitlines()]
    tables: list[Table] = []
    rest: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "|" in line and i + 1 < len(lines) and _SEPARATOR_ROW.match(lines[i + 1].strip()):
            table = [_split_pipes(line)]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                table.append(_split_pipes(lines[i]))
                i += 1
            tables.append(table)
            continue
        rest.append(line)
        i += 1
    remaining = "\n".join(rest)
    if re.search(r"<table", remaining, re.I):
        html, _ = html_tables(remaining)
        tables.extend(html)
        remaining = re.sub(r"<table.*?</table>", "\n", remaining, flags=re.I | re.S)
    text_lines = [_md_cell(re.sub(r"<[^>]+>", " ", ln)) for ln in remaining.splitlines()]
    return tables, [ln for ln in text_lines if ln]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def csv_tables(data: bytes, delimiter: str | None = None) -> list[Table]:
    text = _decode(data)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = [[_clean(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as exc:
        raise ImportError_(f"not a readable CSV table: {exc}") from None
    return [[r for r in rows if any(r)]]


def xlsx_tables(data: bytes) -> list[Table]:
    import zipfile

    from openpyxl import load_workbook
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > 20 * MAX_FILE_BYTES:
                raise ImportError_("XLSX expands to more than 400 MB; refusing to read it")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportError_:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise ImportError_(f"not a readable XLSX workbook: {exc.__class__.__name__}") from None
    tables = []
    for sheet in workbook.worksheets:
        rows = [["" if v is None else _clean(str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]
        rows = [r for r in rows if any(r)]
        if rows:
            tables.append(rows)
    workbook.close()
    return tables


# --- tables into entries ----------------------------------------------------------------------------

def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def _map_headers(headers: list[str], table: dict[str, tuple[str, ...]]) -> list[str | None]:
    out: list[str | None] = []
    for header in headers:
        key = _header_key(header)
        found = next((f for f, names in table.items() if key in {_header_key(n) for n in names}), None)
        if found is None and key:
            best = 0
            for f, names in table.items():
                for n in names:
                    nk = _header_key(n)
                    if len(nk) >= 2 and nk in key and len(nk) > best:
                        best, found = len(nk), f
        out.append(found)
    return out


def _table_kind(headers: list[str]) -> str | None:
    keys = [_header_key(h) for h in headers]
    sdk = _map_headers(headers, SDK_HEADERS)
    if ("name" in sdk or "vendor" in sdk) and any(h in k for k in keys for h in _SDK_TABLE_HINTS):
        return "sdk"
    pi = _map_headers(headers, PI_HEADERS)
    if "type" in pi and (any(h in k for k in keys for h in _PI_TABLE_HINTS) or "purpose" in pi or "scene" in pi):
        return "pi"
    return None


def _find_header(table: Table) -> tuple[int, str | None]:
    for i, row in enumerate(table[:10]):
        kind = _table_kind(row)
        if kind:
            return i, kind
    return 0, None


_URL = re.compile(r"https?://[^\s<>\"'）)]+")


def _url(text: str) -> str | None:
    m = _URL.search(text or "")
    if m:
        return m.group(0).rstrip(".,;，。；")
    return _strip_links(text) or None


def _strip_links(text: str) -> str:
    return re.sub(r"\s*<https?://[^>]*>\s*", " ", text or "").strip()


def split_items(text: str) -> list[str]:
    """Top-level items of a published type list: split on 、，,；; and new lines outside brackets."""
    items, depth, current = [], 0, []
    for ch in unicodedata.normalize("NFKC", text or ""):
        if ch in "(（[【":
            depth += 1
        elif ch in ")）]】":
            depth = max(0, depth - 1)
        if depth == 0 and ch in "、,，;；\n":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    out = []
    for item in items:
        item = re.sub(r"^(必选信息|可选信息|【[^】]*】)\s*[:：]?\s*", "", item.strip(" .。:：")).strip()
        label = re.match(r"^([^:：(（]{2,12})[:：]\s*", item)
        if label and _block_field(label.group(1)):
            item = item[label.end():].strip()
        if item:  # 无 / 不收集个人信息 stay: an entry that says so is complete
            out.append(item)
    return out


def _sdk_entry(values: dict[str, str]) -> dict[str, Any] | None:
    name_lines = _strip_links(values.get("name", "")).splitlines()
    name = name_lines[0].strip() if name_lines else ""
    vendor = _strip_links(values.get("vendor", ""))
    if not name and not vendor:
        return None
    if len(name_lines) > 1 and not values.get("purpose"):
        values = {**values, "purpose": " ".join(n.strip() for n in name_lines[1:])}
    entry: dict[str, Any] = {"name": (name or vendor.splitlines()[0])[:300]}
    for key in ("vendor", "purpose", "scene", "sharing", "package", "version"):
        if values.get(key):
            entry[key] = _strip_links(values[key])[:2000]
    if values.get("pi_types"):
        entry["pi_types"] = split_items(_strip_links(values["pi_types"]))
    if values.get("privacy_policy_url"):
        entry["privacy_policy_url"] = _url(values["privacy_policy_url"])
    return entry


def _pi_entry(values: dict[str, str]) -> dict[str, Any] | None:
    type_text = _strip_links(values.get("type", ""))
    if not type_text:
        return None
    entry: dict[str, Any] = {"type": type_text[:1000]}
    for key in ("category", "scene", "purpose"):
        if values.get(key):
            entry[key] = values[key][:2000]
    if values.get("frequency"):
        entry["frequency"] = values["frequency"][:500]
    return entry


def _entries_from_table(table: Table, ignored: list[str]) -> tuple[str | None, list[dict[str, Any]]]:
    start, kind = _find_header(table)
    if kind is None:
        return None, []
    headers = table[start]
    fields = _map_headers(headers, SDK_HEADERS if kind == "sdk" else PI_HEADERS)
    for header, f in zip(headers, fields, strict=True):
        if f is None and header and header not in ignored:
            ignored.append(header)
    entries: list[dict[str, Any]] = []
    carry: dict[str, str] = {}
    for row in table[start + 1:]:
        values: dict[str, str] = {}
        for f, cell in zip(fields, row, strict=False):
            if f and cell:
                values[f] = f"{values[f]}\n{cell}" if f in values else cell
        # merged cells of the category column: the value continues from the row above
        for key in ("category",):
            if key in values:
                carry[key] = values[key]
            elif key in carry and any(values.values()):
                values[key] = carry[key]
        entry = _sdk_entry(values) if kind == "sdk" else _pi_entry(values)
        if entry:
            entries.append(entry)
    return kind, entries


_KV = re.compile(r"^\s*[-*•]?\s*([^：:\n]{1,24}?)\s*[：:]\s*(.*)$")


def _entries_from_blocks(lines: list[str]) -> list[dict[str, Any]]:
    """SDK entries published as a title line followed by "第三方名称：..." lines."""
    entries: list[dict[str, Any]] = []
    current: dict[str, str] | None = None
    title: str | None = None

    def flush() -> None:
        if current and ("vendor" in current or "pi_types" in current):
            if "name" not in current and title:
                current["name"] = title
            entry = _sdk_entry(current)
            if entry:
                entries.append(entry)

    for raw in lines:
        line = raw.strip().strip("#").strip()
        if not line:
            continue
        m = _KV.match(line)
        field_name = _block_field(m.group(1)) if m else None
        if m and field_name:
            if current is None:
                current = {}
            value = m.group(2).strip()
            current[field_name] = f"{current[field_name]}\n{value}" if field_name in current else value
            continue
        if m and current is not None and _header_key(m.group(1)) in ("官网链接", "官网", "联系地址", "合作类型"):
            continue
        if len(line) <= 80 and not line.endswith(("。", ".")):
            flush()
            current, title = {}, _block_title(line)
    flush()
    return entries


def _block_field(label: str) -> str | None:
    """The field a "label：value" line sets: the label must be a known header, or a short label ending
    in one (第三方隐私政策或官网链接)."""
    key = _header_key(label)
    exact = _map_headers([label], SDK_HEADERS)[0]
    if exact is None or len(key) > 14:
        return None
    if any(key == _header_key(n) for names in SDK_HEADERS.values() for n in names):
        return exact
    return exact if any(key.endswith(_header_key(n)) or key.startswith(_header_key(n))
                        for n in SDK_HEADERS[exact] if len(_header_key(n)) >= 2) else None


def _block_title(line: str) -> str:
    """推送通知消息（OPPO推送SDK） names the SDK in the brackets; 穿山甲广告SDK(com.bytedance) keeps them."""
    m = re.match(r"^(.*?)[（(]([^）)]+)[）)]\s*$", line)
    if m and re.search(r"sdk|平台|推送|支付|统计|地图|登录|分享", m.group(2), re.I) and not re.search(r"\.", m.group(2)):
        return m.group(2).strip()
    return line


def read_file_entries(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], int]:
    """(sdk entries, pi entries, ignored columns, table count) from one published table file."""
    data = _read_bytes(path)
    suffix = path.suffix.lower()
    text_lines: list[str] = []
    if suffix == ".xlsx":
        tables = xlsx_tables(data)
    elif suffix in (".csv", ".tsv"):
        tables = csv_tables(data, "\t" if suffix == ".tsv" else None)
    elif suffix in (".html", ".htm"):
        tables, text_lines = html_tables(_decode(data))
    else:
        tables, text_lines = markdown_tables(_decode(data))
    return entries_from_tables(tables, text_lines)


def entries_from_tables(tables: Iterable[Table], text_lines: list[str] = ()) -> tuple[  # type: ignore[assignment]
        list[dict[str, Any]], list[dict[str, Any]], list[str], int]:
    sdk: list[dict[str, Any]] = []
    pi: list[dict[str, Any]] = []
    ignored: list[str] = []
    count = 0
    for table in tables:
        kind, entries = _entries_from_table(table, ignored)
        if kind:
            count += 1
            (sdk if kind == "sdk" else pi).extend(entries)
    if text_lines and not sdk:
        blocks = _entries_from_blocks(list(text_lines))
        if blocks:
            count += 1
            sdk.extend(blocks)
    return sdk, pi, ignored, count


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportError_(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportError_(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ImportError_(f"{path} is a directory") from None
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror}") from None


MAX_NODES = 200_000
MAX_DEPTH = 40


def _check_shape(data: object, path: Path) -> None:
    """Refuse documents that are huge once YAML aliases are expanded, or absurdly deep, before
    validation walks them (an alias bomb is small on disk and endless in memory)."""
    count = 0
    stack: list[tuple[object, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES or depth > MAX_DEPTH:
            raise ImportError_(f"{path}: declaration too large or too deeply nested "
                               f"(over {MAX_NODES} values or {MAX_DEPTH} levels)")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def read_declaration_file(path: Path) -> Declaration:
    text = _decode(_read_bytes(path))
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else "nested too deeply"
        raise ImportError_(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                           f"{message}") from None
    _check_shape(data, path)
    try:
        return load_declaration(data)
    except DeclarationError as exc:
        raise ImportError_(f"{path}: {exc}") from None


# --- the import -------------------------------------------------------------------------------------

def default_signatures() -> list[Signature]:
    from flowaudit.signature_db import default_index
    return list(default_index().signatures.values())


def import_files(paths: Iterable[Path | str], *, app_name: str | None = None, app_package: str | None = None,
                 app_category: str | None = None, first_party: Iterable[str] = (),
                 signatures: Iterable[Signature] | None = None) -> ImportReport:
    """Read declaration files and published tables into one Declaration, resolve SDK names and type
    names, and report everything that did not resolve."""
    sigs = list(signatures) if signatures is not None else default_signatures()
    base: dict[str, Any] | None = None
    sdk: list[dict[str, Any]] = []
    pi: list[dict[str, Any]] = []
    ignored: list[str] = []
    tables = 0
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportError_("no input file")
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in DECLARATION_SUFFIXES:
            declaration = read_declaration_file(path)
            data = declaration.model_dump(mode="json", exclude_none=True)
            if base is None:
                base = data
            else:
                sdk.extend(data.get("sdk_list", []))
                pi.extend(data.get("pi_list", []))
            continue
        if suffix not in TABLE_SUFFIXES:
            raise ImportError_(f"{path}: unknown format {suffix or '(no suffix)'}; use one of "
                               f"{', '.join(TABLE_SUFFIXES + DECLARATION_SUFFIXES)}")
        s, p, ign, count = read_file_entries(path)
        if count == 0:
            raise ImportError_(f"{path}: no SDK list or collected-information list found (no table with known "
                               "column headers such as SDK名称, 第三方名称, 信息名称)")
        sdk.extend(s)
        pi.extend(p)
        ignored.extend(i for i in ign if i not in ignored)
        tables += count
    doc = base or {"format_version": FORMAT_VERSION, "app": {"name": app_name or paths[0].stem}}
    doc.setdefault("app", {})
    if app_package:
        doc["app"]["package"] = app_package
    if app_name:
        doc["app"]["name"] = app_name
    if app_category:
        doc["app"]["category"] = app_category
    extra_domains = [d for d in first_party if d]
    if extra_domains:
        doc["app"]["first_party_domains"] = list(dict.fromkeys([*doc["app"].get("first_party_domains", []),
                                                                *extra_domains]))
    doc["sdk_list"] = list(doc.get("sdk_list", [])) + sdk
    doc["pi_list"] = list(doc.get("pi_list", [])) + pi
    try:
        declaration = load_declaration(doc)
    except DeclarationError as exc:
        raise ImportError_(str(exc)) from None
    return resolve(declaration, sigs, tables=tables, ignored=ignored)


def resolve(declaration: Declaration, signatures: Iterable[Signature], *, tables: int = 0,
            ignored: list[str] | None = None) -> ImportReport:
    """Fill sdk_id and type_ids where a name resolves to exactly one; report the rest."""
    sigs = list(signatures)
    report = ImportReport(declaration, tables=tables, ignored_columns=list(ignored or []))
    sdk_list = []
    for i, entry in enumerate(declaration.sdk_list):
        match = match_sdk(entry.name, sigs, vendor=entry.vendor, package=entry.package, sdk_id=entry.sdk_id)
        report.sdk_matches.append(match)
        ids = list(entry.type_ids)
        if not ids:
            for text in entry.pi_types:
                mapped, remainder = map_type_name(text)
                ids.extend(t for t in mapped if t not in ids)
                if remainder and not NONE_WORDS.match(remainder.strip()):
                    report.unmapped_types.append(UnmappedType(f"sdk_list[{i}] {entry.name}", text, remainder))
        sdk_list.append(entry.model_copy(update={"sdk_id": entry.sdk_id or match.sdk_id, "type_ids": ids}))
    pi_list = []
    for i, pi_entry in enumerate(declaration.pi_list):
        ids = list(pi_entry.type_ids)
        if not ids:
            mapped, remainder = map_type_name(pi_entry.type)
            ids = mapped
            if remainder and not NONE_WORDS.match(remainder.strip()):
                report.unmapped_types.append(UnmappedType(f"pi_list[{i}]", pi_entry.type, remainder))
        pi_list.append(pi_entry.model_copy(update={"type_ids": ids}))
    report.declaration = declaration.model_copy(update={"sdk_list": sdk_list, "pi_list": pi_list})
    return report


# --- lint -------------------------------------------------------------------------------------------

@dataclass(slots=True)
class LintIssue:
    kind: str             # unknown_sdk, ambiguous_sdk, approximate_sdk, unknown_sdk_id, unmapped_type, sensitive_not_marked
    where: str
    message: str


def lint(report: ImportReport, signatures: Iterable[Signature]) -> list[LintIssue]:
    from flowaudit.core.compare import SENSITIVE_TYPES

    known = {s.id for s in signatures}
    issues: list[LintIssue] = []
    for i, (entry, match) in enumerate(zip(report.declaration.sdk_list, report.sdk_matches, strict=True)):
        where = f"sdk_list[{i}] {entry.name}"
        if entry.sdk_id and entry.sdk_id not in known:
            issues.append(LintIssue("unknown_sdk_id", where, f"sdk_id {entry.sdk_id!r} is not a known signature id"))
        elif match.ambiguous:
            issues.append(LintIssue("ambiguous_sdk", where, "matches several signatures: " + ", ".join(match.sdk_ids)
                                    + "; set sdk_id"))
        elif not match.sdk_ids:
            issues.append(LintIssue("unknown_sdk", where, "no signature matches this SDK name; its traffic cannot "
                                    "be recognised (set sdk_id, or add a signature)"))
        elif not match.exact:
            issues.append(LintIssue("approximate_sdk", where, f"matched {match.sdk_id} by {match.how}; check it"))
    for u in report.unmapped_types:
        issues.append(LintIssue("unmapped_type", u.where, f"{u.text!r}: no taxonomy type for {u.remainder!r}"))
    for i, pi in enumerate(report.declaration.pi_list):
        sensitive = sorted(set(pi.resolved_types()) & SENSITIVE_TYPES)
        if sensitive and not pi.sensitive:
            issues.append(LintIssue("sensitive_not_marked", f"pi_list[{i}] {pi.type}",
                                    f"sensitive personal information ({', '.join(sensitive)}) not marked sensitive: true"))
    return issues


def schema_text() -> str:
    """docs/declaration.schema.json, exactly as committed."""
    return json.dumps(declaration_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def to_yaml(declaration: Declaration) -> str:
    return yaml.safe_dump(declaration.model_dump(mode="json", exclude_none=True, exclude_defaults=False),
                          allow_unicode=True, sort_keys=False, width=110)
