-- How far spend history has been purged: per tenant ('' for a purge of every tenant) and
-- level ('raw': the per-request rows of `spend` and `spend_windows`; 'hourly': the
-- `spend_hourly` totals), everything settled before `purged_before` (Unix seconds) may be
-- gone. A report reads past it from the next coarser table, whoever purged (the retention
-- sweeper or `costroute learn purge`, on any replica, with any settings), and a drain skips
-- entries from before it, whose rows may already be gone.
CREATE TABLE spend_purged (
    tenant TEXT NOT NULL,
    level TEXT NOT NULL,
    purged_before DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant, level)
);
