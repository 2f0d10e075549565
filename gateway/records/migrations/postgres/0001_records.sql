-- Captured requests (traffic and shadow calls) and their labels. Times are unix seconds.
-- Spend history (issue 17) joins later as its own table in a new migration.
CREATE TABLE requests (
    request_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    route TEXT NOT NULL,
    model TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'traffic',
    parent_id TEXT,
    reason TEXT NOT NULL DEFAULT '',
    explored BOOLEAN NOT NULL DEFAULT FALSE,
    candidates TEXT NOT NULL DEFAULT '[]',
    prompt TEXT,
    answer TEXT,
    cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    language TEXT,
    status INTEGER NOT NULL DEFAULT 200,
    artifact_version TEXT,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX requests_tenant_time ON requests (tenant, created_at);
CREATE INDEX requests_parent ON requests (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE labels (
    id BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    model TEXT NOT NULL,
    metric TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    grader TEXT NOT NULL DEFAULT '',
    comment TEXT,
    UNIQUE (request_id, model, metric, source, created_at)
);
CREATE INDEX labels_tenant_time ON labels (tenant, created_at);
CREATE INDEX labels_metric_request ON labels (metric, request_id);
