"""The novel: plan, cast, places, outline, scenes, chapters written, judged and retried,
harmonized, exported. Its workflows (`book`, `chapter`, `retry`) and stages live here;
its spec and artifact types are `bookwright.model` (the CLI's `write` and the API's
`POST /api/books` read them)."""
