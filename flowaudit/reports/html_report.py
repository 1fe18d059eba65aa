"""One standalone HTML file: inline CSS, no scripts, no network, every captured string autoescaped."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, StrictUndefined

from flowaudit.reports.i18n import label

TEMPLATE = r"""<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>{{ L('title') }} · {{ r.session.name }}</title>
<style>
:root { --fg:#1d232a; --muted:#5b6570; --line:#d8dde3; --bg:#fff; --band:#f5f7f9;
        --critical:#7a0d16; --high:#b3261e; --medium:#a15c00; --low:#2f6690; --info:#5b6570; }
* { box-sizing: border-box; }
body { font: 14px/1.55 "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 2px solid var(--fg); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0; }
.meta { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
code, .mono { font-family: "Noto Sans Mono CJK SC", ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
              word-break: break-all; overflow-wrap: anywhere; }
.sev { display: inline-block; min-width: 56px; text-align: center; color: #fff; border-radius: 3px; padding: 0 6px;
       font-size: 12px; font-weight: 600; }
.sev-critical { background: var(--critical); } .sev-high { background: var(--high); } .sev-medium { background: var(--medium); }
.sev-low { background: var(--low); } .sev-info { background: var(--info); }
.counts span { margin-right: 14px; }
.finding { border: 1px solid var(--line); border-left: 5px solid var(--info); padding: 10px 12px; margin: 12px 0;
           break-inside: avoid; page-break-inside: avoid; }
.finding.critical { border-left-color: var(--critical); } .finding.high { border-left-color: var(--high); }
.finding.medium { border-left-color: var(--medium); } .finding.low { border-left-color: var(--low); }
.basis { color: var(--muted); font-size: 13px; }
.ok { color: #2e7d32; } .bad { color: var(--high); font-weight: 600; }
mark { background: #fff3b0; padding: 0 2px; }
.review { font-size: 12px; border: 1px solid var(--medium); color: var(--medium); border-radius: 3px; padding: 0 4px; }
.marker td { background: #eef6ee; }
.evidence-line { margin: 6px 0 2px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .finding, tr { break-inside: avoid; page-break-inside: avoid; }
  .sev { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { size: A4; margin: 14mm 12mm; }
}
</style>
</head>
<body>
<header>
<h1>{{ L('title') }}</h1>
<p class="meta">{{ L('session') }}: <strong>{{ r.session.name }}</strong>
{% if r.app %} · {{ L('app') }}: {{ r.app.name }}{% if r.app.package %} (<code>{{ r.app.package }}</code>){% endif %}{% if r.app.version %} {{ r.app.version }}{% endif %}
{% elif r.session.app_id %} · {{ L('app') }}: <code>{{ r.session.app_id }}</code>{% endif %}
 · {{ L('generated') }}: {{ r.generated_at }}</p>
</header>

<section id="summary">
<h2>{{ L('summary') }}</h2>
<p class="counts">{% for sev, n in r.summary.findings_by_severity.items() %}<span><span class="sev sev-{{ sev }}">{{ L('severity_' ~ sev) }}</span> {{ n }}</span>{% endfor %}</p>
{% if not r.declaration %}<p class="meta">{{ L('no_declaration') }}</p>{% endif %}
<h3>{{ L('sdks_seen') }} ({{ r.summary.sdks_seen|length }})</h3>
<table><thead><tr><th>{{ L('sdk') }}</th><th>{{ L('vendor') }}</th><th>{{ L('requests') }}</th><th>{{ L('data_type') }}</th><th>{{ L('declared') }}</th></tr></thead><tbody>
{% for s in r.summary.sdks_seen %}<tr><td>{{ s.name_zh if lang == 'zh' and s.name_zh else s.name }}<br><code>{{ s.sdk_id }}</code></td><td>{{ s.vendor }}</td><td>{{ s.requests }}</td>
<td>{{ s.data_types|map('tname')|join(', ') }}</td>
<td>{% if s.declared is none %}–{% elif s.declared %}<span class="ok">✓ {{ L('declared') }}</span>{% else %}<span class="bad">✗ {{ L('undeclared') }}</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% if r.declaration %}
<h3>{{ L('sdks_declared') }} ({{ r.summary.sdks_declared|length }})</h3>
<table><thead><tr><th>{{ L('sdk') }}</th><th>{{ L('vendor') }}</th><th>{{ L('data_type') }}</th><th>{{ L('observed') }}</th></tr></thead><tbody>
{% for s in r.summary.sdks_declared %}<tr><td>{{ s.name }}{% if s.sdk_id %}<br><code>{{ s.sdk_id }}</code>{% endif %}</td><td>{{ s.vendor or '' }}</td><td>{{ s.pi_types|join('、') }}</td>
<td>{% if s.observed %}<span class="ok">✓ {{ L('observed') }}</span>{% else %}{{ L('not_observed') }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% endif %}
{% if r.declaration %}
<h3>{{ L('pi_declared') }} ({{ r.summary.pi_declared|length }})</h3>
<table><thead><tr><th>{{ L('published_name') }}</th><th>{{ L('data_type') }}</th><th>{{ L('sensitive') }}</th><th>{{ L('frequency') }}</th><th>{{ L('observed') }}</th></tr></thead><tbody>
{% for p in r.summary.pi_declared %}<tr><td>{{ p.type }}</td><td>{{ p.data_types|map('tname')|join(', ') }}</td><td>{{ '✓' if p.sensitive else ('✗' if p.sensitive is not none else '–') }}</td><td>{{ p.frequency or '' }}</td>
<td>{% if p.observed %}<span class="ok">✓ {{ L('observed') }}</span>{% else %}{{ L('not_observed') }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% endif %}
<h3>{{ L('types_seen') }} ({{ r.summary.types_seen|length }})</h3>
<table><thead><tr><th>{{ L('data_type') }}</th><th>{{ L('requests') }}</th><th>{{ L('recipients') }}</th><th>{{ L('declared') }}</th></tr></thead><tbody>
{% for t in r.summary.types_seen %}<tr><td>{{ t.type_name }} <code>{{ t.type }}</code></td><td>{{ t.requests }}</td><td>{{ t.recipients|join(', ') }}</td>
<td>{% if t.declared is none %}–{% elif t.declared %}<span class="ok">✓</span>{% else %}<span class="bad">✗ {{ L('undeclared') }}</span>{% endif %}</td></tr>{% endfor %}
</tbody></table>
</section>

<section id="findings">
<h2>{{ L('findings') }} ({{ r.findings|length }})</h2>
{% if not r.findings %}<p>{{ L('no_findings') }}</p>{% endif %}
{% for f in r.findings %}
<article class="finding {{ f.severity }}" id="{{ f.id }}">
<h3><span class="sev sev-{{ f.severity }}">{{ L('severity_' ~ f.severity) }}</span> {{ f.id }} · {{ f.title }}{% if f.review %} <span class="review">{{ L('review') }}</span>{% endif %}</h3>
<p>{% if f.sdk_name or f.sdk_id %}{{ L('sdk') }}: <strong>{{ f.sdk_name or f.sdk_id }}</strong> {% endif %}
{% if f.data_types %}{{ L('data_type') }}: <strong>{{ f.data_types|map('tname')|join(', ') }}</strong> {% endif %}
{% if f.host %}{{ L('host') }}: <code>{{ f.host }}</code>{% endif %}</p>
<p>{{ f.explanation }}</p>
<p class="basis">{{ L('legal_basis') }}: {{ f.legal_basis }} · <code>{{ f.kind }}</code></p>
{% if f.details %}<p class="basis">{{ L('details') }}: <code>{{ f.details|tojson_safe }}</code></p>{% endif %}
{% if f.evidence %}
<div><strong>{{ L('evidence') }}</strong>
{% for e in f.evidence %}
<div class="evidence-line"><code>#{{ e.observation_id }} +{{ '%.1f'|format(e.offset) }}s {{ e.request_line }}</code>{% if e.status %} → {{ e.status }}{% endif %}{% if e.sdk %} · {{ e.sdk }}{% endif %}</div>
{% if e.fields %}<table><thead><tr><th>{{ L('data_type') }}</th><th>{{ L('field') }}</th><th>{{ L('encoding') }}</th><th>{{ L('preview') }}</th></tr></thead><tbody>
{% for d in e.fields %}<tr><td>{{ d.type_name }}</td><td><code>{{ d.location }}: <mark>{{ d.key }}</mark></code></td><td><code>{{ d.encoding }}</code></td><td><code>{{ d.preview }}</code></td></tr>{% endfor %}
</tbody></table>{% endif %}
{% endfor %}
{% if f.evidence_count > f.evidence|length %}<p class="meta">{{ L('more_evidence', n=f.evidence_count - f.evidence|length) }}</p>{% endif %}
</div>
{% endif %}
</article>
{% endfor %}
</section>

<section id="timeline">
<h2>{{ L('timeline') }}</h2>
<table><thead><tr><th>{{ L('time') }}</th><th>{{ L('event') }}</th><th>{{ L('data_type') }}</th><th>{{ L('findings') }}</th></tr></thead><tbody>
{% for e in r.timeline %}
{% if e.what == 'marker' %}<tr class="marker"><td>+{{ '%.1f'|format(e.offset) }}s</td><td>{{ L('marker') }}: <strong>{{ e.marker }}</strong> {{ e.label }}</td><td></td><td></td></tr>
{% else %}<tr><td>+{{ '%.1f'|format(e.offset) }}s</td><td><code>{{ e.request_line }}</code>{% if e.sdk %} · {{ e.sdk }}{% endif %}</td><td>{{ e.data_types|map('tname')|join(', ') }}</td><td>{% for fid in e.findings %}<a href="#{{ fid }}">{{ fid }}</a> {% endfor %}</td></tr>{% endif %}
{% endfor %}
</tbody></table>
{% if r.timeline_truncated %}<p class="meta">{{ L('truncated', n=r.timeline_truncated) }}</p>{% endif %}
</section>

<section id="method">
<h2>{{ L('method') }}</h2>
<table><tbody>
<tr><th>{{ L('version') }}</th><td>{{ r.method.flowaudit_version }}</td></tr>
<tr><th>{{ L('signature_db') }}</th><td>{{ r.method.signature_db.count }} · <code>{{ r.method.signature_db.digest or '–' }}</code></td></tr>
<tr><th>{{ L('device_profile') }}</th><td>{{ r.method.device_profile_types|map('tname')|join(', ') or '–' }}</td></tr>
<tr><th>{{ L('capture_sources') }}</th><td>{{ r.method.capture_sources|join(', ') or '–' }}</td></tr>
<tr><th>{{ L('first_party') }}</th><td>{{ r.method.first_party_domains|join(', ') or '–' }}</td></tr>
<tr><th>{{ L('consent_moment') }}</th><td>{% if r.method.consent_offset is none and r.method.refusal_offset is none %}<span class="bad">{{ L('no_consent') }}</span>{% else %}{% if r.method.consent_offset is not none %}{{ L('consent_at', c=r.method.consent_offset) }} {% endif %}{% if r.method.refusal_offset is not none %}{{ L('refusal_at', r=r.method.refusal_offset) }}{% endif %}{% endif %}</td></tr>
<tr><th>{{ L('declaration') }}</th><td>{% if r.declaration %}{{ r.declaration.source or '' }} ({{ r.declaration.sdk_entries }} SDK, {{ r.declaration.pi_entries }} PI {{ L('entries') }}){% else %}–{% endif %}</td></tr>
</tbody></table>
<p>{{ L('method_note', conf=r.method.min_confidence, win=r.method.user_action_window_s|int) }}</p>
</section>
</body>
</html>
"""


def _tojson_safe(value: Any) -> str:
    # plain text; autoescape turns it into HTML-safe text
    return json.dumps(value, ensure_ascii=False, default=str)[:2000]


def render_html(report: dict[str, Any]) -> str:
    from flowaudit.reports.data import type_name

    lang = report["lang"]
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # noqa: S701
    env.filters["tname"] = lambda t: type_name(t, lang)
    env.filters["tojson_safe"] = _tojson_safe
    template = env.from_string(TEMPLATE)
    return template.render(r=report, lang=lang, L=lambda key, **kw: label(key, lang, **kw))
