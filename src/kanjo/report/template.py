"""The report page: one self-contained HTML document (inline CSS and SVG, no scripts, no
network), Japanese kept as HTML text."""

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kanjo report · {{ title }}</title>
<style>{{ css }}</style></head>
<body>
<header><h1>kanjo report</h1>
<p class="sub">{{ title }} · {{ n }} rows of <code>{{ data_name }}</code>{% if split %}
(split <code>{{ split }}</code>){% endif %} · {{ generated }}</p></header>

<section id="metrics"><h2>Metrics</h2>
<table class="metrics"><tr><th>metric</th><th>value</th><th>95 % bootstrap interval</th></tr>
{% for name, m in intervals.items() %}<tr><td>{{ name.replace("_", "-") }}</td>
<td class="num">{{ "%.4f"|format(m.value) }}</td>
<td class="num">{{ "%.4f"|format(m.low) }} – {{ "%.4f"|format(m.high) }}</td></tr>
{% endfor %}<tr><td>ECE</td><td class="num">{{ "%.4f"|format(metrics.ece) }}</td><td></td></tr>
<tr><td>NLL</td><td class="num">{{ "%.4f"|format(metrics.nll) }}</td><td></td></tr></table>
<p class="note">Intervals: {{ resamples }} bootstrap resamples of the rows, percentile
method.</p></section>

<section id="per-class"><h2>Per class</h2>
<table><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
{% for name, c in metrics.per_class.items() %}<tr><td>{{ name }}</td>
<td class="num">{{ "%.4f"|format(c.precision) }}</td>
<td class="num">{{ "%.4f"|format(c.recall) }}</td>
<td class="num">{{ "%.4f"|format(c.f1) }}</td><td class="num">{{ c.support }}</td></tr>
{% endfor %}</table></section>

<section id="confusion"><h2>Confusion matrix</h2>
<table class="confusion"><tr><th>gold ＼ predicted</th>{% for name in labels %}
<th>{{ name }}</th>{% endfor %}</tr>
{% for row in confusion %}<tr><th>{{ row.label }}</th>{% for cell in row.cells %}
<td style="background:rgba(37,99,235,{{ "%.2f"|format(cell.share * 0.85) }});
color:{{ "#fff" if cell.share > 0.55 else "#111827" }}">{{ cell.count }}<br>
<small>{{ "%.1f"|format(cell.share * 100) }} %</small></td>{% endfor %}</tr>
{% endfor %}</table><p class="note">Counts; shading and percentages are normalised per gold
row (recall on the diagonal).</p></section>

<section id="reliability"><h2>Calibration</h2>{{ reliability }}
<p class="note">Expected calibration error over 10 equal-width confidence bins.</p></section>

<section id="pr-curves"><h2>Precision-recall curves</h2>{{ pr_curves }}</section>

<section id="training"><h2>Training curves</h2>
{% if training %}{{ training }}{% else %}<p class="note">No TensorBoard logs in
<code>{{ model_name }}/logs</code> (tfidf models have none; an ONNX export shows those of the
model it was exported from, when that is still there).</p>{% endif %}
</section>

<section id="errors"><h2>Most confident errors</h2>
{% if errors %}<p class="note">Wrong predictions with the highest probability; words coloured
by {{ errors[0].method }} towards the predicted label (green: for it, red: against).</p>
<table class="errors"><tr><th>line</th><th>text</th><th>gold</th><th>predicted</th><th>p</th>
</tr>{% for e in errors %}<tr><td class="num">{{ e.line }}</td><td class="ja">{{ e.html }}
{% if e.truncated %}<br><small class="warn">truncated</small>{% endif %}</td>
<td>{{ e.gold }}</td><td>{{ e.predicted }}</td>
<td class="num">{{ "%.3f"|format(e.probability) }}</td></tr>{% endfor %}</table>
{% else %}<p>No errors on these rows.</p>{% endif %}</section>

