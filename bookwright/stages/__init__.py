"""Pipeline stages: inputs -> prompts -> validated artifacts. Pure: no SDK, SQL or DBOS.

A stage asks for short plain-text answers, one field or one item at a time, through
the `ask` callable it is given, and assembles the artifact in code. A 135M model
cannot be trusted with a whole JSON document; a 70B model answers the same asks well.
"""

from bookwright.stages.asks import Ask, AskFn

__all__ = ["Ask", "AskFn"]
