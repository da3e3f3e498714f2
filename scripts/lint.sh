#!/bin/bash
# Static checks, as CI runs them (scripts/test.sh calls this before the tests):
#   ruff (style and common bugs), mypy (types) and import-linter (the layering contracts).
# mypy and import-linter need to see the folders as the hvdeck.* packages they are installed as; the
# package-dir mapping of an editable install is invisible to them, so they run on a shadow tree of
# symlinks (hvdeck/backends -> backends/, ...).
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
V=.venv/bin
shadow=$(mktemp -d)
trap 'rm -rf "$shadow"' EXIT
mkdir "$shadow/hvdeck"
for folder in backends tui widgets themes; do ln -s "$PWD/$folder" "$shadow/hvdeck/$folder"; done

rc=0
echo "lint: ruff"
$V/ruff check . || rc=1
echo "lint: mypy"
(cd "$shadow" && "$OLDPWD/$V/mypy" --config-file "$OLDPWD/pyproject.toml" --explicit-package-bases -p hvdeck) || rc=1
echo "lint: import-linter"
(cd "$shadow" && PYTHONPATH="$shadow" "$OLDPWD/$V/lint-imports" --config "$OLDPWD/pyproject.toml") || rc=1
echo "lint: exit status $rc"
exit $rc
