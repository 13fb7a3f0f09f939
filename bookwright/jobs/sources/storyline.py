"""The storyline drawn from the chunks, without a model: people (speakers and the names
they use), periods (decades of the years they give), events (what more than one passage
says happened in a given year) and themes (words many chunks share and most do not),
each with the chunks that support it; a graph of nodes linked by
shared chunks, ranked by PageRank (networkx); the chapter plan, in chronological or
centrality order, with dependencies where a later chapter relies on a person an earlier
one introduced; and the questions the material leaves open."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import networkx as nx

from bookwright.model.sources import (
    Chunk,
    PlannedChapter,
    Question,
    Questions,
    SourceIndex,
    SourcesSpec,
    Storyline,
    StoryNode,
)
from bookwright.model.text import counted
from bookwright.quality.checks import COMMON_NAME_WORDS
from bookwright.quality.text import STOPWORDS, sentences

_YEAR = re.compile(r"\b(1[6-9]\d\d|20\d\d)\b")
# Two capitalised words on one line, and the capitalised word after them if any ("Chapeltown
# Community Centre"): a full name, unless a word of it names a place or an institution
_FULL_NAME = re.compile(r"\b([A-Z][a-z]{1,}[ \t][A-Z][a-z]{2,})\b(?:[ \t]([A-Z][a-z]+))?")
TITLES = (
    "Mr", "Mrs", "Miss", "Ms", "Dr", "old", "young", "Father", "Sister", "Brother", "Mother",
    "Auntie", "Aunt", "Uncle", "Granny", "Grandma", "Grandad", "Cousin", "Nurse", "Matron",
    "Reverend", "Rev", "Lady", "Lord", "Sir", "Captain", "Professor",
)  # fmt: skip
SAINTS = ("St", "Saint", "San", "Santa")  # "St James's": a hospital, a church, a street
_TITLED = re.compile(rf"\b(?:{'|'.join(TITLES)})\.?[ \t]([A-Z][a-z]{{2,}})\b")
_NOT_PEOPLE = {
    "africa", "america", "england", "scotland", "wales", "ireland", "britain", "europe",
    "asia", "india", "china", "caribbean", "indies", "kingdom", "states", "city", "county",
    "community", "centre", "center", "hospital", "school", "college", "university",
    "company", "council", "society", "association", "union", "club", "office", "department",
    "board", "committee", "ministry", "party", "army", "navy", "police", "railway", "works",
    "factory", "avenue", "terrace", "place", "valley", "mountain", "carnival", "festival",
    "library", "museum", "archive", "archives", "gallery", "institute", "trust", "foundation",
    "chapel", "cathedral", "theatre", "theater", "cinema", "hotel", "pub", "quay", "harbour",
}  # fmt: skip
_HEADER = re.compile(
    r"\b(?:interview(?:ed)?|recorded|transcript|transcribed|compiled)\b", re.I
)  # a recording's or a document's own date and place, not the story's
_WORD = re.compile(r"\b[a-z][a-z'-]{4,}\b")
INTERVIEWERS = {"interviewer", "q", "question", "int", "host"}
CHUNKS_PER_CHAPTER = 8  # what one chapter's prompt carries, at most (bounded)
ANSWERS_FOLDER = "answers/"  # where `bookwright answer` files the author's answers
_NOT_NAMES = {
    "the", "and", "but", "then", "when", "there", "they", "that", "this", "what", "after",
    "before", "everyone", "nobody", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "january", "february", "march", "april", "june", "july", "august",
    "september", "october", "november", "december", "christmas", "easter", "mister", "missus",
}  # fmt: skip


def is_interviewer(speaker: str) -> bool:
    """The one asking, not remembering ("Interviewer", "Q", "Host")."""
    return speaker.casefold().strip(" .") in INTERVIEWERS


def askers(chunks: Iterable[Chunk]) -> set[str]:
    """The speakers who ask rather than remember: an interviewer by label, a name given
    as the interviewer ("Interviewer: Sam Whitfield"), and anyone who only asks questions."""
    turns: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks:
        if chunk.speaker:
            turns[chunk.speaker].append(chunk.text.strip())
    found = {s for s in turns if is_interviewer(s)}
    for speaker in list(found):
        found |= {t for t in turns[speaker] if t in turns and not t.endswith("?")}
    found |= {s for s, said in turns.items() if all(t.endswith("?") for t in said)}
    return found


def is_answer(chunk: Chunk) -> bool:
    """A passage of the author's answers: it settles a question, it raises none."""
    return chunk.file.startswith(ANSWERS_FOLDER)


