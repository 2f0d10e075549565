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
    PRIMARY KEY (tenant, request_id)
);
-- Time ranges and the by-request listing (keyset on settled_at, request_id).
CREATE INDEX spend_tenant_time ON spend (tenant, settled_at, request_id);
-- Group-bys: covering indexes, so a tenant's totals by model/route/language/purpose read
-- the index only, never the table.
CREATE INDEX spend_tenant_model ON spend (tenant, model, route, settled_at, cost_nanos,
    prompt_tokens, completion_tokens);
CREATE INDEX spend_tenant_language ON spend (tenant, language, model, settled_at, cost_nanos,
    prompt_tokens);
CREATE INDEX spend_tenant_purpose ON spend (tenant, purpose, settled_at, cost_nanos);
-- The budget windows (periods) each request counted in, e.g. 'monthly:2026-12'.
CREATE TABLE spend_windows (
    tenant TEXT NOT NULL,
    period TEXT NOT NULL,
    request_id TEXT NOT NULL,
    PRIMARY KEY (tenant, period, request_id)
);
