"""Content store: every artifact version, chapter states and each model request sent."""

from bookwright.store.repo import BookRecord, Store

__all__ = ["BookRecord", "Store"]