def _people(index: SourceIndex) -> dict[str, set[str]]:
    """Person -> chunk ids: every speaker (an interviewer aside), first-and-last names used
    by the sources (not "Harwick Mill": a place word ends it), and single names after a
    title ("Mr Pruett", "old Pruett")."""
    mentions: dict[str, set[str]] = defaultdict(set)
    lower = {w for c in index.chunks for w in re.findall(r"\b[a-z][a-z]+\b", c.text)}
    asking = askers(index.chunks)
    for chunk in index.chunks:
        if chunk.speaker and chunk.speaker not in asking:
            mentions[chunk.speaker].add(chunk.id)
    for chunk in index.chunks:
        for match in _FULL_NAME.finditer(chunk.text):
            name = match.group(1)
            words = name.split()
            following = (match.group(2) or "").casefold()
            if (
                words[-1].casefold() in COMMON_NAME_WORDS
                or words[0] in TITLES  # "Sister Halloran": Halloran, found with the titles
                or words[0] in SAINTS
                or following in _NOT_PEOPLE | COMMON_NAME_WORDS  # "... Community Centre"
                or any(w.casefold() in _NOT_NAMES | _NOT_PEOPLE | lower for w in words)
            ):
                continue
            mentions[name].add(chunk.id)
        for match in _TITLED.finditer(chunk.text):
            mentions[match.group(1)].add(chunk.id)
    for single in [n for n in mentions if " " not in n]:  # "Auntie Grace" is Grace Adeyemi
        full = [n for n in mentions if " " in n and single in n.split()]
        if len(full) == 1:
            mentions[full[0]] |= mentions.pop(single)
    people = {name: set(ids) for name, ids in mentions.items() if name not in asking}
    for chunk in index.chunks:  # "Ada" in a chunk is Ada Lind, when she is the only Ada
        for name in people:
            first = name.split()[0]
            if name in chunk.text or (
                first != name
                and sum(1 for p in people if p.startswith(first)) == 1
                and re.search(rf"\b{re.escape(first)}\b", chunk.text)
            ):
                people[name].add(chunk.id)
    return people


