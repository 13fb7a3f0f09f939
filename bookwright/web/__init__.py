"""The web face: REST API and dashboard (`bookwright serve`).

Kept free of imports at package level so the CLI can register `serve` without loading
FastAPI; `bookwright.web.app.create_app` builds the application.
"""
