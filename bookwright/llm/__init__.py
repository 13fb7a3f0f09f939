"""Model access: registry, the embedded engine, one completion call with usage and errors."""

from bookwright.llm.client import Completion, CompletionRequest, LLMClient
from bookwright.llm.registry import ModelRef, parse_model

__all__ = ["Completion", "CompletionRequest", "LLMClient", "ModelRef", "parse_model"]