def _periods(index: SourceIndex) -> dict[str, tuple[str, set[str]]]:
    """Label -> (span of the years given, chunk ids): one per decade the sources speak of,
    a decade with a single passage joined to the next. A recording's own date ("Interview
    with Ada Lind, spring 2024") is not a period of the story."""
    found: dict[int, tuple[set[int], set[str]]] = {}
    for chunk in index.chunks:
        told = " ".join(s for s in sentences(chunk.text) if not _HEADER.search(s))
        for year in map(int, _YEAR.findall(told)):
            years, ids = found.setdefault(year // 10 * 10, (set(), set()))
            years.add(year)
            ids.add(chunk.id)
    merged: list[tuple[list[int], set[int], set[str]]] = []
    for decade, (years, ids) in sorted(found.items()):
        if merged and len(merged[-1][2]) < 2:
            merged[-1][0].append(decade)
            merged[-1][1].update(years)
            merged[-1][2].update(ids)
        else:
            merged.append(([decade], set(years), set(ids)))
    if len(merged) > 1 and len(merged[-1][2]) < 2:
        last = merged.pop()
        merged[-1][0].extend(last[0])
        merged[-1][1].update(last[1])
        merged[-1][2].update(last[2])
    out = {}
    for decades, years, ids in merged:
        label = f"The {decades[0]}s" + (f" to the {decades[-1]}s" if len(decades) > 1 else "")
        span = f"{min(years)}" if len(years) == 1 else f"{min(years)}-{max(years)}"
        out[label] = (span, ids)
    return out


def _fewer_periods(
    periods: dict[str, tuple[str, set[str]]], most: int
) -> dict[str, tuple[str, set[str]]]:
    """The periods joined, in order, into `most` spans of about as many periods each, so
    that a book of fewer chapters than periods still tells all of them."""
    spans = sorted(periods.values(), key=lambda p: p[0])
    size = -(-len(spans) // most)  # ceiling
    out: dict[str, tuple[str, set[str]]] = {}
    for start in range(0, len(spans), size):
        group = spans[start : start + size]
        years = [int(y) for span, _ in group for y in span.split("-")]
        low, high = min(years), max(years)
        first, last = low // 10 * 10, high // 10 * 10
        label = f"The {first}s" + (f" to the {last}s" if last != first else "")
        span = f"{low}" if low == high else f"{low}-{high}"
        out[label] = (span, set().union(*(ids for _, ids in group)))
    return out


def _themes(index: SourceIndex, people: set[str], limit: int = 8) -> dict[str, set[str]]:
    """Two-word phrases of content words ("loom shed", "picket line") that several chunks
    share, best when more than one source uses them: what the material is about."""
    where: dict[str, set[str]] = defaultdict(set)
    files: dict[str, set[str]] = defaultdict(set)
    for chunk in index.chunks:
        tokens = re.findall(r"[a-z][a-z'-]+", chunk.text.casefold())
        for a, b in itertools.pairwise(tokens):
            if a in STOPWORDS or b in STOPWORDS or len(a) < 3 or len(b) < 3:
                continue
            phrase = f"{a} {b}"
            if phrase in people:
                continue
            where[phrase].add(chunk.id)
            files[phrase].add(chunk.file)
    ranked = sorted(
        ((p, ids) for p, ids in where.items() if len(ids) >= 2),
        key=lambda item: (-len(files[item[0]]), -len(item[1]), item[0]),
    )
    themes: dict[str, set[str]] = {}
    for phrase, ids in ranked:
        if any(len(ids & other) > 0.7 * len(ids) for other in themes.values()):
            continue  # the same chunks as a theme already kept: one theme, not two
        themes[phrase] = ids
        if len(themes) == limit:
            break
    return themes


def _events(index: SourceIndex, limit: int = 8) -> dict[str, tuple[str, set[str]]]:
    """Label -> (year, chunk ids): what happened in a given year, as the sources tell it.
    A sentence with one year is an account of an event; accounts of the same year that
    share two content words are one event, told by several passages. Only an event
    more than one passage tells is kept (one passage is a detail, not yet an event);
    the label is its shortest account."""
    accounts: list[tuple[str, str, set[str], str]] = []  # year, sentence, words, chunk
    asking = askers(index.chunks)
    for chunk in index.chunks:
        if chunk.speaker in asking or is_answer(chunk):
            continue
        for sentence in sentences(chunk.text):
            years = set(_YEAR.findall(sentence))
            if len(years) != 1 or not 4 <= len(sentence.split()) <= 30:
                continue
            if _HEADER.search(sentence):  # "Second interview with Ada Lind, 2024"
                continue
            words = _content_words(sentence)
            accounts.append((years.pop(), sentence, words, chunk.id))
    groups: list[tuple[str, list[str], set[str], set[str]]] = []
    for year, sentence, words, chunk_id in accounts:
        for g_year, told, g_words, ids in groups:
            if g_year == year and len(words & g_words) >= 2:
                told.append(sentence)
                g_words |= words
                ids.add(chunk_id)
                break
        else:
            groups.append((year, [sentence], set(words), {chunk_id}))
    kept = sorted((g for g in groups if len(g[3]) >= 2), key=lambda g: (-len(g[3]), g[0]))
    events: dict[str, tuple[str, set[str]]] = {}
    for year, told, _, ids in kept[:limit]:
        shortest = min(told, key=len).rstrip(" .!?").split()
        label = " ".join(shortest[:14]) + ("..." if len(shortest) > 14 else "")
        events.setdefault(label[:1].upper() + label[1:], (year, ids))
    return events


def build_storyline(index: SourceIndex, spec: SourcesSpec) -> Storyline:
    order = {c.id: i for i, c in enumerate(index.chunks)}
    nodes: list[StoryNode] = []
    for name, ids in _people(index).items():
        nodes.append(_node("person", name, ids, order))
    periods = _periods(index)
    if spec.order == "chronology" and spec.chapters and len(periods) > spec.chapters:
        periods = _fewer_periods(periods, spec.chapters)  # fewer chapters: none left out
    for label, (span, ids) in periods.items():
        nodes.append(_node("period", label, ids, order, period=span))
    for label, (year, ids) in _events(index).items():
        nodes.append(_node("event", label, ids, order, period=year))
    named = {n.label.casefold() for n in nodes} | {a.casefold() for a in askers(index.chunks)}
    for phrase, ids in _themes(index, named).items():
        nodes.append(_node("theme", phrase[:1].upper() + phrase[1:], ids, order))
    if not nodes:  # material too thin for any node: one chapter on all of it
        nodes.append(_node("theme", spec.title, {c.id for c in index.chunks}, order))
    graph = nx.Graph()
    graph.add_nodes_from(n.id for n in nodes)
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            shared = len(set(a.chunks) & set(b.chunks))
            if shared:
                graph.add_edge(a.id, b.id, weight=shared)
    rank = pagerank(graph)
    nodes = [n.model_copy(update={"centrality": round(rank.get(n.id, 0.0), 4)}) for n in nodes]
    nodes.sort(key=lambda n: (-n.centrality, n.id))
    chapters = _plan(nodes, index, spec, order)
    return Storyline(nodes=nodes, chapters=chapters)


def pagerank(graph: nx.Graph, damping: float = 0.85, rounds: int = 100) -> dict[str, float]:
    """Weighted PageRank by power iteration over the networkx graph. `nx.pagerank`
    itself needs scipy, a large dependency for one call on a graph of a few dozen nodes."""
    nodes = list(graph.nodes)
    if not nodes:
        return {}
    rank = dict.fromkeys(nodes, 1 / len(nodes))
    strength = {n: sum(d.get("weight", 1) for _, _, d in graph.edges(n, data=True)) for n in nodes}
    for _ in range(rounds):
        dangling = sum(rank[n] for n in nodes if not strength[n]) / len(nodes)
        new = {
            n: (1 - damping) / len(nodes)
            + damping
            * (
                dangling
                + sum(
                    rank[m] * d.get("weight", 1) / strength[m]
                    for m, d in graph[n].items()
                    if strength[m]
                )
            )
            for n in nodes
        }
        done = sum(abs(new[n] - rank[n]) for n in nodes) < 1e-9
        rank = new
        if done:
            break
    return rank


def _node(
    kind: str, label: str, ids: set[str], order: dict[str, int], period: str = ""
) -> StoryNode:
    slug = re.sub(r"[^a-z0-9]+", "-", label.casefold()).strip("-")[:40] or "node"
    chunks = sorted(ids, key=order.__getitem__)
    return StoryNode(
        id=f"{kind}:{slug}",
        kind=kind,  # type: ignore[arg-type]
        label=label,
        period=period,
        chunks=chunks,
        summary=f"{len(chunks)} passages" + (f", {period}" if period else ""),
    )


def _plan(
    nodes: list[StoryNode], index: SourceIndex, spec: SourcesSpec, order: dict[str, int]
) -> list[PlannedChapter]:
    most = spec.chapters or max(2, min(12, len(index.chunks) // 6))
    periods = sorted((n for n in nodes if n.kind == "period"), key=lambda n: n.period)
    chosen: list[StoryNode] = []
    if spec.order == "chronology" and len(periods) >= 2:
        chosen = periods[:most]
    else:
        covered: set[str] = set()
        for node in nodes:
            fresh = set(node.chunks) - covered
            if len(fresh) < max(1, len(node.chunks) // 3):
                continue  # mostly told by the chapters already chosen
            chosen.append(node)
            covered |= set(node.chunks)
            if len(chosen) == most:
                break
    used: Counter[str] = Counter()
    planned: list[PlannedChapter] = []
    introduced: dict[str, int] = {}
    people = [n for n in nodes if n.kind == "person"]
    for number, node in enumerate(chosen, start=1):
        picks = sorted(node.chunks, key=lambda c: (used[c], order[c]))[:CHUNKS_PER_CHAPTER]
        picks.sort(key=order.__getitem__)
        used.update(picks)
        depends = set()
        for person in people:
            if set(person.chunks) & set(picks):
                if person.id in introduced:
                    depends.add(introduced[person.id])
                else:
                    introduced[person.id] = number
        planned.append(
            PlannedChapter(
                number=number,
                title=node.label,
                node=node.id,
                chunks=picks,
                depends_on=sorted(depends),
            )
        )
    return planned


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{3,}", text.casefold()) if w not in STOPWORDS}


def open_questions(
    index: SourceIndex, storyline: Storyline, answered: set[str] | frozenset[str] = frozenset()
) -> Questions:
    """What the sources do not cover or disagree on: different years for the same thing
    from two speakers, a person mentioned once and never heard from, a node only one
    source speaks of; less those the author has `answered` (their texts)."""
    questions: list[Question] = []
    chapter_of: dict[str, list[int]] = defaultdict(list)
    for chapter in storyline.chapters:
        for chunk_id in chapter.chunks:
            chapter_of[chunk_id].append(chapter.number)
    dated: list[tuple[Chunk, str, int, set[str]]] = []
    for chunk in (c for c in index.chunks if not is_answer(c)):
        said = sentences(chunk.text)
        for at, sentence in enumerate(said):
            if _HEADER.search(sentence):  # "Recorded 12 May 2019": the recording's date
                continue
            words = _content_words(sentence)
            if len(words) < 3:  # "That was 1973, the autumn.": what it is about comes after
                words |= _content_words(" ".join(said[at + 1 : at + 3]))
            for year in map(int, _YEAR.findall(sentence)):
                dated.append((chunk, sentence, year, words))
    seen: set[frozenset[str]] = set()
    topics = {w for n in storyline.nodes for w in n.label.casefold().split()}
    for i, (a, said_a, year_a, words_a) in enumerate(dated):
        for b, said_b, year_b, words_b in dated[i + 1 :]:
            shared = words_a & words_b
            if year_a == year_b or a.speaker == b.speaker or len(shared) < 2:
                continue
            if shared <= topics:  # a topic in common ("loom shed") is not a claim in common
                continue
            key = frozenset((a.id, b.id))
            if key in seen:
                continue
            seen.add(key)
            low, high = sorted((year_a, year_b))
            questions.append(
                Question(
                    text=f"Was it {low} or {high}? ({', '.join(sorted(shared)[:4])})",
                    why=f'{a.speaker or a.file} says "{said_a}" ({a.file}, {a.position}); '
                    f'{b.speaker or b.file} says "{said_b}" ({b.file}, {b.position})',
                    chapters=sorted(set(chapter_of[a.id] + chapter_of[b.id])),
                    chunks=[a.id, b.id],
                )
            )
    speakers = {c.speaker for c in index.chunks}
    for node in storyline.nodes:
        files = {c.file for c in index.chunks if c.id in node.chunks}
        if node.kind == "person" and node.label not in speakers and len(node.chunks) <= 2:
            questions.append(
                Question(
                    text=f"Who was {node.label}?",
                    why=f"named in {counted(len(node.chunks), 'passage')}, with no interview "
                    "of their own",
                    chapters=sorted({n for c in node.chunks for n in chapter_of[c]}),
                    chunks=node.chunks,
                )
            )
        elif node.kind != "person" and len(files) == 1 and len(index.files) > 1:
            questions.append(
                Question(
                    text=f"Can another source confirm what {min(files)} says of {node.label}?",
                    why="only one source speaks of it",
                    chapters=sorted({n for c in node.chunks for n in chapter_of[c]}),
                    chunks=node.chunks,
                )
            )
    merged: dict[str, Question] = {}  # one question, however many passages raise it
    for q in questions:
        if q.text in answered:
            continue
        if q.text in merged:
            had = merged[q.text]
            merged[q.text] = had.model_copy(
                update={
                    "chapters": sorted(set(had.chapters) | set(q.chapters)),
                    "chunks": list(dict.fromkeys([*had.chunks, *q.chunks])),
                }
            )
        else:
            merged[q.text] = q
    return Questions(questions=list(merged.values()))
