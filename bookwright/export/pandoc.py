"""EPUB 3 and DOCX through pandoc (the binary shipped in the pypandoc-binary wheel).

The Markdown given to pandoc differs from the `md` export on purpose: chapters are
level-1 headings (one EPUB section and one TOC entry each), the title page comes from
metadata rather than a `# title` heading, and metadata travels in a JSON file whose values
are escaped Markdown (`-M` would turn a book titled "True" into a boolean).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from bookwright.errors import BookwrightError
from bookwright.export.files import atomic_target
from bookwright.export.markdown import SCENE_BREAK
from bookwright.model import Manuscript

PANDOC_FORMATS = {"epub": "epub3", "docx": "docx"}

# Prose is prose: raw HTML/TeX, $math$ and a YAML block in a model's text stay literal text.
READER = "markdown" + "".join(
    f"-{ext}"
    for ext in (
        "raw_html",
        "raw_tex",
        "raw_attribute",
        "tex_math_dollars",
        "yaml_metadata_block",
        "citations",
    )
)
DRAFT_NOTE = "DRAFT: this book is not finished; chapters may be missing"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def to_pandoc_markdown(book: Manuscript) -> str:
    """The manuscript as pandoc input: one `#` section per chapter, `* * *` between scenes."""
    lines: list[str] = []
    for chapter in book.chapters:
        lines += [f"# Chapter {chapter.number}: {_inline(chapter.title)}", ""]
        for index, scene in enumerate(chapter.scenes):
            if index:
                lines += [SCENE_BREAK, ""]
            lines += [_body(scene), ""]
    return "\n".join(lines).rstrip() + "\n"


def metadata(book: Manuscript, date: str) -> dict[str, str]:
    """Title, author, language and date, escaped so pandoc reads them as plain text."""
    meta = {
        "title": _escape(book.title),
        "author": _escape(book.author or "bookwright"),
        "lang": book.language if _LANGUAGE.match(book.language) else "und",
        "date": _escape(date),
    }
    if book.draft:
        meta["subtitle"] = _escape(DRAFT_NOTE)
    return meta


def write_pandoc(book: Manuscript, fmt: str, path: Path, date: str) -> Path:
    """Convert the manuscript to `fmt` (epub or docx) at `path`, atomically."""
    import pypandoc  # the wheel is large; only exports that need it pay for the import

    with tempfile.TemporaryDirectory(prefix="bookwright-") as folder, atomic_target(path) as tmp:
        meta_file = Path(folder) / "metadata.json"
        meta_file.write_text(json.dumps(metadata(book, date)), encoding="utf-8")
        args = ["--standalone", "--toc", "--toc-depth=1", f"--metadata-file={meta_file}"]
        if fmt == "epub":
            args.append("--split-level=1")
        try:
            pypandoc.convert_text(
                to_pandoc_markdown(book),
                PANDOC_FORMATS[fmt],
                format=READER,
                outputfile=str(tmp),
                extra_args=args,
                sandbox=True,
            )
        except (RuntimeError, OSError) as exc:
            raise BookwrightError(
                f"pandoc could not write {fmt}: {str(exc).strip()[:300]}",
                "Export --format md still works; report this with the book's id",
            ) from None
    return path


def _escape(text: str) -> str:
    """Backslash before every ASCII punctuation mark: pandoc then reads the text literally."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def _inline(text: str) -> str:
    """A heading holds one line of literal text."""
    return _escape(" ".join(text.split()))


def _body(scene: str) -> str:
    """Keep a model's `# ...` line as text, not a new chapter in the TOC."""
    return re.sub(r"^(\s{0,3})(#)", r"\1\\\2", scene.strip(), flags=re.MULTILINE)
