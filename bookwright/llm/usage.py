"""Cost of a request from the genai-prices table; local models cost nothing."""

from __future__ import annotations

from bookwright.llm.registry import ModelRef


def cost_usd(ref: ModelRef, prompt_tokens: int, completion_tokens: int) -> float:
    """Dollars for one request: declared provider prices, else genai-prices' table; local
    models, and models neither knows, cost 0."""
    if ref.usd_per_mtok is not None:
        price_in, price_out = ref.usd_per_mtok
        return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000
    if ref.kind in ("local", "custom", "compatible"):
        return 0.0
    from genai_prices import Usage, calc_price

    try:
        price = calc_price(
            Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens),
            ref.model_name,
            provider_id=ref.provider,
        )
    except LookupError:
        return 0.0
    return float(price.total_price)


def estimate_tokens(text: str) -> int:
    """Tokens in `text`, estimated without a tokenizer. English runs about 4 characters
    per token in BPE vocabularies; counting 3 makes limits err on the safe side."""
    return len(text) // 3 + 1
