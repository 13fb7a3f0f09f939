"""An Ask: one short question to a model, and how its answer is checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bookwright.stages.prompts import render

Kind = Literal["title", "name", "place", "sentences", "list", "prose", "lines"]


@dataclass(frozen=True)
class Ask:
    """One plain-text completion: template, variables, and the kind of answer expected."""

    label: str  # e.g. "plan.logline", "write" — recorded with every request
    role: Literal["planner", "writer", "editor", "judge"]
    template: str
    variables: dict[str, Any]
    kind: Kind
    max_tokens: int
    avoid: tuple[str, ...] = ()  # answers that are not acceptable (names already taken)
    target_words: int = 0  # prose only
    fallback: str | None = None  # kept when every attempt fails (edits keep the draft)
    chapter: int | None = None
    scene: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def messages(self, retry_reason: str | None = None) -> tuple[str, str]:
        """(system, user) prompts; a retry carries the reason the last answer was refused."""
        system = render(str(self.extra.get("system") or f"system_{self.role}.j2"), {})
        user = render(
            self.template,
            {**self.variables, "avoid": list(self.avoid), "target_words": self.target_words},
        )
        if retry_reason:
            user += "\n\n" + render("retry.j2", {"reason": retry_reason})
        return system, user

    def with_attempts(self, attempts: int) -> Ask:
        """This ask with `attempts` tries, recorded books included: a count set here is not
        the one `attempts_were` (old count, DBOS.patch) says the job's default replaced."""
        extra = {k: v for k, v in self.extra.items() if k != "attempts_were"}
        return replace(self, extra={**extra, "attempts": attempts})


AskFn = Callable[[Ask], str]
