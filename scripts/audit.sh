#!/usr/bin/env bash
# Audits the pinned dependencies (constraints.txt) for known vulnerabilities with pip-audit.
#   scripts/audit.sh            ask pip-audit's vulnerability service (needs network access)
#   scripts/audit.sh --dry-run  offline: check that every pin is exact and pip-audit runs
# Exit codes: 0 clean, 1 vulnerabilities found (pip-audit's own), 3 service unreachable.
# CI machines here have no network, so CI runs only --dry-run; run the full audit where
# the vulnerability service can be reached (a developer machine, a networked CI job).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
if ! "$PY" -m pip_audit --version >/dev/null 2>&1; then
  "$PY" -m pip install -q --disable-pip-version-check -c constraints.txt pip-audit || {
    echo "audit: pip-audit is not installed and could not be installed" >&2; exit 3; }
fi

# Every line of constraints.txt is `name==version`: no resolution, no pip, just the pins.
args=(-r constraints.txt --no-deps --disable-pip --strict --progress-spinner off
      --vulnerability-service pypi --timeout 20)
if [[ "${1:-}" == "--dry-run" ]]; then
  exec "$PY" -m pip_audit "${args[@]}" --dry-run
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$PY" -m pip_audit "${args[@]}" 2> >(tee "$log" >&2)
rc=$?
unreachable="connection|resolve|network|timed out|max retries|unreachable"
if [[ $rc -ne 0 ]] && grep -qiE "$unreachable" "$log"; then
  echo "audit: pip-audit could not reach its vulnerability service from this machine." >&2
  echo "audit: run 'scripts/audit.sh' where there is network access; offline, only" \
       "'scripts/audit.sh --dry-run' works." >&2
  exit 3
fi
exit $rc
