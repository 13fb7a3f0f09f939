"""The `sources` job: a folder of interviews read into chunks with stable ids, the
storyline and its questions, grounded writing (bad citations, misquotes and unsupported
claims dropped), and a whole book in process on the scripted model, with notes in its
exports."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from bookwright.cli_sources import start_sources
from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.errors import UsageError
from bookwright.export.document import export_book
from bookwright.jobs.sources.grounding import CITE, from_sources, read_grounded
from bookwright.jobs.sources.ingest import ingest
from bookwright.jobs.sources.storyline import build_storyline, open_questions
from bookwright.model.sources import Chunk, PlannedChapter, SourceIndex, SourcesSpec, Storyline
from bookwright.settings import Settings
from tests.scripted_model import scripted_model

CORPUS = Path(__file__).parent / "fixtures" / "sources"
MISQUOTE = 'Clara Voss said "a stopped loom is money on the floor" [{id}].'
UNSUPPORTED = "The mill exported silk to Japan and employed ten thousand people."
DISTORTED = "It is untrue that"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "interviews"
    shutil.copytree(CORPUS, folder)
    import docx  # one source as Word, as people keep them

    document = docx.Document()
    document.add_paragraph("Dan Okafor: The night shift ended at six in the morning.")
    document.add_paragraph("Dan Okafor: We walked home past the church with our ears ringing.")
    document.save(str(folder / "09-dan-okafor-notes.docx"))
    return folder


def test_every_format_is_read_with_speakers_positions_and_reasons(corpus: Path) -> None:
    index = ingest(corpus)
    by_file = {f.name: f for f in index.files}
    assert by_file["07-broken.pdf"].error.startswith("could not be read as PDF")
    assert by_file["08-readme.rtf"].error == "not a source format (.rtf)"
    speakers = {c.speaker for c in index.chunks}
    assert {"Ada Lind", "Bert Hale", "Clara Voss", "Dan Okafor", "Interviewer"} <= speakers
    bert = next(c for c in index.chunks if c.speaker == "Bert Hale")
    assert bert.file == "02-bert-hale.vtt" and bert.position == "00:00:06-00:00:33"
    ada = next(c for c in index.chunks if c.speaker == "Ada Lind")
    assert ada.position == "lines 5-6" and ada.text.startswith("I started at Harwick Mill in 1949")
    word = [c for c in index.chunks if c.file == "09-dan-okafor-notes.docx"]
    assert [c.speaker for c in word] == ["Dan Okafor", "Dan Okafor"]
    assert len({c.id for c in index.chunks}) == len(index.chunks)


def test_reading_again_keeps_the_ids_and_reads_only_what_changed(corpus: Path) -> None:
    first = ingest(corpus)
    notes = corpus / "05-notes.md"
    notes.write_text(notes.read_text(encoding="utf-8") + "\nThe weir was rebuilt in 1983.\n")
    second = ingest(corpus, previous=first)
    old = {c.id for c in first.chunks if c.file != "05-notes.md"}
    assert old <= {c.id for c in second.chunks}
    changed = [c for c in second.chunks if c.file == "05-notes.md"]
    assert any("1983" in c.text for c in changed)
    assert ingest(corpus).chunks == second.chunks  # the same folder, the same ids


def test_an_empty_or_unreadable_folder_is_refused_before_anything_is_recorded(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"Nothing in .* can be read"):
        ingest(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.pdf").write_bytes(b"%PDF-1.4 broken")
    with pytest.raises(UsageError, match=r"a\.pdf: could not be read as PDF"):
        ingest(tmp_path / "junk")
    books = Books(Settings(home=tmp_path / "home"))
    with pytest.raises(UsageError, match="is not a folder"):
        start_sources(books, {"sources": str(tmp_path / "nope"), "title": "T"}, None)
    with pytest.raises(UsageError, match="--premise is for novels"):
        start_sources(books, {"sources": str(tmp_path), "title": "T", "premise": "x"}, None)
    assert books.all() == []


def test_the_storyline_orders_chapters_and_the_questions_find_the_planted_gaps() -> None:
    index = ingest(CORPUS)
    by_time = build_storyline(index, SourcesSpec(sources="x", title="Harwick"))
    periods = [c.title for c in by_time.chapters]
    assert periods == ["The 1940s to the 1950s", "The 1960s", "The 1970s"]
    central = build_storyline(index, SourcesSpec(sources="x", title="H", order="centrality"))
    ranks = [n.centrality for n in central.nodes]
    assert ranks == sorted(ranks, reverse=True) and central.chapters[0].node == central.nodes[0].id
    events = {n.label: n for n in central.nodes if n.kind == "event"}
    assert "The mill closed in 1979" in events  # told by more than one passage
    assert events["The mill closed in 1979"].period == "1979"
    assert len(events["The mill closed in 1979"].chunks) >= 2
    assert not [e for e in events if "nterview" in e]  # a recording's date is no event
    for chapter in central.chapters:  # a DAG: needs come first
        assert all(d < chapter.number for d in chapter.depends_on)
    asked = [q.text for q in open_questions(index, by_time).questions]
    assert any("1952 or 1954" in q for q in asked)  # the loom shed's opening, two speakers
    assert "Who was Pruett?" in asked  # named once, never heard from
    assert not any("1968" in q for q in asked)  # a topic in common is not a contradiction


def _chunk(id_: str, speaker: str, text: str) -> Chunk:
    return Chunk(id=id_, file="f.txt", position="lines 1-2", speaker=speaker, text=text)


def test_a_written_chapter_keeps_only_what_its_sources_support() -> None:
    ada = _chunk(
        "c00000001", "Ada Lind", "The new loom shed opened in 1952 and we had a dance in it."
    )
    bert = _chunk(
        "c00000002", "Bert Hale", "A stopped loom is money on the floor, old Pruett said."
    )
    answer = (
        "The new loom shed opened in 1952 with a dance [c00000001]. "
        "The shed burned down in 1960 [c99999999]. "
        'Ada Lind said "a stopped loom is money on the floor" [c00000001]. '
        'Bert Hale said "a stopped loom is money on the floor" [c00000002]. '
        f"{UNSUPPORTED} "
        "The shed was opened with a dance in 1952 [adab23bac]. "
        "They had a dance in the new loom shed. [c00000001] "
        "The new loom shed had a dance when it opened in 1952. "
        "The new loom shed opened in 1948 with a dance [c00000001]."
    )
    reading = read_grounded(
        answer,
        {c.id: c for c in (ada, bert)},
        {"c00000001", "c00000002"},
        target=20,
        speakers=("Ada Lind", "Bert Hale"),
    )
    kept = " ".join(reading.kept)
    assert "c99999999" not in kept and "Japan" not in kept
    assert 'Ada Lind said "a stopped loom' not in kept and 'Bert Hale said "a stopped' in kept
    assert "adab23bac" not in kept  # a bracketed id in another form is no citation either
    # A citation after the full stop is its own sentence's, not the next one's.
    assert "They had a dance in the new loom shed [c00000001]." in reading.kept
    assert reading.kept[-1].startswith("The new loom shed had a dance when it opened in 1952")
    assert reading.kept[-1].endswith("[c00000001]")  # an uncited sentence gets its source
    assert "1948" not in kept  # a year its source does not give: overlap cannot see it
    assert len(reading.dropped) == 5 and reading.usable


def test_a_chapter_edited_from_its_sources_quotes_memories_not_questions() -> None:
    chunks = [
        _chunk("c00000001", "Interviewer", "You were on the picket line in 1961?"),
        _chunk("c00000002", "Ada Lind", "I was, with my sister, every morning at six."),
        _chunk("c00000003", "", "The strike lasted eleven weeks."),
    ]
    planned = PlannedChapter(number=1, title="1961", node="n1", chunks=[c.id for c in chunks])
    text = from_sources(planned, chunks)
    assert "picket line" not in text  # a question is nobody's memory
    assert 'Ada Lind recalled: "I was, with my sister' in text
    assert 'f.txt records: "The strike lasted eleven weeks." [c00000003]' in text
    only_questions = from_sources(planned, chunks[:1])  # nothing else: kept, not emptied
    assert "picket line" in only_questions


def _reply(prompt: str) -> str:
    """A chapter from the sources in the prompt: one supported sentence per source, one
    that turns its source's words around (only the judge can see it), a misattributed
    quote, a citation to nothing and a claim nobody made. As the judge: "no" to the
    turned-around sentence, "yes" to the rest."""
    judged = re.findall(r"^(\d+)\. Sentence: (.+)$", prompt, re.M)
    if judged:
        return "\n".join(
            f"{n}: no: the source says the opposite" if DISTORTED in s else f"{n}: yes"
            for n, s in judged
        )
    sources = re.findall(r"^\[(c[0-9a-f]{8}(?:-\d+)?)\] [^(]+\([^)]*\): (.+)$", prompt, re.M)
    if not sources:
        return "NONE"
    lines = [f"{text.split('.')[0].strip()} [{chunk}]." for chunk, text in sources]
    chunk, text = sources[0]
    lines += [
        f"{DISTORTED} {text.split('.')[0].strip()} [{chunk}].",
        MISQUOTE.format(id=sources[0][0]),
        "A flood closed the mill [c0badbad0].",
        UNSUPPORTED,
    ]
    return " ".join(lines)


def _writes(prompts: list[str]) -> list[str]:
    return [p for p in prompts if p.startswith("You are writing chapter")]


def test_a_book_from_sources_halts_at_its_storyline_and_exports_with_notes(
    tmp_path: Path, corpus: Path
) -> None:
    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    values = {
        "sources": str(corpus),
        "title": "The Harwick Mill",
        "kind": "oral-history",
        "words_per_chapter": 60,
        "pause_at": ["storyline"],
        "model": "fn:x",
    }
    with scripted_model(_reply) as prompts:
        book_id, summary = start_sources(books, values, "mill")
        assert "not read: 07-broken.pdf" in summary and "08-readme.rtf" in summary
        report = run_book(settings, book_id)
        assert report.status.value == "halted" and report.halted_at == "storyline"
        storyline = Storyline.model_validate(books.store.get_artifact("mill", "storyline")[1])
        edited = storyline.model_copy(update={"chapters": storyline.chapters[:2]})
        edit = tmp_path / "storyline.json"
        edit.write_text(edited.model_dump_json(), encoding="utf-8")
        report = run_book(settings, "mill", approve=True, edit=books.read_edit("mill", edit))
    assert report.status.value == "completed" and report.job == "sources"
    # one write per chapter of the edited storyline, each answered usably, and its judge
    assert len(_writes(prompts)) == 2 and len(prompts) == 4
    index = SourceIndex.model_validate(books.store.get_artifact("mill", "sources")[1])
    known = {c.id for c in index.chunks}
    for number in (1, 2):
        text = " ".join(books.store.get_artifact("mill", f"chapter:{number}")[1]["scenes"])
        cited = CITE.findall(text)
        assert cited and set(cited) <= known
        assert "Japan" not in text and "c0badbad0" not in text and "Clara Voss said" not in text
        assert DISTORTED not in text  # the judge's `unsupported`, dropped
        issues = books.store.get_artifact("mill", f"support:{number}")[1]["issues"]
        assert [i["category"] for i in issues] == ["unsupported"]
        assert DISTORTED in issues[0]["sentence"] and issues[0]["chunk"] in known
    questions = books.store.get_artifact("mill", "questions")[1]["questions"]
    assert any("1952 or 1954" in q["text"] for q in questions)
    doubted = [q for q in questions if q["text"].startswith("Can a source confirm this")]
    assert len(doubted) == 2 and all(DISTORTED in q["text"] for q in doubted)
    markdown = export_book(books, "mill", "md", tmp_path / "mill.md").paths[0].read_text()
    assert "[^1]" in markdown and re.search(r"^\[\^1\]: .+, .+\.", markdown, re.M)
    assert "## Chapter 3: Questions for the author" in markdown and "Sources" in markdown
    assert "07-broken.pdf: not used (could not be read as PDF" in markdown
    documents = export_book(books, "mill", "json", tmp_path / "json").paths
    first = json.loads(documents[0].read_text(encoding="utf-8"))["source_references"]
    assert first and {r["chunk_id"] for r in first} <= known
    assert all(r["file"] and r["position"] and 0 < r["confidence"] <= 1 for r in first)
    word = export_book(books, "mill", "docx", tmp_path / "mill.docx").paths[0]
    with zipfile.ZipFile(word) as archive:
        notes = archive.read("word/footnotes.xml").decode()
    assert "02-bert-hale.vtt" in notes or "01-ada-lind.txt" in notes
    assert any(n.startswith("07-broken.pdf not read: could not be read") for n in report.notices)
    assert any("questions for the author" in n for n in report.notices)


def test_transcripts_as_recording_apps_write_them_keep_their_speakers(tmp_path: Path) -> None:
    (tmp_path / "otter.txt").write_text(
        "Ada Lind  0:03\nI started at the mill in 1949.\nIt was loud.\n\n"
        "Interviewer  0:15\nWhy?\n\n[00:01:23] Bert Hale: The looms never stopped.\n"
        "Clara Voss (00:02:10): I kept the wages book.\n",
        encoding="utf-8",
    )
    chunks = ingest(tmp_path).chunks
    assert [(c.speaker, c.text) for c in chunks] == [
        ("Ada Lind", "I started at the mill in 1949. It was loud."),
        ("Interviewer", "Why?"),
        ("Bert Hale", "The looms never stopped."),
        ("Clara Voss", "I kept the wages book."),
    ]


def test_a_book_from_sources_is_adapted_with_its_speakers_and_without_its_apparatus(
    tmp_path: Path, corpus: Path
) -> None:
    from bookwright.cli_adapt import start_adapt

    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    values = {"sources": str(corpus), "title": "Mill", "words_per_chapter": 60, "model": "fn:x"}
    with scripted_model(_reply):
        start_sources(books, values, "mill")
        assert run_book(settings, "mill").status.value == "completed"
        options = {"minutes": 5, "form": "short", "pause_at": [], "model": "fn:x", "seed": 1}
        new_id, summary = start_adapt(books, "mill", options, None)
    assert "cast Ada Lind, Bert Hale, Clara Voss, Dan Okafor;" in summary
    copied = books.store.get_artifact(new_id, "manuscript")[1]["chapters"]
    assert copied and not {c["title"] for c in copied} & {"Sources", "Questions for the author"}
    assert not [s for c in copied for s in c["scenes"] if "[^" in s]  # no note markers


def test_answers_become_a_source_and_rewrite_only_the_chapters_they_touch(
    tmp_path: Path, corpus: Path
) -> None:
    from bookwright.cli_sources import record_answers
    from bookwright.errors import Conflict

    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    values = {"sources": str(corpus), "title": "Mill", "words_per_chapter": 60, "model": "fn:x"}
    with scripted_model(_reply) as first:
        start_sources(books, values, "mill")
        assert run_book(settings, "mill").status.value == "completed"
    chapters = books.store.get_artifact("mill", "storyline")[1]["chapters"]
    assert len(_writes(first)) == len(chapters) >= 3
    asked = books.store.get_artifact("mill", "questions")[1]["questions"]
    year = next(i for i, q in enumerate(asked, start=1) if "1952 or 1954" in q["text"])
    late = next(c["number"] for c in chapters if "1970s" in c["title"])
    answers = tmp_path / "answers.md"
    answers.write_text(
        f"{year}. It opened in 1952; I have the deed in a drawer.\n\n"
        "## Who was Pruett?\nTom Pruett managed the mill for twenty years.\n\n"
        "## Later\nIn 1979 the town held a reunion in the empty loom shed.\n",
        encoding="utf-8",
    )
    _, summary = record_answers(books, "mill", answers)
    assert "answers 2 questions" in summary and f"Rewriting chapter {late}" in summary
    touched = {1, late}
    kept = [c["number"] for c in chapters if c["number"] not in touched]
    assert kept and (
        f"Chapter {kept[0]} keeps its version." in summary
        if len(kept) == 1
        else f"Chapters {', '.join(map(str, kept))} keep their versions." in summary
    )
    with scripted_model(_reply) as second:
        report = run_book(settings, "mill")
    assert report.status.value == "completed"
    assert len(_writes(second)) == len(touched)  # one per touched chapter, none for the rest
    assert any("I have the deed in a drawer" in p for p in second)
    for chapter in chapters:
        version, _ = books.store.get_artifact("mill", f"chapter:{chapter['number']}")
        assert version == (2 if chapter["number"] in touched else 1)
    index = SourceIndex.model_validate(books.store.get_artifact("mill", "sources")[1])
    authored = {c.id for c in index.chunks if c.file == "answers/answers.md"}
    assert authored and {c.speaker for c in index.chunks if c.id in authored} == {"Author"}
    rewritten = " ".join(books.store.get_artifact("mill", "chapter:1")[1]["scenes"])
    assert set(CITE.findall(rewritten)) & authored
    still = [q["text"] for q in books.store.get_artifact("mill", "questions")[1]["questions"]]
    assert not [q for q in still if "1952 or 1954" in q or q == "Who was Pruett?"]
    assert books.store.get_artifact("mill", "answers")[1]["rewrite"] == []
    markdown = export_book(books, "mill", "md", tmp_path / "mill.md").paths[0].read_text()
    assert "- answers/answers.md: 3 passages; Author" in markdown
    assert "answers/answers.md, line 1 (" in markdown  # a one-line passage: "line 1"
    assert "\n1. " in markdown.split("Questions for the author")[1]  # numbered, as answered
    with pytest.raises(UsageError, match="already in the book"):
        record_answers(books, "mill", answers)
    unknown = tmp_path / "more.md"
    unknown.write_text("12. Nobody knows.\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"line 1: there is no question 12 \(the book has"):
        record_answers(books, "mill", unknown)
    captions = tmp_path / "answers.vtt"
    captions.write_text("WEBVTT\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not a written document"):
        record_answers(books, "mill", captions)
    books.store.update_book("mill", status="failed")
    with pytest.raises(Conflict, match="once it is complete"):
        record_answers(books, "mill", answers)
    assert books.store.get_artifact("mill", "sources")[0] == 2  # the refusals stored nothing


def test_harmonizing_makes_names_and_terms_the_sources_own_and_leaves_quotes_alone() -> None:
    from bookwright.jobs.sources.harmonize import harmonize
    from bookwright.model import Chapter
    from bookwright.model.sources import StoryNode

    index = SourceIndex(
        chunks=[
            _chunk("c00000001", "Clara Voss", "The loom shed was loud. My cousin Clare came."),
            _chunk("c00000002", "Ada Lind", "I worked in the loom shed with Clara."),
        ]
    )
    storyline = Storyline(
        nodes=[
            StoryNode(
                id="person:clara-voss", kind="person", label="Clara Voss", chunks=["c00000001"]
            ),
            StoryNode(id="theme:loom-shed", kind="theme", label="Loom shed", chunks=["c00000001"]),
        ],
        chapters=[
            PlannedChapter(
                number=1, title="Loom shed", node="theme:loom-shed", chunks=["c00000001"]
            )
        ],
    )
    text = (
        "Clara Vos ran the Loom-shed [c00000001]. Clare came too [c00000001]. "
        'Ada said "the loomshed with Vos" [c00000002].'
    )
    [fixed], changes = harmonize(
        [Chapter(number=1, title="Loom shed", scenes=[text])], index, storyline
    )
    assert fixed.scenes[0] == (
        "Clara Voss ran the Loom shed [c00000001]. Clare came too [c00000001]. "
        'Ada said "the loomshed with Vos" [c00000002].'
    )
    assert {(c["kind"], c["from"], c["to"], c["count"]) for c in changes} == {
        ("name", "Vos", "Voss", 1),
        ("term", "Loom-shed", "Loom shed", 1),
    }


def test_a_question_and_answer_transcript_gives_the_answers_to_the_interviewee(
    tmp_path: Path,
) -> None:
    (tmp_path / "oduya.txt").write_text(
        "Oral history interview with Margaret Oduya, recorded 12 May 2019\n\n"
        "Q: When did you arrive?\nA: In 1961, on the boat train.\nIt was cold.\n"
        "Q: And then?\nA: We went to Leeds.\n",
        encoding="utf-8",
    )
    (tmp_path / "unnamed.txt").write_text("Q: When?\nA: In 1961.\n", encoding="utf-8")
    chunks = ingest(tmp_path).chunks
    said = [(c.file, c.speaker, c.text) for c in chunks if c.speaker != "Q"]
    assert said[1:3] == [
        ("oduya.txt", "Margaret Oduya", "In 1961, on the boat train. It was cold."),
        ("oduya.txt", "Margaret Oduya", "We went to Leeds."),
    ]
    assert said[-1] == ("unnamed.txt", "", "In 1961.")  # nobody named: nobody, not "A"


def test_a_chapter_the_judge_rejects_is_written_again_and_a_judge_without_verdict_drops_nothing(
    tmp_path: Path, corpus: Path
) -> None:
    def harsh(prompt: str) -> str:
        judged = re.findall(r"^(\d+)\. Sentence: (.+)$", prompt, re.M)
        if judged:  # every sentence of a first draft refused; a redo's accepted
            first_draft = "FIRST" in prompt
            return "\n".join(f"{n}: {'no: not so' if first_draft else 'yes'}" for n, _ in judged)
        draft = _reply(prompt)
        return draft if "leave them out" in prompt else draft.replace(" [", " FIRST [", 1)

    settings = Settings(home=tmp_path / "home")
    books = Books(settings)
    values = {"sources": str(corpus), "title": "Mill", "words_per_chapter": 60, "model": "fn:x"}
    with scripted_model(harsh) as prompts:
        start_sources(
            books,
            values,
            "mill",
        )
        assert run_book(settings, "mill").status.value == "completed"
    redone = [p for p in prompts if "leave them out" in p]
    chapters = books.store.get_artifact("mill", "storyline")[1]["chapters"]
    assert len(redone) == len(chapters)  # the write level, once per chapter
    assert "FIRST" in redone[0].split("leave them out")[1]  # naming what was refused
    for chapter in chapters:
        text = " ".join(
            books.store.get_artifact("mill", f"chapter:{chapter['number']}")[1]["scenes"]
        )
        assert "FIRST" not in text and CITE.findall(text)
    assert not books.store.warnings("mill")  # written, not edited from the sources

    def mute(prompt: str) -> str:
        return "I cannot judge this." if "Sentence:" in prompt else _reply(prompt)

    with scripted_model(mute):
        start_sources(books, {**values, "title": "Mill two"}, "mill2")
        assert run_book(settings, "mill2").status.value == "completed"
    text = " ".join(books.store.get_artifact("mill2", "chapter:1")[1]["scenes"])
    assert DISTORTED in text  # no verdict: the grounded reading stands
    assert books.store.get_artifact("mill2", "support:1")[1]["issues"] == []


def test_material_as_people_keep_it_gives_people_not_places_and_one_question_each() -> None:
    """An oral-history project's folder: a Q/A transcript under a header naming the
    interviewee and the interviewer, captions with voices, research notes as a list,
    and a recording app's transcript where the interviewer speaks by name."""
    index = ingest(Path(__file__).parent / "fixtures" / "sources-chapeltown")
    speakers = {c.speaker for c in index.chunks}
    assert {"Margaret Oduya", "Grace Adeyemi", "David Oduya"} <= speakers
    assert not [s for s in speakers if "\n" in s or len(s.split()) > 3]  # no note as a name
    from bookwright.jobs.sources.storyline import askers

    assert {"Interviewer", "Q", "Sam Whitfield"} <= askers(index.chunks)
    storyline = build_storyline(index, SourcesSpec(sources="x", title="C", order="centrality"))
    people = {n.label for n in storyline.nodes if n.kind == "person"}
    assert {"Margaret Oduya", "Grace Adeyemi", "Arthur France"} <= people
    assert not people & {"West Africa", "St James", "Chapeltown Community", "Sam Whitfield"}
    assert "Grace" not in people  # "Auntie Grace" is Grace Adeyemi
    asked = [q.text for q in open_questions(index, storyline).questions]
    years = [q for q in asked if q.startswith("Was it")]
    assert years == ["Was it 1965 or 1966? (church, hall, saturday, school)"]
    assert "Who was Arthur France?" in asked


