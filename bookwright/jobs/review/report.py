"""The review report: Markdown for the author, JSON for tools, and SVG charts (scores per
dimension, each chapter's score, the pacing curve, who appears where) drawn in code:
plain SVG needs no plotting library and opens in any browser or editor."""

from __future__ import annotations

import json
from html import escape
from typing import Any

REPORT_FILES = {"md": "review.md", "json": "review.json"}
CHART_FILES = [
    "review-scores.svg",
    "review-chapters.svg",
    "review-pacing.svg",
    "review-cast.svg",
    "review-revision.svg",  # with --revise
]


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _where(finding: dict[str, Any]) -> str:
    parts = []
    for key in ("chapter", "scene", "paragraph"):
        if finding.get(key) is not None:
            parts.append(f"{key} {finding[key]}")
    return ", ".join(parts) or "the whole book"


def report_markdown(report: dict[str, Any]) -> str:
    scores = report["scores"]
    lines = [
        f"# Review of {report['title']}",
        "",
        f"{report['words']} words in {report['chapters']} chapters, "
        f"from `{report['source_file']}`.",
        "",
        f"**Overall: {scores['overall']['score']}/10** "
        f"from {scores['overall']['findings']} findings.",
        "",
        "| Dimension | Score | Findings |",
        "|---|---|---|",
    ]
    for name, value in scores.items():
        if name != "overall":
            lines.append(f"| {name} | {value['score']} | {value['findings']} |")
    lines += ["", "![Scores](review-scores.svg) ![Chapters](review-chapters.svg)", ""]
    lines += _revision_lines(report.get("revision"))
    lines += ["## What to do first", ""]
    if not report["findings"]:
        lines.append("Nothing was found.")
    for f in report["findings"]:
        lines.append(
            f"{f['id']}. **{f['severity']}** · {f['category']} · {_where(f)} "
            f"({', '.join(f['nodes'])}): {f['problem']}"
        )
        if f.get("quote"):
            lines.append(f"   > {f['quote']}")
        if f.get("fix"):
            lines.append(f"   Fix: {f['fix']}")
    if report["struck"]:
        lines += ["", f"Struck by the author ({len(report['struck'])}): "]
        lines += [f"- ~~{f['id']}: {f['problem']}~~" for f in report["struck"]]
    lines += [
        "",
        "## Pacing",
        "",
        "![Pacing](review-pacing.svg)",
        "",
        "| Chapter | Words | Target | Sentence mean | Sentence spread | Dialogue | Reading ease |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report["measures"].get("metrics", {}).get("chapters", []):
        lines.append(
            f"| {c['chapter']} | {c['words']} | {c['target']} | {c['sentence_mean']} | "
            f"{c['sentence_stdev']} | {100 * c['dialogue_share']:.0f}% | {c['reading_ease']} |"
        )
    cast = report["measures"].get("names", {}).get("cast", {})
    if cast:
        lines += ["", "## Who appears where", "", "![Cast](review-cast.svg)", ""]
        lines += [
            f"- {name}: chapters {', '.join(map(str, where))}" for name, where in cast.items()
        ]
    lines += ["", "## How the analysis ran", "", "| Node | Needs | Seconds | Asks | Findings |"]
    lines.append("|---|---|---|---|---|")
    for run in report["nodes"]:
        cached = " (kept)" if run.get("cached") else ""
        lines.append(
            f"| {run['name']}{cached} | {', '.join(run['needs']) or '-'} | {run['seconds']} | "
            f"{run['asks']} | {run['findings']} |"
        )
    path = report["critical_path"]
    lines += [
        "",
        f"Critical path: {' → '.join(path['nodes'])} ({path['seconds']} s of "
        f"{report['wall_seconds']} s in all).",
        "",
    ]
    return "\n".join(lines)


def _revision_lines(revision: dict[str, Any] | None) -> list[str]:
    """What `--revise` did: each version's score and length, what changed, why it stopped."""
    if not revision:
        return []
    growth = 100 * revision["growth"]
    lines = [
        "## Revision",
        "",
        f"Stopped because {revision['stopped']}. Kept version {revision['best']} "
        f"(0 is the manuscript as it came): {revision['words_start']} words at the start, "
        f"{revision['words_end']} at the end ({growth:+.1f}%"
        + (
            f", more than the {100 * revision['max_growth']:.0f}% allowed per passage"
            if abs(growth) > 100 * revision["max_growth"]
            else ""
        )
        + ").",
        "",
        "![Revision](review-revision.svg)",
        "",
        "| Version | Overall | Findings | Words | Passages revised | Asks |",
        "|---|---|---|---|---|---|",
    ]
    for it in revision["iterations"]:
        changed = sum(1 for c in it["changes"] if c["changed"])
        lines.append(
            f"| {it['iteration']} | {it['score']} | {it['findings']} | {it['words']} | "
            f"{changed} of {len(it['changes'])} | {it['asks']} |"
        )
    for it in revision["iterations"]:
        for c in it["changes"]:
            where = f"chapter {c['chapter']}, scene {c['scene']}, paragraphs "
            where += "{}-{}".format(*c["paragraphs"])
            said = "" if c["changed"] else " (no acceptable revision; kept as it was)"
            extra = f"; {c['note']}" if c.get("note") else ""
            lines.append(f"- Version {it['iteration']}: {c['level']} of {where}{said}{extra}")
    if revision["left"]:
        lines += ["", "Left for the author:", ""]
        lines += [f"- {item}" for item in revision["left"]]
    return [*lines, ""]


def _bars(title: str, items: list[tuple[str, float]], top: float) -> str:
    width, row = 520, 22
    height = 40 + row * len(items)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = 32 + index * row
        bar = 0 if top <= 0 else max(0.0, value) / top * 330
        out += [
            f'<text x="10" y="{y + 14}">{escape(label[:18])}</text>',
            f'<rect x="140" y="{y}" width="{bar:.1f}" height="16" fill="#4a7ab5"/>',
            f'<text x="{146 + bar:.1f}" y="{y + 13}">{value:g}</text>',
        ]
    return "\n".join([*out, "</svg>"]) + "\n"


def _curve(title: str, series: dict[str, list[float]], top: float | None = None) -> str:
    """Lines across the book (or the versions): on one 0-`top` scale, or without `top`
    each line scaled to its own maximum."""
    width, height, left, bottom = 560, 260, 40, 200
    colours = ["#4a7ab5", "#c0504d", "#9bbb59", "#222222", "#8064a2", "#f79646", "#4bacc6"]
    scaled = "" if top else " (each line scaled to its maximum)"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="10" y="18" font-weight="bold">{escape(title)}{scaled}</text>',
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#888"/>',
    ]
    for index, (name, values) in enumerate(series.items()):
        high = top or max(values, default=0) or 1
        step = (width - left - 20) / max(1, len(values) - 1)
        points = " ".join(
            f"{left + i * step:.1f},{bottom - v / high * 160:.1f}" for i, v in enumerate(values)
        )
        colour = colours[index % len(colours)]
        out += [
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>',
            f'<text x="{left + 75 * (index % 7)}" y="{bottom + 25 + 15 * (index // 7)}" '
            f'fill="{colour}">{escape(name)}</text>',
        ]
    return "\n".join([*out, "</svg>"]) + "\n"


