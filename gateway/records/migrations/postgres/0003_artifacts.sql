-- The artifact registry in the records database (issue 14), for replicas on different hosts:
-- versions (manifest + files as one deterministic tar.gz, named by its sha256) and, per
-- route, the serving pointer with a revision that every promote or rollback raises by one
-- (replicas poll it; writers compare-and-swap on it) and the history of those moves.
CREATE TABLE artifact_versions (
    version TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    manifest TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    files BYTEA NOT NULL
);
-- `stack`: JSON list of {version, at}, what served before; its last entry serves now.
CREATE TABLE artifact_pointers (
    route TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    version TEXT NOT NULL REFERENCES artifact_versions (version),
    stack TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE artifact_pointer_events (
    route TEXT NOT NULL,
    revision BIGINT NOT NULL,
    action TEXT NOT NULL,
    version TEXT NOT NULL,
    from_version TEXT,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (route, revision)
);
