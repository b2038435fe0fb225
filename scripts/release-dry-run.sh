#!/usr/bin/env bash
# The release, rehearsed without publishing anything: the pending changesets are valid
# (`changeset status`), `changeset version` applies them in a throwaway worktree (new versions,
# changelogs, internal ranges updated), and `pnpm publish -r --dry-run` packs every package as
# it would be published. Needs the packages built. CONTRIBUTING.md says how a real release goes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
changeset="node $root/node_modules/@changesets/cli/bin.js"

$changeset status

tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/tree" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add --detach "$tmp/tree" HEAD >/dev/null 2>&1
# Uncommitted changesets count too (a release is cut from what is in the tree).
cp .changeset/*.md "$tmp/tree/.changeset/" 2>/dev/null || true
(cd "$tmp/tree" && $changeset version >/dev/null)
echo "changeset version would release:"
for p in "$tmp"/tree/packages/*/package.json; do
  node -e 'const p = require(process.argv[1]); console.log(`  ${p.name}@${p.version}`)' "$p"
done
if [ -z "$(ls "$tmp"/tree/packages/*/CHANGELOG.md 2>/dev/null)" ]; then
  echo "changeset version wrote no changelog" >&2
  exit 1
fi

pnpm -r --filter './packages/*' publish --dry-run --no-git-checks >"$tmp/publish.log" 2>&1 || {
  cat "$tmp/publish.log" >&2
  exit 1
}
echo "pnpm publish -r --dry-run: $(grep -c '^+ @mummy/' "$tmp/publish.log" || true) packages would be published"
