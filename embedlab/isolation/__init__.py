"""Stage 4, isolation: one exercise of an untrusted submission run in a
sandboxed worker process, and what crosses back from it validated."""
