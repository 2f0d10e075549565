-- Spend history (issue 17): one row per settled request, copied from the spend ledger's
-- outbox (the Redis log stream or the JSONL journal) by request id, so a repeat is a no-op.
-- Costs are integer nano-dollars (exact sums); times are unix seconds.
CREATE TABLE spend (
    tenant TEXT NOT NULL,
    request_id TEXT NOT NULL,
    settled_at REAL NOT NULL,
    model TEXT NOT NULL,
    route TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'remote',
    language TEXT NOT NULL DEFAULT '-',
    purpose TEXT NOT NULL DEFAULT 'traffic',
    cost_nanos BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cache_hit INTEGER NOT NULL DEFAULT 0,
    estimated INTEGER NOT NULL DEFAULT 0,
    -- The record's free-form `extra` as JSON (stage, reason, requested_model, ...): the
    -- console's routing and savings pages read it.
    extra TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant, request_id)
);
-- Time ranges and the by-request listing (keyset on settled_at, request_id).
CREATE INDEX spend_tenant_time ON spend (tenant, settled_at, request_id);
-- The budget windows (periods) each request counted in, e.g. 'monthly:2026-12'.
CREATE TABLE spend_windows (
    tenant TEXT NOT NULL,
    request_id TEXT NOT NULL,
    period TEXT NOT NULL,
    PRIMARY KEY (tenant, request_id, period)
);
-- Daily totals per group, kept in the same transaction as the rows they count (only rows
-- newly inserted count), so the report reads a few thousand rows, not a million.
-- `period` '' counts each request once; a window key counts the requests of that window.
CREATE TABLE spend_daily (
    tenant TEXT NOT NULL,
    period TEXT NOT NULL,
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    route TEXT NOT NULL,
    language TEXT NOT NULL,
    tier TEXT NOT NULL,
    purpose TEXT NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cost_nanos BIGINT NOT NULL,
    cache_hits BIGINT NOT NULL,
    PRIMARY KEY (tenant, period, day, model, route, language, tier, purpose)
);
