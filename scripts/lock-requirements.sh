#!/usr/bin/env bash
# Re-resolve and pin every dependency: requirements.txt from pyproject.toml (runtime) and
# requirements-dev.txt from requirements-dev.in (tests), both without installing anything.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3.11}
tmp=$(mktemp -d)
"$py" -m pip install --quiet --dry-run --ignore-installed --report "$tmp/runtime.json" . 2>/dev/null
"$py" -m pip install --quiet --dry-run --ignore-installed --report "$tmp/all.json" -r requirements-dev.in . 2>/dev/null
"$py" - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
def pins(name):
    report = json.load(open(f"{tmp}/{name}.json"))
    return {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]
            if i["metadata"]["name"].lower() != "thermablate"}
runtime, everything = pins("runtime"), pins("all")
clash = {n for n in runtime if everything.get(n) != runtime[n]}
if clash:
    sys.exit(f"runtime and dev resolutions disagree on {sorted(clash)}")
with open("requirements.txt", "w") as f:
    f.write("# Pinned runtime dependencies (from pyproject.toml) – regenerate with scripts/lock-requirements.sh\n")
    f.writelines(f"{n}=={v}\n" for n, v in sorted(runtime.items()))
with open("requirements-dev.txt", "w") as f:
    f.write("# Pinned test dependencies (from requirements-dev.in) – regenerate with scripts/lock-requirements.sh\n-r requirements.txt\n")
    f.writelines(f"{n}=={v}\n" for n, v in sorted(everything.items()) if n not in runtime)
print(f"pinned {len(runtime)} runtime and {len(everything) - len(runtime)} test packages")
PY
rm -rf "$tmp"
