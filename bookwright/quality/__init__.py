"""The quality loop: deterministic checks, the judge, retry decisions, the story bible,
bounded scene context and length control. Pure: no SDK, SQL or DBOS here."""
