"""The `review` job: a manuscript read and split, the deterministic nodes finding the
defects planted in the fixture, the graph's order and cycle refusal, model answers read
with their quotes checked, findings merged and ranked, and a whole review in process
(scripted model): a halt at `findings`, a struck finding, the report and its charts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from pydantic import ValidationError

from bookwright.cli_review import start_review
from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.errors import InvalidArtifact, UsageError
from bookwright.jobs.review.analysis import (
    critical_path,
    graph,
    groups,
    merge_and_rank,
    parse_review,
    passages,
)
from bookwright.jobs.review.metrics import MEASURES
from bookwright.jobs.review.reader import read_manuscript, split_text
from bookwright.model import Findings
from bookwright.settings import ReviewSettings, Settings
from tests.scripted_model import scripted_model

FIXTURE = Path(__file__).parent / "fixtures" / "review" / "salt_lantern.md"
# What the fixture plants, by node and chapter: every one must be found, nothing else.
PLANTED = {
    ("metrics", 5),  # a chapter far under the others
    ("repetition", 6),  # a paragraph repeated from chapter 2
    ("repetition", 8),  # a run of stock phrases
    ("names", 4),  # Tobias vanishes after chapter 4
    ("continuity", 7),  # Mara's grey eyes turn blue
    ("pov", 9),  # chapter 9 in the first person
}
MECHANICAL = ["metrics", "repetition", "names", "pov", "continuity"]


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


def run_measures(text_file: Path = FIXTURE, target: int | None = None) -> list[dict]:
    book = read_manuscript(text_file).manuscript
    results: dict[str, dict] = {}
    for group in groups(graph(ReviewSettings(), MECHANICAL)):
        for name in group:
            results[name] = MEASURES[name](book, target, results)
    return [f for r in results.values() for f in r["findings"]]


def test_the_fixture_is_split_by_its_headings_and_scene_breaks() -> None:
    read = read_manuscript(FIXTURE)
    book = read.manuscript
    assert book.title == "The Salt Lantern" and read.split_by == "headings"
    assert len(book.chapters) == 11
    assert book.chapters[0].title == "The Keeper" and len(book.chapters[0].scenes) == 2
    # The prose is untouched: every paragraph of the file is in the manuscript, in order.
    body = FIXTURE.read_text(encoding="utf-8").split("## Chapter 1: The Keeper", 1)[1]
    paragraphs = [
        p.strip()
        for p in body.split("\n\n")
        if p.strip() and not p.startswith("##") and p.strip() != "* * *"
    ]
    kept = [p for c in book.chapters for s in c.scenes for p in s.split("\n\n")]
    assert kept == paragraphs


def test_a_plain_text_book_with_a_contents_list_and_licence_is_split_by_chapter_lines() -> None:
    chapter = "It was a dark night on the moor and the wind was high over the hills. " * 8
    text = (
        "The Project Gutenberg eBook of Moor Tales\n\nTitle: Moor Tales\nAuthor: A. Writer\n\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK MOOR TALES ***\n\nCONTENTS\n\n"
        "CHAPTER I. The Moor\n\nCHAPTER II. The Inn\n\n"
        f"CHAPTER I. The Moor\n\n{chapter}\n\n\n"
        f"CHAPTER II. The Inn\n\n{chapter}\n\n*\u00a0*\u00a0*\n\n{chapter}\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK MOOR TALES ***\n\nLicence text " * 1
    )
    read = split_text(text, stem="moor")
    book = read.manuscript
    assert read.split_by == "chapter lines"
    assert [c.title for c in book.chapters] == ["The Moor", "The Inn"]
    assert book.title == "Moor Tales" and book.author == "A. Writer"
    assert "Licence" not in book.chapters[-1].scenes[-1]
    assert any("contents" in n for n in read.notes)
    # a contents list set solid, one entry a line, as many Gutenberg texts have it
    solid = text.replace(
        "CHAPTER I. The Moor\n\nCHAPTER II. The Inn\n\n",
        "CHAPTER I. The Moor\nCHAPTER II. The Inn\nCHAPTER III. The Road\n\n",
        1,
    )
    assert [c.title for c in split_text(solid, stem="moor").manuscript.chapters] == [
        "The Moor",
        "The Inn",
    ]


def test_a_docx_is_read_through_pandoc(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for number in (1, 2):
        document.add_heading(f"Chapter {number}", level=1)
        document.add_paragraph("The lamp burned all night above the harbour wall. " * 10)
    path = tmp_path / "draft.docx"
    document.save(str(path))
    book = read_manuscript(path).manuscript
    assert [c.title for c in book.chapters] == ["Chapter 1", "Chapter 2"]
    assert book.chapters[1].word_count == 90


def test_what_cannot_be_reviewed_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_manuscript(tmp_path / "missing.md")
    with pytest.raises(UsageError, match="a review reads"):
        read_manuscript(tmp_path / "book.pages")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 100)
    with pytest.raises(InvalidArtifact, match="not UTF-8"):
        read_manuscript(tmp_path / "latin1.txt")
    (tmp_path / "note.md").write_text("# Ideas\n\nA lighthouse. A diary.\n", encoding="utf-8")
    with pytest.raises(InvalidArtifact, match="a review needs at least 50"):
        read_manuscript(tmp_path / "note.md")
    (tmp_path / "broken.docx").write_bytes(b"not a zip file at all")
    with pytest.raises(InvalidArtifact, match="could not be read as docx"):
        read_manuscript(tmp_path / "broken.docx")


def test_the_checks_that_need_no_model_find_every_planted_defect_and_nothing_else() -> None:
    found = run_measures()
    assert {(f["node"], f["chapter"]) for f in found} == PLANTED
    colour = next(f for f in found if f["node"] == "continuity")
    assert "blue" in colour["problem"] and "grey in chapter 1" in colour["problem"]
    assert colour["quote"] in FIXTURE.read_text(encoding="utf-8")


def test_a_target_length_flags_the_short_book_and_the_short_chapter() -> None:
    found = run_measures(target=11 * 400)
    lengths = [f for f in found if f["node"] == "metrics"]
    assert any("for a target of 4400" in f["problem"] for f in lengths)
    assert {f.get("chapter") for f in lengths} >= {5}


def test_the_graph_runs_needs_first_and_refuses_a_cycle_naming_it() -> None:
    nodes = graph(ReviewSettings())
    order = [n for group in groups(nodes) for n in group]
    for name, node in nodes.items():
        assert all(order.index(need) < order.index(name) for need in node.needs)
    assert set(groups(nodes)[0]) == {"metrics", "repetition", "names", "pov"}
    path, seconds = critical_path(nodes, {"metrics": 1, "structure": 5, "theme": 2, "names": 3})
    assert path == ["metrics", "structure", "theme"] and seconds == 8
    custom = ReviewSettings(nodes={"ending": {"prompt": "the ending's payoff", "needs": ["theme"]}})
    assert "ending" in graph(custom) and groups(graph(custom))[-1] == ["ending"]
    with pytest.raises(ValidationError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        ReviewSettings(
            nodes={
                "a": {"prompt": "first custom node", "needs": ["b"]},
                "b": {"prompt": "second custom node", "needs": ["a"]},
            }
        )
    with pytest.raises(ValidationError, match="needs 'nowhere'"):
        ReviewSettings(nodes={"a": {"prompt": "first custom node", "needs": ["nowhere"]}})


def test_a_model_answer_keeps_real_quotes_and_drops_invented_ones() -> None:
    text = "Mara climbed the tower stairs with the oil can. The beam swung out over the reef."
    reading = parse_review(
        '1. major | "climbed the tower stairs" | nothing happens here | cut to the storm\n'
        '- critical | "a quote nobody wrote" | invented | none\n'
        'minor | "The beam swung out" | flat verb, fix: show the light\n'
        "An aside with no quote at all",
        text,
    )
    assert [p["quote"] for p in reading.problems] == [
        "climbed the tower stairs",
        "The beam swung out",
    ]
    assert reading.problems[0] == {
        "severity": "major",
        "quote": "climbed the tower stairs",
        "problem": "nothing happens here",
        "fix": "cut to the storm",
    }
    assert reading.problems[1]["fix"] == "show the light"
    assert len(reading.dropped) == 2
    assert parse_review(reading.canonical(), text).problems == reading.problems
    assert parse_review("NONE", text).usable and not parse_review("", text).usable


def test_findings_about_one_passage_are_merged_and_ranked_by_severity_and_nodes() -> None:
    found = [
        {"node": "style", "category": "style", "severity": "minor", "chapter": 2,
         "quote": "the sea was grey", "problem": "flat"},
        {"node": "pacing", "category": "pacing", "severity": "major", "chapter": 1,
         "quote": "she waited and waited", "problem": "drags"},
        {"node": "structure", "category": "structure", "severity": "minor", "chapter": 2,
         "quote": "The sea was grey.", "problem": "no turn"},
        {"node": "names", "category": "characters", "severity": "critical", "chapter": 3,
         "problem": "Tobias vanishes"},
    ]  # fmt: skip
    ranked = merge_and_rank(found, {"style": "style", "pacing": "pacing"})
    assert [f.problem.split(";")[0] for f in ranked] == ["Tobias vanishes", "drags", "flat"]
    merged = ranked[-1]
    assert merged.nodes == ["style", "structure"] and "structure: no turn" in merged.problem
    assert [f.id for f in ranked] == ["F1", "F2", "F3"]


def test_a_passage_is_bounded_and_cut_at_paragraph_ends() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 48 for i in range(10))
    pieces = passages(text, 120)
    assert all(len(p.split()) <= 120 for p in pieces) and len(pieces) == 5
    assert "\n\n".join(pieces) == text


def _reply(prompt: str) -> str:
    """A model node's answer: one real quote from the passage and one invented."""
    if "List the problems of this passage" not in prompt:
        return "NONE"
    passage = prompt.split("a passage:\n", 1)[1].split("\n\nList the problems", 1)[0]
    words = re.sub(r"[\"“”]", "", passage).split()[:5]
    return (
        f'major | "{" ".join(words)}" | the opening is slow | start with the action\n'
        'critical | "words that are in no chapter" | invented | none'
    )


