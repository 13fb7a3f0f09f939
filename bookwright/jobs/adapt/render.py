"""The adaptation's files: the screenplay as Fountain, PDF, FDX (Final Draft) and HTML
through screenplain's own renderers, and the storyboard as an HTML page of panels, each
with a framing sketch drawn in code (SVG: a frame and the characters placed for the
shot; no image model), and as JSON."""

from __future__ import annotations

import io
import json
import tempfile
from html import escape
from pathlib import Path

from screenplain.parsers import fountain as parser

from bookwright.model.adapt import Storyboard

FILES = {
    "fountain": "screenplay.fountain",
    "pdf": "screenplay.pdf",
    "fdx": "screenplay.fdx",
    "html": "screenplay.html",
    "storyboard": "storyboard.html",
    "storyboard_json": "storyboard.json",
}


def title_page(title: str, author: str, source: str) -> str:
    return (
        f"Title: {title}\nCredit: Written by\nAuthor: {author or 'bookwright'}\n"
        f"Source: Based on {source}\n\n"
    )


def pdf_bytes(fountain: str) -> tuple[bytes, int]:
    """The screenplay PDF and its pages of script, the title page left out (a page of
    script is about a minute of film; the title page is none)."""
    import pypdfium2 as pdfium
    from screenplain.export.pdf import to_pdf

    screenplay = parser.parse(io.StringIO(fountain))
    with tempfile.TemporaryDirectory(prefix="bookwright-") as folder:
        path = Path(folder) / "screenplay.pdf"
        to_pdf(screenplay, str(path))
        data = path.read_bytes()
    pages = len(pdfium.PdfDocument(data))
    return data, max(1, pages - (1 if screenplay.title_page else 0))


def fdx(fountain: str) -> str:
    from screenplain.export.fdx import to_fdx

    out = io.StringIO()
    to_fdx(parser.parse(io.StringIO(fountain)), out)
    return out.getvalue()


def html(fountain: str) -> str:
    from screenplain.export.html import convert

    out = io.StringIO()
    convert(parser.parse(io.StringIO(fountain)), out)
    return out.getvalue()


def sketch(shot: str, characters: list[str]) -> str:
    """A framing sketch: the frame, the horizon, the characters as figures sized for the
    shot (small in a wide shot, a head and shoulders in a close-up)."""
    scale = {"WS": 0.35, "MS": 0.6, "OTS": 0.8, "CU": 1.0, "POV": 0.5, "INSERT": 0.5}[shot]
    people = characters or ([] if shot in ("WS", "INSERT") else ["?"])
    figures = []
    for index, name in enumerate(people[:4]):
        x = 160 / (len(people[:4]) + 1) * (index + 1)
        head = 14 * scale
        y = 90 - 60 * scale
        figures.append(
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{head:.0f}" fill="none" stroke="#333"/>'
            f'<rect x="{x - head:.0f}" y="{y + head:.0f}" width="{2 * head:.0f}" '
            f'height="{50 * scale:.0f}" fill="none" stroke="#333"/>'
            f'<text x="{x:.0f}" y="88" font-size="8" text-anchor="middle">'
            f"{escape(name[:10])}</text>"
        )
    horizon = '<line x1="0" y1="60" x2="160" y2="60" stroke="#bbb"/>' if shot == "WS" else ""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90" viewBox="0 0 160 90">'
        '<rect x="0.5" y="0.5" width="159" height="89" fill="#fafafa" stroke="#333"/>'
        f"{horizon}{''.join(figures)}"
        f'<text x="4" y="10" font-size="8">{shot}</text></svg>'
    )


def storyboard_html(board: Storyboard, title: str) -> str:
    cells = []
    for panel in board.panels:
        said = "".join(f"<p class=line>{escape(line)}</p>" for line in panel.dialogue)
        cells.append(
            f'<figure class="panel" data-scene="{panel.scene}">'
            f"{sketch(panel.shot, panel.characters)}"
            f"<figcaption><b>{panel.scene}.{panel.number} {panel.shot}</b> · "
            f"{escape(panel.camera)} · "
            f"{panel.seconds:g}s<p>{escape(panel.action)}</p>{said}</figcaption></figure>"
        )
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        f"<title>{escape(title)} · storyboard</title>"
        "<style>body{font-family:sans-serif}.grid{display:grid;"
        "grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}.panel{margin:0}"
        "figcaption{font-size:12px}.line{font-style:italic}</style>"
        f"<h1>{escape(title)}: storyboard</h1><div class=grid>{''.join(cells)}</div></html>\n"
    )


def storyboard_json(board: Storyboard) -> str:
    return json.dumps(board.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