<section id="label-issues"><h2>Rows whose labels look wrong</h2>
{% if issues is none %}<p class="note">Not checked: run <code>kanjo label-issues DATA --out
issues.csv</code> and pass <code>--issues issues.csv</code>.</p>
{% elif issues %}<p class="note">{{ issues|length }} rows flagged by confident learning
(cleanlab) on out-of-fold probabilities{% if issues|length > shown_issues|length %}; the
{{ shown_issues|length }} most suspicious{% endif %}.</p>
<table><tr><th>line</th><th>text</th><th>given</th><th>suggested</th><th>quality</th></tr>
{% for r in shown_issues %}<tr><td class="num">{{ r.line }}</td><td class="ja">{{ r.text }}</td>
<td>{{ r.given }}</td><td>{{ r.suggested }}</td><td class="num">{{ r.quality }}</td></tr>
{% endfor %}</table>{% else %}<p>No row was flagged.</p>{% endif %}</section>

<section id="model-card"><h2>Model card</h2>
<table class="card">
<tr><th>base model</th><td><code>{{ card.base_model }}</code></td></tr>
<tr><th>backend</th><td>{{ card.backend }}{% if card.export %} (export: {{
card.export.quantize or "fp32" }}){% endif %}</td></tr>
<tr><th>labels</th><td>{{ card.labels|join(", ") }}</td></tr>
<tr><th>maximum length</th><td>{{ card.max_length or "none" }}{% if card.max_length %}
tokens{% endif %}</td></tr>
<tr><th>text normalisation</th><td>{{ card.normalisation }}</td></tr>
<tr><th>calibration temperature</th><td>{{ "%.4g"|format(card.temperature) }}</td></tr>
<tr><th>trained</th><td>{{ card.created or "unknown" }}{% if card.train_seconds %} ·
{{ "%.0f"|format(card.train_seconds) }} s{% endif %}{% if card.train_steps %} ·
{{ card.train_steps }} steps{% endif %} · kanjo {{ card.kanjo_version or "?" }}</td></tr>
</table>
<h3>Data</h3>
<table><tr><th>role</th><th>file</th><th>rows</th><th>labels</th><th>sha256</th></tr>
{% for f in card.files %}<tr><td>{{ f.role }}</td><td><code>{{ f.file }}</code></td>
<td class="num">{{ f.rows }}</td><td>{% if f.label_counts %}{% for k, v in
f.label_counts.items() %}{{ k }} {{ v }}{% if not loop.last %}, {% endif %}{% endfor %}
{% endif %}</td><td><code class="hash">{{ f.sha256 }}</code></td></tr>{% endfor %}</table>
<h3>Training configuration</h3>
<table class="config">{% for k, v in card.config.items() %}<tr><th>{{ k }}</th>
<td><code>{{ v }}</code></td></tr>{% endfor %}</table>
<h3>Limitations</h3><ul>{% for item in card.limitations %}<li>{{ item }}</li>{% endfor %}
</ul></section>
</body></html>
"""

CSS = """
body { font-family: "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic",
       "Meiryo", sans-serif; margin: 0 auto; max-width: 66rem; padding: 1rem 1.5rem 3rem;
       color: #111827; line-height: 1.5; }
header { border-bottom: 2px solid #e5e7eb; margin-bottom: 1rem; }
h1 { margin-bottom: .2rem; } .sub, .note { color: #4b5563; font-size: .9rem; }
section { margin: 2rem 0; } h2 { border-left: .3rem solid #2563eb; padding-left: .5rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #e5e7eb; padding: .3rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f9fafb; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.confusion td { text-align: center; min-width: 4.5rem; }
.ja { font-size: 1.05rem; max-width: 36rem; } .w { border-radius: .2rem; }
.warn { color: #92400e; } code { font-size: .85em; } .hash { font-size: .7em; }
svg.figure { max-width: 100%; height: auto; }
"""
