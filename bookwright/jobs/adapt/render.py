"""The adaptation's files: the screenplay as Fountain, PDF, FDX (Final Draft) and HTML
through screenplain's own renderers, and the storyboard as an HTML page of panels, each
with a framing sketch drawn in code (SVG: a frame and the characters placed for the
shot; no image model), as a PDF of the same panels in a grid, and as JSON."""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from screenplain.parsers import fountain as parser

from bookwright.model.adapt import Panel, Storyboard

FILES = {
    "fountain": "screenplay.fountain",
    "pdf": "screenplay.pdf",
    "fdx": "screenplay.fdx",
    "html": "screenplay.html",
    "storyboard": "storyboard.html",
    "storyboard_json": "storyboard.json",
    "storyboard_pdf": "storyboard.pdf",
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


SKETCH_W, SKETCH_H = 160, 90  # a 16:9 frame; the SVG's and the PDF's sketch alike
SCALE = {"WS": 0.35, "MS": 0.6, "OTS": 0.8, "CU": 1.0, "POV": 0.5, "INSERT": 0.5}


@dataclass(frozen=True)
class Figure:
    """One character in the frame: a head (circle) on a body (rectangle), y downwards."""

    name: str
    x: float
    y: float  # the head's centre
    head: float  # its radius
    body: float  # the body's height


def figures(shot: str, characters: list[str]) -> list[Figure]:
    """The characters placed for the shot: small in a wide shot, a head and shoulders in a
    close-up; side by side, at most four (an empty frame for a wide shot or an insert)."""
    scale = SCALE[shot]
    people = characters or ([] if shot in ("WS", "INSERT") else ["?"])
    placed = people[:4]
    return [
        Figure(
            name=name[:10],
            x=SKETCH_W / (len(placed) + 1) * (index + 1),
            y=SKETCH_H - 60 * scale,
            head=14 * scale,
            body=50 * scale,
        )
        for index, name in enumerate(placed)
    ]


def sketch(shot: str, characters: list[str]) -> str:
    """A framing sketch: the frame, the horizon, the characters as figures sized for the
    shot (small in a wide shot, a head and shoulders in a close-up)."""
    shapes = [
        f'<circle cx="{f.x:.0f}" cy="{f.y:.0f}" r="{f.head:.0f}" fill="none" stroke="#333"/>'
        f'<rect x="{f.x - f.head:.0f}" y="{f.y + f.head:.0f}" width="{2 * f.head:.0f}" '
        f'height="{f.body:.0f}" fill="none" stroke="#333"/>'
        f'<text x="{f.x:.0f}" y="88" font-size="8" text-anchor="middle">'
        f"{escape(f.name)}</text>"
        for f in figures(shot, characters)
    ]
    horizon = '<line x1="0" y1="60" x2="160" y2="60" stroke="#bbb"/>' if shot == "WS" else ""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90" viewBox="0 0 160 90">'
        '<rect x="0.5" y="0.5" width="159" height="89" fill="#fafafa" stroke="#333"/>'
        f"{horizon}{''.join(shapes)}"
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


# The storyboard PDF: landscape A4, a grid of COLUMNS x ROWS panels a page.
COLUMNS, ROWS = 3, 2
MARGIN, GAP = 36.0, 18.0


def storyboard_pdf(board: Storyboard, title: str) -> tuple[bytes, int]:
    """The storyboard as a PDF and its page count: a grid of panels, each the framing
    sketch drawn in code, then the shot, the camera and the duration, the action and the
    dialogue (cut to fit its cell; the HTML and JSON keep every word)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(out, pagesize=(width, height), invariant=1)  # same board, same bytes
    canvas.setTitle(f"{title}: storyboard")
    canvas.setCreator("bookwright")
    cell_w = (width - 2 * MARGIN - (COLUMNS - 1) * GAP) / COLUMNS
    cell_h = (height - 2 * MARGIN - 24 - (ROWS - 1) * GAP) / ROWS
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(board.panels) // per_page))
    for page in range(pages):
        canvas.setFont("Helvetica-Bold", 12)
        canvas.drawString(MARGIN, height - MARGIN, _latin(f"{title}: storyboard"))
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(width - MARGIN, height - MARGIN, f"page {page + 1} of {pages}")
        for index, panel in enumerate(board.panels[page * per_page : (page + 1) * per_page]):
            column, row = index % COLUMNS, index // COLUMNS
            x = MARGIN + column * (cell_w + GAP)
            top = height - MARGIN - 24 - row * (cell_h + GAP)
            _pdf_panel(canvas, panel, x, top, cell_w, cell_h)
        canvas.showPage()
    canvas.save()
    return out.getvalue(), pages


def _pdf_panel(canvas: Any, panel: Panel, x: float, top: float, w: float, h: float) -> None:
    from reportlab.lib.utils import simpleSplit

    scale = w / SKETCH_W
    frame_h = SKETCH_H * scale
    bottom = top - frame_h

    def at(fx: float, fy: float) -> tuple[float, float]:  # the sketch's y runs downwards
        return x + fx * scale, top - fy * scale

    canvas.setStrokeGray(0.2)
    canvas.setFillGray(0.98)
    canvas.rect(x, bottom, w, frame_h, stroke=1, fill=1)
    canvas.setFillGray(0.1)
    canvas.saveState()
    frame = canvas.beginPath()
    frame.rect(x, bottom, w, frame_h)
    canvas.clipPath(frame, stroke=0, fill=0)  # a close-up's shoulders leave the frame
    if panel.shot == "WS":
        canvas.setStrokeGray(0.7)
        canvas.line(*at(0, 60), *at(SKETCH_W, 60))
        canvas.setStrokeGray(0.2)
    for figure in figures(panel.shot, panel.characters):
        cx, cy = at(figure.x, figure.y)
        canvas.circle(cx, cy, figure.head * scale, stroke=1, fill=0)
        left, body_top = at(figure.x - figure.head, figure.y + figure.head)
        body = figure.body * scale
        canvas.rect(left, body_top - body, 2 * figure.head * scale, body, stroke=1, fill=0)
        canvas.setFont("Helvetica", 7)
        canvas.drawCentredString(cx, bottom + 3, _latin(figure.name))
    canvas.restoreState()
    canvas.setFont("Helvetica-Bold", 8)
    canvas.drawString(x + 4, top - 10, panel.shot)
    y = bottom - 12
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(
        x,
        y,
        _latin(f"{panel.scene}.{panel.number} {panel.shot} · {panel.camera} · ")
        + f"{panel.seconds:g}s",
    )
    lines = [
        ("Helvetica", 8, line) for line in simpleSplit(_latin(panel.action), "Helvetica", 8, w)
    ]
    for said in panel.dialogue:
        lines += [
            ("Helvetica-Oblique", 8, line)
            for line in simpleSplit(_latin(said), "Helvetica-Oblique", 8, w)
        ]
    room = int((y - (top - h)) // 10) - 1
    if len(lines) > room:
        lines = [*lines[: max(0, room - 1)], ("Helvetica", 8, "...")]
    for font, size, line in lines:
        y -= 10
        canvas.setFont(font, size)
        canvas.drawString(x, y, line)


def _latin(text: str) -> str:
    """Text the PDF's standard fonts can draw (cp1252); other characters as '?'."""
    return text.encode("cp1252", "replace").decode("cp1252")
