"""Domain types check content, not just shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bookwright.export.markdown import to_markdown
from bookwright.jobs.novel.workflow import ready_order
from bookwright.model import BookSpec, Cast, Chapter, Manuscript, Outline, SceneList, Stage


def outline(*deps: list[int]) -> Outline:
    return Outline(
        chapters=[
            {"number": i + 1, "title": f"T{i}", "summary": "s", "depends_on": d}
            for i, d in enumerate(deps)
        ]
    )


def test_outline_dependencies_point_backwards_only() -> None:
    assert ready_order(outline([], [1], [1], [2, 3])) == [1, 2, 3, 4]
    assert ready_order(outline([], [], [2])) == [1, 2, 3]
    with pytest.raises(ValidationError, match="only depend on earlier"):
        outline([], [3], [])
    with pytest.raises(ValidationError, match=r"numbered 1\.\.2"):
        Outline(
            chapters=[
                {"number": 2, "title": "a", "summary": "s"},
                {"number": 1, "title": "b", "summary": "s"},
            ]
        )


def test_cast_names_must_be_distinct_and_fields_not_empty() -> None:
    person = {"name": "Mara Quill", "role": "protagonist", "description": "A keeper."}
    with pytest.raises(ValidationError, match="appears twice"):
        Cast(characters=[person, {**person, "name": "mara quill"}])
    with pytest.raises(ValidationError, match="must not be empty"):
        Cast(characters=[{**person, "description": "  "}])
    with pytest.raises(ValidationError, match="not JSON"):
        Cast(characters=[{**person, "description": '{"a": 1}'}])


def test_scene_list_numbering() -> None:
    with pytest.raises(ValidationError):
        SceneList(chapter=1, scenes=[{"number": 2, "summary": "x"}])


def test_spec_validation() -> None:
    spec = BookSpec(premise="A keeper and a bottle.", pause_at=["outline", "plan", "outline"])
    assert spec.pause_at == [Stage.plan, Stage.outline]
    for bad in (
        {"chapters": 0},
        {"pause_at": ["lunch"]},
        {"pause_at": ["chapters"]},
        {"premise": "short"},
        {"colour": "red"},
        {"temperature": 3},
    ):
        with pytest.raises(ValidationError):
            BookSpec.model_validate({"premise": "A keeper and a bottle.", **bad})


def test_markdown_manuscript_has_title_page_chapters_and_scene_breaks() -> None:
    book = Manuscript(
        title='The "Salt" Lantern',
        author="A. Writer",
        genre="mystery",
        chapters=[
            Chapter(number=1, title="Dawn", scenes=["One two.", "Three."]),
            Chapter(number=2, title="Dusk", scenes=["Four."]),
        ],
    )
    text = to_markdown(book)
    assert text.startswith('---\ntitle: "The \\"Salt\\" Lantern"\nauthor: "A. Writer"')
    assert '# The "Salt" Lantern' in text and "4 words" in text
    assert "## Chapter 1: Dawn\n\nOne two.\n\n* * *\n\nThree.\n" in text
    assert "## Chapter 2: Dusk\n\nFour.\n" in text
    assert "DRAFT" not in text
    assert "DRAFT" in to_markdown(book.model_copy(update={"draft": True}))
