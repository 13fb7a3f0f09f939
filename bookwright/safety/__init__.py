"""Keeping books safe: backup and restore, the doctor's checks, and garbage collection."""
