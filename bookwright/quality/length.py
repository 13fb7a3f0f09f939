"""Length control: scene word budgets that add up to the chapter's target, continuing a
scene that came out short and trimming one that ran long at a paragraph boundary."""

from __future__ import annotations

from collections.abc import Sequence

from bookwright.quality.text import count_words, paragraphs, sentences
from bookwright.stages.asks import Ask
from bookwright.stages.prose import max_tokens_for, tail

SHORT = 0.8  # below this share of its budget a scene is continued
LONG = 1.2  # above this share it is trimmed


def scene_budgets(chapter_target: int, scenes: int, weights: Sequence[float] = ()) -> list[int]:
    """Word budgets per scene, proportional to `weights` (default equal), summing exactly
    to `chapter_target` (largest remainder; ties go to earlier scenes)."""
    if scenes <= 0:
        raise ValueError("a chapter has at least one scene")
    if chapter_target < 0:
        raise ValueError("the chapter target must not be negative")
    shares = list(weights) or [1.0] * scenes
    if len(shares) != scenes or any(w < 0 for w in shares) or sum(shares) <= 0:
        raise ValueError(f"need {scenes} non-negative weights with a positive sum")
    total = sum(shares)
    exact = [chapter_target * w / total for w in shares]
    budgets = [int(x) for x in exact]
    short = chapter_target - sum(budgets)
    order = sorted(range(scenes), key=lambda i: (-(exact[i] - budgets[i]), i))
    for i in order[:short]:
        budgets[i] += 1
    return budgets


def needs_continuation(text: str, target: int, share: float = SHORT) -> bool:
    """True when the scene has fewer than `share` of its target words."""
    return count_words(text) < share * target


def continuation_words(text: str, target: int) -> int:
    """How many more words a short scene needs to reach its target."""
    return max(0, target - count_words(text))


def trim_to_paragraph(text: str, target: int, share: float = LONG) -> str:
    """A scene over `share` of its target cut at the paragraph end nearest the target.

    Paragraphs are kept from the start while each brings the count nearer the target;
    where no paragraph end comes near it (one long paragraph, or a short one before a
    long one), the cut falls at a sentence end instead.
    Text within `share` of its target is returned as it is.
    """
    if count_words(text) <= share * target:
        return text
    parts = paragraphs(text)
    kept: list[str] = []
    for paragraph in parts:
        so_far = sum(count_words(p) for p in kept)
        # Keep the paragraph when it brings the count nearer the target than stopping.
        if kept and abs(so_far + count_words(paragraph) - target) >= abs(so_far - target):
            break
        kept.append(paragraph)
    if len(kept) == 1 and count_words(kept[0]) > share * target:
        kept = [_sentences_within(kept[0], target)]
    elif count_words("\n\n".join(kept)) < SHORT * target and len(kept) < len(parts):
        # The nearest paragraph end is far too short: end inside the next, at a sentence.
        room = target - count_words("\n\n".join(kept))
        more = _sentences_within(parts[len(kept)], room, at_least_one=False)
        kept += [more] if more else []
    return "\n\n".join(kept)


def _sentences_within(text: str, words: int, at_least_one: bool = True) -> str:
    done: list[str] = []
    for sentence in sentences(text):
        if (done or not at_least_one) and count_words(" ".join([*done, sentence])) > words:
            break
        done.append(sentence)
    return " ".join(done)


def continue_ask(
    variables: dict[str, object], text: str, words: int, chapter: int, scene: int
) -> Ask:
    """Ask for `words` more words of a scene that came out short (appended to `text`)."""
    return Ask(
        "continue",
        "writer",
        "continue_scene.j2",
        {**variables, "before": tail(text)},
        "prose",
        max_tokens_for(words),
        target_words=words,
        fallback="",  # a scene that cannot be continued stays as it is
        chapter=chapter,
        scene=scene,
    )
