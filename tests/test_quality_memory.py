"""The FTS5 memory: deterministic ranking, chapter filters, rebuilt identically."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookwright.model.quality import Fact, StoryBible
from bookwright.store.memory import Memory, match_query

SUMMARIES = [
    (1, 1, "Mara climbs the lighthouse tower and finds the lamp cold."),
    (1, 2, "Tobias rows to Gull Rock Harbour with a sealed letter."),
    (2, 1, "Mara finds a bottle with a message on the beach."),
    (2, 2, "Ines reads the message in the bottle aloud to Mara."),
    (3, 1, "The storm breaks over the harbour."),
]
BIBLE = StoryBible.build(
    [
        [Fact(subject="Mara Quill", attribute="eyes", value="grey", from_chapter=1)],
        [Fact(subject="Tobias Grent", attribute="home", value="Gull Rock", from_chapter=2)],
        [Fact(subject="Mara Quill", attribute="eyes", value="blue", from_chapter=3)],
    ]
)


def test_fts5_ranks_the_best_match_first_and_filters_by_chapter() -> None:
    with Memory.build(summaries=SUMMARIES, bible=BIBLE) as memory:
        hits = memory.search("the message in the bottle", limit=3)
        assert [(h.chapter, h.scene) for h in hits] == [(2, 2), (2, 1)]
        assert memory.search("bottle message", before_chapter=2) == []
        harbour = memory.search("harbour", limit=5)
        # Equal scores: later chapters first, so the freshest memory wins a tie.
        assert [(h.chapter, h.scene) for h in harbour] == [(3, 1), (1, 2)]
        assert memory.search("the of and") == [] and memory.search("x", limit=0) == []


def test_facts_are_returned_only_where_they_hold() -> None:
    with Memory.build(bible=BIBLE) as memory:
        assert [h.text for h in memory.facts("Mara Quill eyes", chapter=2)] == [
            "Mara Quill | eyes | grey"
        ]
        assert [h.text for h in memory.facts("Mara", chapter=3)] == ["Mara Quill | eyes | blue"]
        assert [h.text for h in memory.facts("Tobias", chapter=1)] == []


def test_the_index_is_derived_data_rebuilt_identically_in_any_order(tmp_path: Path) -> None:
    with Memory.build(summaries=SUMMARIES, bible=BIBLE) as first:
        expected = first.search("Mara bottle harbour tower", limit=10)
    path = tmp_path / "memory.sqlite"
    with Memory.build(summaries=list(reversed(SUMMARIES)), bible=BIBLE, path=path) as second:
        assert second.search("Mara bottle harbour tower", limit=10) == expected
    with Memory.build(summaries=SUMMARIES[:2], path=path) as rebuilt:  # build starts afresh
        assert rebuilt.count("summary") == 2 and rebuilt.count("fact") == 0


def test_reindexing_a_retried_scene_replaces_it() -> None:
    with Memory.build(summaries=SUMMARIES) as memory:
        memory.index_scene(2, 1, "Mara burns the letter in the lamp room.", "She burned it.")
        assert memory.search("beach") == []
        hits = memory.search("letter burned")  # porter stemming: burned matches burns
        assert [(h.kind, h.chapter, h.scene) for h in hits] == [
            ("summary", 2, 1),
            ("passage", 2, 1),
            ("summary", 1, 2),
        ]
        memory.index_chapter(2, "Mara burns a letter.")
        memory.forget_chapter(2)
        assert memory.count() == 3
        memory.sync_bible(BIBLE)
        memory.sync_bible(BIBLE)
        assert memory.count("fact") == 3


def test_queries_cannot_inject_fts_syntax() -> None:
    assert match_query('Mara AND "tower" NEAR(x) -bottle*') == (
        '"mara" OR "tower" OR "near" OR "bottle"'
    )
    with Memory.build(summaries=SUMMARIES) as memory:
        assert memory.search('tower" OR *') != []
        with pytest.raises(ValueError, match="unknown kinds"):
            memory.search("tower", kinds=["scene"])
