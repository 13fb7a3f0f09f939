"""Exports: render a manuscript in the formats authors use."""
