#!/usr/bin/env bash
# After changing messages: extract the English ones (Python: _, N_, ngettext; the
# page's JavaScript: t) into unseen/locale/unseen.pot, merge them into each
# language's .po, and compile the .mo files the package ships. New entries come
# out empty: translate them in unseen/locale/*/LC_MESSAGES/unseen.po, run this
# again, and commit the .pot, .po and .mo files together (tests/test_i18n.py
# fails while a message has no translation). The desktop launcher's texts come from
# the catalogs: unseen/unseen.desktop is written again at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
PY=${PY:-.venv/bin/python}
LOCALES=unseen/locale
"$PYBABEL" extract -F babel.cfg --add-location=file --sort-by-file \
    --project=unseen --copyright-holder="the unseen authors" \
    --msgid-bugs-address="" -o "$LOCALES/unseen.pot" .
for lang in zh_Hans zh_Hant; do
    "$PYBABEL" update -D unseen -i "$LOCALES/unseen.pot" -d "$LOCALES" -l "$lang" \
        --init-missing --no-fuzzy-matching --ignore-obsolete
done
"$PYBABEL" compile -D unseen -d "$LOCALES" --statistics
"$PY" -c 'import sys; from unseen.launcher import desktop_entry; sys.stdout.write(desktop_entry())' \
    > unseen/unseen.desktop
