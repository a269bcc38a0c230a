"""Explanations as HTML: words highlighted by score (green for the target, red against), as
a fragment for reports and as a self-contained page (inline CSS, no scripts, no network)."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment
from markupsafe import Markup, escape

from kanjo.explain.result import Explanation

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kanjo explain</title>
<style>{{ css }}</style></head>
<body><h1>kanjo explain</h1>
<p class="legend"><span class="w" style="background:rgba(22,163,74,.6)">supports</span>
<span class="w" style="background:rgba(220,38,38,.6)">opposes</span> the explained label ·
hover a word for its score</p>
{% for e in explanations %}<section class="explanation">
<h2>{{ e.label }} <small>explained: {{ e.target }} · p = {{ "%.3f"|format(e.probability) }} ·
{{ e.method }}{% if e.delta is not none %} · δ = {{ "%.3g"|format(e.delta) }}{% endif %}
</small></h2>
<p class="text">{{ highlight(e) }}</p>
{% if e.truncated %}<p class="notice">The text was longer than the model's maximum length: its
end was cut and is not explained.</p>{% endif %}
</section>
{% endfor %}</body></html>
"""

CSS = """
body { font-family: "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif;
       margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1f2937; }
h2 small { font-weight: normal; color: #6b7280; font-size: .8em; }
.text { font-size: 1.35rem; line-height: 2.2; }
.w { border-radius: .2rem; padding: .1rem 0; }
.notice { color: #92400e; background: #fef3c7; padding: .4rem .6rem; border-radius: .3rem; }
.legend { color: #4b5563; }
"""


def highlight(explanation: Explanation) -> Markup:
    """The text as HTML with each word in a ``<span class="w">`` coloured by its score relative
    to the text's largest absolute score, its score in the ``title``; the characters between
    words (spaces) kept as they are."""
    text = explanation.text
    scale = max((abs(w.score) for w in explanation.words), default=0.0) or 1.0
    parts, cursor = [], 0
    for w in explanation.words:
        parts.append(escape(text[cursor:w.start]))
        alpha = min(abs(w.score) / scale, 1.0) * 0.75
        colour = "22,163,74" if w.score >= 0 else "220,38,38"
        parts.append(Markup('<span class="w" style="background:rgba({},{:.2f})" '
                            'title="{:+.4g}">{}</span>').format(colour, alpha, w.score,
                                                                 w.word))
        cursor = w.end
    parts.append(escape(text[cursor:]))
    return Markup("").join(parts)


def explanation_page(explanations: Sequence[Explanation]) -> str:
    """A whole HTML page (UTF-8, self-contained) of ``explanations``."""
    env = Environment(autoescape=True)
    return env.from_string(PAGE).render(explanations=list(explanations), css=Markup(CSS),
                                        highlight=highlight)
