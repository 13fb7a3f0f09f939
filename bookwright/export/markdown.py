"""One Markdown manuscript: title page, chapter headings, scene breaks."""

from __future__ import annotations

from bookwright.model import Manuscript

SCENE_BREAK = "* * *"


def to_markdown(book: Manuscript) -> str:
    lines = [
        "---",
        f"title: {_yaml_quote(book.title)}",
        f"author: {_yaml_quote(book.author)}",
        f"lang: {book.language}",
        "---",
        "",
        f"# {book.title}",
        "",
        f"*{book.genre}* · {book.word_count} words",
        "",
    ]
    if book.draft:
        lines += ["> **DRAFT** — this book is not finished; chapters may be missing.", ""]
    for chapter in book.chapters:
        lines += [f"## Chapter {chapter.number}: {chapter.title}", ""]
        for index, scene in enumerate(chapter.scenes):
            if index:
                lines += ["", SCENE_BREAK, ""]
            lines.append(scene.strip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _yaml_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
