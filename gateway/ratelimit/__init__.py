"""Per-tenant request and token rate limits (GCRA), in-process or shared through Redis."""
