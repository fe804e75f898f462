#!/usr/bin/env bash
# Copy the NHS.UK frontend's built CSS, JS and assets from node_modules into Django's static
# folder (git ignores the copy: the npm package is the source of truth, pinned in package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/nhsuk-frontend/dist/nhsuk
dest=src/thermablate/web/static/vendor/nhsuk
if [ ! -f "$src/nhsuk-frontend.min.css" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf "$dest" && mkdir -p "$dest"
cp "$src/nhsuk-frontend.min.css" "$src/nhsuk-frontend.min.js" "$dest/"
# The stylesheet points at /assets/ at the site root; point it at the copy beside it.
sed -i "s|url(/assets/|url(assets/|g" "$dest/nhsuk-frontend.min.css"
cp -r "$src/assets" "$dest/assets"
echo "NHS.UK frontend $(node -p "require('./node_modules/nhsuk-frontend/package.json').version") copied to $dest"
