"""bookwright: write whole books with LLMs through long, durable workflows."""

__version__ = "0.1.0"