def test_a_review_halts_at_its_findings_and_the_report_leaves_out_struck_ones(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    options = {
        "title": None,
        "genre": "mystery",
        "target_words": None,
        "themes": ["memory"],
        "audience": "",
        "model": "fn:x",
        "seed": 1,
        "nodes": [*MECHANICAL, "pacing"],
        "pause_at": ["findings"],
    }
    with scripted_model(_reply) as prompts:
        review_id, summary = start_review(books, str(FIXTURE), options, "r")
        assert "11 chapters, 16 scenes" in summary
        report = run_book(settings, review_id)
        assert report.status.value == "halted" and report.halted_at == "findings"
        findings = Findings.model_validate(books.store.get_artifact("r", "findings")[1])
        paced = [f for f in findings.findings if "pacing" in f.nodes]
        assert len(paced) == 11  # one per chapter: each real quote kept, each invented dropped
        assert all(f.quote and f.scene == 1 and f.paragraph == 1 for f in paced)
        struck = findings.findings[0].model_copy(update={"struck": True})
        edited = Findings(findings=[struck, *findings.findings[1:]])
        edit_file = tmp_path / "findings.json"
        edit_file.write_text(edited.model_dump_json(), encoding="utf-8")
        report = run_book(settings, "r", approve=True, edit=books.read_edit("r", edit_file))
    assert report.status.value == "completed" and report.job == "review"
    assert all(len(p) < 6000 for p in prompts)  # a passage at a time, never the book
    folder = settings.book_dir("r")
    data = json.loads((folder / "review.json").read_text(encoding="utf-8"))
    assert [f["id"] for f in data["struck"]] == [struck.id]
    assert struck.id not in {f["id"] for f in data["findings"]}
    assert set(data["scores"]) == {"characters", "pacing", "style", "continuity", "overall"}
    runs = {r["name"]: r for r in data["nodes"]}
    assert runs["pacing"]["asks"] == 11 and runs["pacing"]["needs"] == ["metrics"]
    assert data["critical_path"]["nodes"][-1] in runs
    markdown = (folder / "review.md").read_text(encoding="utf-8")
    assert "Chapter 5 has 40 words" in markdown and f"~~{struck.id}" in markdown
    for chart in ("review-scores.svg", "review-pacing.svg", "review-cast.svg"):
        assert (folder / chart).read_text(encoding="utf-8").startswith("<svg")


def test_titles_on_the_line_after_numerals_and_parts_are_read_as_authors_write_them() -> None:
    para = "Alice was beginning to get very tired of sitting by her sister on the bank. " * 6
    classic = (
        "CONTENTS\n\n CHAPTER I.     Down the Rabbit-Hole\n CHAPTER II.    The Pool of Tears\n\n\n"
        f"CHAPTER I.\nDown the Rabbit-Hole\n\n{para}\n\n{para}\n\nCHAPTER II.\nThe Pool of Tears"
        f"\n\n{para}\n"
    )
    book = split_text(classic).manuscript
    assert [c.title for c in book.chapters] == ["Down the Rabbit-Hole", "The Pool of Tears"]
    assert book.chapters[0].scenes == [f"{para.strip()}\n\n{para.strip()}"]
    numbered = split_text("\n\n".join(f"{n}\n\n{para}" for n in ("I.", "II.", "III.")))
    assert numbered.split_by == "numbered lines" and len(numbered.manuscript.chapters) == 3
    parts = split_text(
        f"# Part One\n\n## Chapter 1\n\n{para}\n\n## Chapter 2\n\n{para}\n\n"
        f"# Part Two\n\n## Chapter 3\n\n{para}"
    ).manuscript
    assert [c.title for c in parts.chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert all("Part" not in s for c in parts.chapters for s in c.scenes)


def test_the_dashboard_and_the_api_show_a_finished_review(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bookwright.web.app import create_app

    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    options = {
        "title": "Salt",
        "genre": "",
        "target_words": None,
        "themes": [],
        "audience": "",
        "model": "local",  # recorded, never called: every node here needs no model
        "seed": 1,
        "nodes": MECHANICAL,
        "pause_at": [],
    }
    start_review(books, str(FIXTURE), options, "plain")
    assert run_book(settings, "plain").status.value == "completed"
    DBOS.destroy()
    assert books.store.requests("plain") == []
    with pytest.raises(UsageError, match="is a review, whose chapters are not retried"):
        books.check_retry("plain", 1, "edit")
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        page = client.get("/books/plain")
        assert page.status_code == 200 and page.text.count("<svg") == 4
        assert "Tobias appears in chapters 1-4" in page.text
        status = client.get("/api/books/plain").json()
        assert status["job"] == "review" and status["status"] == "completed"
        findings = client.get("/api/books/plain/artifacts/findings").json()
        assert {(f["node"], f["chapter"]) for f in findings["findings"]} == PLANTED


def _reef_node(prompt: str) -> str:
    """A model node that finds fault with every paragraph naming the reef, and with each
    "murk" a bad revision put in."""
    passage = prompt.split("a passage:\n", 1)[1].split("\n\nList the problems", 1)[0]
    lines = []
    for paragraph in passage.split("\n\n"):
        words = paragraph.split()
        reefs = [i for i, w in enumerate(words) if w.strip('.,;"“”').casefold() == "reef"]
        murks = [i for i, w in enumerate(words) if w.startswith("murk")]
        for i in reefs[:1] + murks:
            quote = " ".join(words[max(0, i - 2) : i + 1]).strip('"“”')
            lines.append(f'minor | "{quote}" | {words[i]} is named again | name it once')
    return "\n".join(lines) or "NONE"


def _draft(prompt: str) -> str:
    return prompt.split("Answer with the passage only.\n\n", 1)[1]


def _reviser(fix: bool):  # type: ignore[no-untyped-def]
    """Node answers as above; a revision takes the reef out (or, not `fix`, makes it
    worse: one more finding each time)."""
    worse = iter(range(1, 100))

    def reply(prompt: str) -> str:
        if "List the problems of this passage" in prompt:
            return _reef_node(prompt)
        draft = _draft(prompt)
        if fix:
            return re.sub(r"\breef\b", "rock", draft)
        return re.sub(r"\bthe\b", f"the murk{next(worse)}", draft, count=1)

    return reply


def _revise_options(**changes: object) -> dict:
    return {
        "title": None,
        "genre": "mystery",
        "target_words": None,
        "themes": [],
        "audience": "",
        "model": "fn:x",
        "seed": 1,
        "nodes": ["metrics", "pacing"],
        "pause_at": [],
        "revise": True,
        "max_iterations": 3,
        "threshold": 10.0,
        **changes,
    }


def _reef_paragraphs(book: dict) -> list[tuple[int, int, int]]:
    return [
        (c, s, p)
        for c, chapter in enumerate(book["chapters"], start=1)
        for s, scene in enumerate(chapter["scenes"], start=1)
        for p, paragraph in enumerate(scene.split("\n\n"), start=1)
        if re.search(r"\breef\b", paragraph)
    ]


def test_revise_changes_only_the_passages_found_and_asks_again_only_about_them(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home", review=ReviewSettings(passages_per_iteration=2))
    books = Books(settings)
    original = read_manuscript(FIXTURE).manuscript.model_dump(mode="json")
    assert len(_reef_paragraphs(original)) == 4
    with scripted_model(_reviser(fix=True)):
        start_review(books, str(FIXTURE), _revise_options(), "rv")
        assert run_book(settings, "rv").status.value == "completed"
    final = books.store.get_artifact("rv", "manuscript")[1]
    assert _reef_paragraphs(final) == []
    # Everything the findings did not point at is as it was, paragraph for paragraph.
    for c, (before, after) in enumerate(
        zip(original["chapters"], final["chapters"], strict=True), start=1
    ):
        for s, (a, b) in enumerate(zip(before["scenes"], after["scenes"], strict=True), start=1):
            for p, (x, y) in enumerate(zip(a.split("\n\n"), b.split("\n\n"), strict=True), start=1):
                assert x == y or (c, s, p) in _reef_paragraphs(original)
    report = json.loads((settings.book_dir("rv") / "review.json").read_text(encoding="utf-8"))
    revision = report["revision"]
    versions = revision["iterations"]
    # Two passages an iteration: chapter 1's two reefs are one passage, redrafted at once.
    assert [len(v["changes"]) for v in versions] == [0, 2, 1]
    assert versions[1]["changes"][0]["paragraphs"] == [1, 5]
    assert versions[1]["changes"][0]["level"] == "write"  # pacing: the passage redrafted
    assert [v["score"] for v in versions] == sorted(v["score"] for v in versions)
    assert (
        versions[-1]["score"] > versions[0]["score"] == report["revision"]["iterations"][0]["score"]
    )
    assert revision["best"] == 2 and "no finding left" in revision["stopped"]
    # The short chapter (a measure, not a passage) is left for the author, and said.
    assert any("not tied to a passage" in item for item in revision["left"])
    # A re-analysis asks only about the passages that changed (node results kept by hash).
    first = versions[0]["asks"]
    assert first == 11 and versions[1]["asks"] == 2 and versions[2]["asks"] == 1
    assert revision["words_end"] == revision["words_start"]  # one word for another
    markdown = (settings.book_dir("rv") / "review.md").read_text(encoding="utf-8")
    assert "## Revision" in markdown and "Kept version 2" in markdown
    chart = (settings.book_dir("rv") / "review-revision.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and chart.count("<polyline") == 2  # overall, pacing


def test_a_revision_never_ends_worse_and_struck_findings_are_never_acted_on(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home", review=ReviewSettings(passages_per_iteration=1))
    books = Books(settings)
    original = read_manuscript(FIXTURE).manuscript.model_dump(mode="json")
    options = _revise_options(pause_at=["findings"], max_iterations=5)
    with scripted_model(_reviser(fix=False)):
        start_review(books, str(FIXTURE), options, "worse")
        assert run_book(settings, "worse").status.value == "halted"
        findings = Findings.model_validate(books.store.get_artifact("worse", "findings")[1])
        reefs = [f for f in findings.findings if "reef" in f.quote]
        assert len(reefs) == 4
        struck = reefs[0]
        edited = [f.model_copy(update={"struck": f.id == struck.id}) for f in findings.findings]
        edit_file = tmp_path / "findings.json"
        edit_file.write_text(Findings(findings=edited).model_dump_json(), encoding="utf-8")
        report = run_book(settings, "worse", approve=True, edit=books.read_edit("worse", edit_file))
    assert report.status.value == "completed"
    data = json.loads((settings.book_dir("worse") / "review.json").read_text(encoding="utf-8"))
    revision = data["revision"]
    scores_seen = [v["score"] for v in revision["iterations"]]
    assert "declined twice" in revision["stopped"] and len(scores_seen) == 3
    assert scores_seen[0] > scores_seen[1] > scores_seen[2]
    assert revision["best"] == 0  # every revision made it worse: the original is kept
    assert books.store.get_artifact("worse", "manuscript")[1]["chapters"] == original["chapters"]
    assert data["scores"]["overall"]["score"] == scores_seen[0]
    touched = {
        (c["chapter"], c["scene"], c["paragraphs"][0])
        for v in revision["iterations"]
        for c in v["changes"]
    }
    assert (struck.chapter, struck.scene, struck.paragraph) not in touched
    assert [f["id"] for f in data["struck"]] == [struck.id]


def test_each_stop_condition_of_the_revision_and_the_best_version() -> None:
    from bookwright.jobs.review.revise import best_version, stop_reason
    from bookwright.model import ReviewSpec

    spec = ReviewSpec(source_file="f", title="t", chapters=1, revise=True, max_iterations=4)

    def why(scores: list[float], **kw: object) -> str | None:
        history = [{"iteration": i, "score": s, "spent_share": 0.1} for i, s in enumerate(scores)]
        args = {"min_gain": 0.2, "plateau": 2, "elapsed_s": 0.0, "budget_left": None, **kw}
        return stop_reason(history, spec, **args)  # type: ignore[arg-type]

    assert why([5.0]) is None and why([5.0, 6.0]) is None
    assert "reached 8.5" in str(why([5.0, 9.0]))
    assert "4 iterations" in str(why([1.0, 2.0, 3.0, 4.0, 5.0]))
    timed = spec.model_copy(update={"time_limit_s": 60.0})
    history = [{"iteration": 0, "score": 5.0}]
    assert "time limit" in str(
        stop_reason(history, timed, min_gain=0.2, plateau=2, elapsed_s=61, budget_left=None)
    )
    assert "budget" in str(why([5.0, 6.0], budget_left=0.05))  # the last took 0.1
    assert why([5.0, 6.0], budget_left=0.5) is None
    assert "declined twice" in str(why([6.0, 5.0, 4.0]))
    assert "less than 0.2 for 2" in str(why([6.0, 6.1, 6.2]))
    assert why([6.0, 5.0, 5.5]) is None  # one decline, then a gain
    versions = [
        {"iteration": 0, "score": 6.0},
        {"iteration": 1, "score": 7.0},
        {"iteration": 2, "score": 7.0},
    ]
    assert best_version(versions)["iteration"] == 1  # a tie keeps the earlier version


def test_the_decision_engine_picks_levels_escalates_and_leaves_what_it_cannot_fix() -> None:
    from bookwright.jobs.review.revise import decide, finding_key
    from bookwright.model.review import Finding

    book = read_manuscript(FIXTURE).manuscript
    levels = ReviewSettings().levels

    def finding(
        i: int, category: str, chapter: int, paragraph: int | None, **kw: object
    ) -> Finding:
        scene = book.chapters[chapter - 1].scenes[0].split("\n\n")
        quote = " ".join(scene[(paragraph or 1) - 1].split()[:4]) if paragraph else ""
        return Finding(
            id=f"F{i}",
            node=category,
            category=category,
            severity="major",
            chapter=chapter,
            scene=1,
            paragraph=paragraph,
            quote=quote,
            problem=f"p{i}",
            **kw,
        )  # type: ignore[arg-type]

    found = [
        finding(1, "style", 2, 1),
        finding(2, "pacing", 3, 1),
        finding(3, "style", 2, 1),  # the same paragraph as F1: one revision fixes both
        finding(4, "style", 4, 2, struck=True),
        finding(5, "pacing", 5, None),  # a measure: no passage to revise
        finding(6, "style", 6, 1),
    ]
    targets, passed = decide(found, book, levels, {}, limit=2)
    assert [(t.chapter, t.level) for t in targets] == [(2, "edit"), (3, "write")]
    assert targets[0].keys == [finding_key(found[0]), finding_key(found[2])]
    assert targets[0].first == 1 and targets[1].last > targets[1].first  # a redraft is a passage
    assert passed == ["F4: struck by the author", "F5: not tied to a passage (for the author)"]
    # Still there after an edit: a redraft; after a redraft: left for the author.
    tried = {finding_key(found[0]): "edit", finding_key(found[1]): "write"}
    targets, passed = decide(found, book, levels, tried, limit=5)
    assert [(t.chapter, t.level) for t in targets] == [(2, "write"), (6, "edit")]
    assert "F2: still there after a write (for the author)" in passed


def test_independent_nodes_run_at_once_and_find_what_they_find_one_at_a_time(
    tmp_path: Path,
) -> None:
    """`[review] concurrency`: the nodes of one group that have work run as child
    workflows on the book's queue; the findings are the same as one at a time."""
    options = {
        "title": None, "genre": "mystery", "target_words": None, "themes": [], "audience": "",
        "model": "fn:x", "seed": 1, "nodes": [*MECHANICAL, "pacing", "style"], "pause_at": [],
    }  # fmt: skip
    found: dict[int, list[tuple[str, str]]] = {}
    for concurrency in (1, 3):
        settings = Settings(
            home=tmp_path / f"home{concurrency}", review=ReviewSettings(concurrency=concurrency)
        )
        books = Books(settings)
        with scripted_model(_reply):
            start_review(books, str(FIXTURE), options, "r")
            assert run_book(settings, "r").status.value == "completed"
        findings = Findings.model_validate(books.store.get_artifact("r", "findings")[1])
        found[concurrency] = sorted((f.quote, ",".join(f.nodes)) for f in findings.findings)
        children = DBOS.list_workflows(name="review_node")
        if concurrency == 1:
            assert children == []
        else:  # pacing and style need only metrics: one group, run at once
            assert {c.status for c in children} == {"SUCCESS"} and len(children) >= 2
        DBOS.destroy(workflow_completion_timeout_sec=0)
    assert found[1] == found[3] and found[1]
