"""Cost per word in the status contract: per 1,000 words, and where the tokens went."""

from __future__ import annotations

from typing import Any

from bookwright.engine.status import cost_of


def row(prompt: int, completion: int, role: str, **extra: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "role": role,
        "error_class": None,
        "retry_level": None,
        **extra,
    }


def test_cost_per_word_and_the_shares_of_the_tokens() -> None:
    requests = [
        row(300, 100, "planner"),
        row(500, 100, "writer", error_class="invalid_output"),  # refused, asked again
        row(500, 100, "writer"),
        row(200, 0, "writer", error_class="server"),  # failed: no answer, not refused
        row(400, 100, "editor", retry_level="edit"),
        row(200, 0, "judge", error_class="empty"),
    ]
    cost = cost_of(requests, words=500)
    assert cost.words == 500
    assert cost.requests_per_1k_words == 12.0
    assert cost.prompt_tokens_per_1k_words == 4200.0
    assert cost.completion_tokens_per_1k_words == 800.0
    assert cost.tokens_per_1k_words == 5000.0
    assert cost.refused_share == round(800 / 2500, 3)  # invalid_output and empty
    assert cost.refused_requests_share == round(2 / 6, 3)
    assert cost.retry_share == round(500 / 2500, 3)
    assert cost.role_share == {"editor": 0.2, "judge": 0.08, "planner": 0.16, "writer": 0.56}


def test_no_words_yet_is_no_rate() -> None:
    cost = cost_of([row(100, 10, "planner")], words=0)
    assert cost.tokens_per_1k_words is None and cost.requests_per_1k_words is None
    assert cost.role_share == {"planner": 1.0}
    assert cost_of([], words=0).refused_share == 0.0