def test_a_spec_file_names_its_sources_folder_relative_to_itself(tmp_path: Path) -> None:
    from bookwright.cli import _read_spec

    spec = tmp_path / "project" / "book.toml"
    spec.parent.mkdir()
    spec.write_text('title = "The Mill"\nsources = "interviews"\n', encoding="utf-8")
    assert _read_spec(spec)["sources"] == str(tmp_path / "project" / "interviews")
    spec.write_text('title = "The Mill"\nsources = "/srv/interviews"\n', encoding="utf-8")
    assert _read_spec(spec)["sources"] == "/srv/interviews"


def test_a_year_said_then_explained_is_compared_and_fewer_chapters_leave_nothing_out() -> None:
    """A new user's folder: "The fire was in 1971." against "That was 1973, the autumn. A
    fan motor shorted in the smokehouse."; a header recorded at a library in 2024; notes
    compiled in 2024; two chapters asked of four decades of material."""
    index = ingest(Path(__file__).parent / "fixtures" / "sources-cannery")
    storyline = build_storyline(index, SourcesSpec(sources="x", title="C", chapters=2))
    assert [c.title for c in storyline.chapters] == [
        "The 1940s to the 1960s",
        "The 1970s to the 1980s",
    ]
    labels = {n.label for n in storyline.nodes}
    assert not labels & {"Ferrybridge Library", "Tom reyes", "Tom Reyes"}
    assert not [n for n in storyline.nodes if n.kind == "period" and "2020" in n.label]
    asked = [q.text for q in open_questions(index, storyline).questions]
    assert any(q.startswith("Was it 1971 or 1973?") for q in asked), asked
