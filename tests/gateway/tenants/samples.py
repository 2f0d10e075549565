"""tenants.yaml texts for the tests (keys are fixed test strings, hashes derived from them)."""

from __future__ import annotations

from gateway.tenants.config import hash_key

ACME_KEY = "cr-test-acme-key"
BETA_KEY = "cr-test-beta-key"
ADMIN_KEY = "cr-test-admin-key"

VALID = f"""\
# Tenants of the test gateway.
tenants:
  - name: acme            # the main customer
    timezone: America/New_York
    key_sha256:
      - {hash_key(ACME_KEY)}
    budgets:
      - {{period: month, limit_usd: 500, alert_fraction: 0.8}}
      - {{period: day, limit_usd: 40}}
    max_cost_per_request_usd: 0.5
    allowed_models: ["gpt-4o-mini", "gpt-4o"]
    allowed_routes: ["auto", "router:*"]
    policy: {{route: auto, objective: max_utility, knob: 0.5}}
    pacing: {{kind: linear, tight_knob: 5.0}}
    rate_limits: {{requests_per_minute: 600, tokens_per_minute: 200000}}
  - name: beta
    key_sha256: [{hash_key(BETA_KEY)}]
  - name: ops
    admin: true
    key_sha256: [{hash_key(ADMIN_KEY)}]
  - name: newbie
    budgets:
      - period: total
        limit_usd: 10
"""
