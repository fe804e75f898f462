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
# Nothing may load from another host (DESIGN.md; the Content-Security-Policy forbids it): the
# stylesheet's @font-face rules fetch the Frutiger font from https://assets.nhs.uk, which the npm
# package does not ship. Drop those rules: the NHS.UK font stack then falls back to the
# system's Arial, as the NHS design system intends when the font cannot load. A page offline
# no longer waits seconds for the font host.
sed -i -E 's|@font-face\{[^}]*https?://[^}]*\}||g' "$dest/nhsuk-frontend.min.css"
if grep -Eq 'url\((["'"'"']?)(https?:)?//' "$dest/nhsuk-frontend.min.css"; then
  echo "vendor-assets: the NHS.UK stylesheet still loads from another host:" >&2
  grep -Eo 'url\((["'"'"']?)(https?:)?//[^)]*\)' "$dest/nhsuk-frontend.min.css" >&2
  exit 1
fi
# The source maps are not copied: drop the comments that name them, or collectstatic's manifest
# storage stops on the missing file (and a browser would ask for it).
sed -i -E 's|/\*# sourceMappingURL=[^*]*\*/||' "$dest/nhsuk-frontend.min.css"
sed -i -E 's|//# sourceMappingURL=.*$||' "$dest/nhsuk-frontend.min.js"
cp -r "$src/assets" "$dest/assets"
echo "NHS.UK frontend $(node -p "require('./node_modules/nhsuk-frontend/package.json').version") copied to $dest"
