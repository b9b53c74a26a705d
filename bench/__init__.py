"""`make bench`: one reproducible run of every performance target of the registry, ingest and health issues."""
