-- Hourly spend totals (issue 17): like spend_daily, kept by the same idempotent drain in the
-- same transaction as the rows they count, so a range whose bounds fall inside a UTC day
-- reads whole days from spend_daily, the whole hours at its day edges from here, and only
-- the rows of the partial hours at its two ends from `spend` (two hours of rows at most).
-- `hour` is floor(settled_at / 3600), UTC. Keyed tenant first, then hour, so a tenant's
-- time range is one index range whatever the period filter.
CREATE TABLE spend_hourly (
    tenant TEXT NOT NULL,
    hour BIGINT NOT NULL,
    period TEXT NOT NULL,
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
    PRIMARY KEY (tenant, hour, period, model, route, language, tier, purpose)
);
-- Rows drained before this migration: '' counts each request once, each window key the
-- requests of that window, '-' the requests of a tenant without windows (as spend_daily).
INSERT INTO spend_hourly (tenant, hour, period, model, route, language, tier, purpose,
                          requests, prompt_tokens, completion_tokens, cost_nanos, cache_hits)
SELECT s.tenant, CAST(s.settled_at / 3600 AS INTEGER), p.period, s.model, s.route, s.language, s.tier, s.purpose,
       COUNT(*), SUM(s.prompt_tokens), SUM(s.completion_tokens), SUM(s.cost_nanos),
       SUM(CASE WHEN s.cache_hit <> 0 THEN 1 ELSE 0 END)
FROM spend s JOIN (
    SELECT tenant, request_id, '' AS period FROM spend
    UNION ALL SELECT tenant, request_id, period FROM spend_windows
    UNION ALL SELECT x.tenant, x.request_id, '-' AS period FROM spend x
        WHERE NOT EXISTS (SELECT 1 FROM spend_windows w
                          WHERE w.tenant = x.tenant AND w.request_id = x.request_id)
) p ON p.tenant = s.tenant AND p.request_id = s.request_id
GROUP BY s.tenant, CAST(s.settled_at / 3600 AS INTEGER), p.period, s.model, s.route, s.language, s.tier, s.purpose;