def _cast(cast: dict[str, list[int]], chapters: int) -> str:
    names = list(cast)[:15]
    cell = 18
    width, height = 150 + cell * chapters + 10, 40 + cell * len(names)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        '<text x="10" y="18" font-weight="bold">Who appears in which chapter</text>',
    ]
    for row, name in enumerate(names):
        y = 28 + row * cell
        out.append(f'<text x="10" y="{y + 13}">{escape(name[:18])}</text>')
        for number in cast[name]:
            x = 150 + (number - 1) * cell
            out.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#4a7ab5"/>'
            )
    return "\n".join([*out, "</svg>"]) + "\n"


def svg_charts(report: dict[str, Any]) -> dict[str, str]:
    scores = [(n, float(v["score"])) for n, v in report["scores"].items() if n != "overall"]
    chapters = [(f"chapter {n}", float(s)) for n, s in report["chapter_scores"].items()]
    metrics = report["measures"].get("metrics", {}).get("chapters", [])
    pacing = {
        "sentence length": [float(c["sentence_mean"]) for c in metrics],
        "dialogue share": [float(c["dialogue_share"]) for c in metrics],
        "chapter length": [float(c["words"]) for c in metrics],
    }
    cast = report["measures"].get("names", {}).get("cast", {})
    charts = {
        "review-scores.svg": _bars("Score per dimension (0-10)", scores, 10),
        "review-chapters.svg": _bars("Score per chapter (0-10)", chapters, 10),
        "review-pacing.svg": _curve("Pacing across the book", pacing),
        "review-cast.svg": _cast(cast, int(report["chapters"])),
    }
    revision = report.get("revision")
    if revision:
        series = {"overall": [float(it["score"]) for it in revision["iterations"]]}
        for name in revision["iterations"][0]["dimensions"]:
            series[name] = [float(it["dimensions"].get(name, 0)) for it in revision["iterations"]]
        charts["review-revision.svg"] = _curve("Score per version (0-10)", series, 10)
    return charts
