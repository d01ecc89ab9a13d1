"""What wording costs: microseconds per render() of a sample notification of every kind, with the built-in templates
and with a custom template_dir, and the start-up check (compile + render every kind once).

    python bench/bench_render.py

It prints figures and asserts nothing.
"""

from __future__ import annotations

import tempfile
import time
import timeit
from pathlib import Path

from poller.core.notes.render import render
from poller.core.rules import RuleConfig
from poller.templates import load_templates, samples
from poller.templates.loading import _builtin
from poller.templates.samples import SAMPLE_NOW

CUSTOM = {
    "task_subject.txt.j2": "{{ emoji }} {{ headline }} · {{ label }} ({{ priority }})",
    "note_body.html.j2": "<h3>{{ headline }}</h3><p>{{ context }}</p><ul>{% for s in steps %}<li>{{ s }}</li>"
                         "{% endfor %}</ul>{% for c in changes %}<p>{{ c.label }}: {{ c.new }}</p>{% endfor %}"
                         "{{ link }}",
}


def per_render(rules: RuleConfig) -> float:
    cases = samples(rules, SAMPLE_NOW)
    number = 200
    best = min(timeit.repeat(lambda: [render(s.event, s.context, SAMPLE_NOW, rules=rules) for s in cases],
                             number=number, repeat=5))
    return best / number / len(cases) * 1e6


def main() -> None:
    base = RuleConfig.default()
    started = time.perf_counter()
    builtin = load_templates(None, base)
    print(f"start-up check, built-in templates (compile + render {len(samples(base, SAMPLE_NOW))} samples): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms (once per process)")
    print(f"render(), built-in templates: {per_render(base.with_overrides(templates=builtin)):.0f} µs per notification")
    with tempfile.TemporaryDirectory() as folder:
        for name, text in CUSTOM.items():
            (Path(folder) / name).write_text(text, encoding="utf-8")
        _builtin.cache_clear()
        started = time.perf_counter()
        custom = load_templates(folder, base)
        print(f"start-up check, custom template_dir: {(time.perf_counter() - started) * 1000:.0f} ms")
        print(f"render(), custom template_dir: {per_render(base.with_overrides(templates=custom)):.0f} µs per "
              "notification")


if __name__ == "__main__":
    main()
