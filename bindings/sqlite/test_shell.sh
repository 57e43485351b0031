#!/usr/bin/env bash
# Drives the real sqlite3 shell with `.load` and SQL text, as a user types it, and compares what it
# prints with what it must print. Usage: test_shell.sh path/to/vecstore (without .so)
set -euo pipefail
EXT="$1"
SQLITE3="${SQLITE3:-sqlite3}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/vecstore-shell-XXXXXX")"
trap 'rm -rf "$DIR"' EXIT
fail=0

# run NAME DB: feeds stdin to the shell (stderr merged: errors are part of the expected output)
run() { "$SQLITE3" -batch "$2" 2>&1 || true; }
expect() {
  local name="$1" want="$2" got="$3"
  if [ "$got" == "$want" ]; then echo "ok   $name"; else
    echo "FAIL $name"; diff <(echo "$want") <(echo "$got") | sed 's/^/     /'; fail=1; fi
}

got=$(run session "$DIR/app.db" <<SQL
.load $EXT
.mode list
CREATE VIRTUAL TABLE docs USING vecstore(dimension=3, metric=cosine, m=16, ef_construction=200, ef_search=64);
INSERT INTO docs(id, embedding, metadata) VALUES ('a', '[1, 0, 0]', '{"lang":"en"}');
INSERT INTO docs(id, embedding, metadata) VALUES ('b', '[0.8, 0.2, 0]', '{"lang":"de"}');
INSERT INTO docs(rowid, embedding) VALUES (42, X'000000000000803F00000000');
SELECT id, rowid, round(distance, 4), metadata FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10 ORDER BY distance;
SELECT id FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10 AND filter = 'lang = ''de''';
SELECT id, hex(embedding) FROM docs WHERE id = 'a';
UPDATE docs SET metadata = '{"lang":"fr"}' WHERE id = 'a';
SELECT metadata FROM docs WHERE rowid = 1;
BEGIN;
DELETE FROM docs WHERE id = 'a';
SELECT count(*) FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10;
ROLLBACK;
SELECT count(*) FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10;
INSERT OR REPLACE INTO docs(id, embedding) VALUES ('b', '[0, 0, 1]');
SELECT id FROM docs WHERE embedding MATCH '[0, 0, 1]' AND k = 1;
INSERT INTO docs(docs) VALUES ('compact');
SELECT json_extract(vecstore_stats('docs'), '\$.index.count');
INSERT INTO docs(id, embedding) VALUES ('c', '[1, 2]');
SELECT id FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 3 AND filter = 'lang IN (';
SELECT id FROM docs WHERE embedding MATCH '[1, 0, 0]';
SQL
)
expect "shell session" "a|1|0.0|{\"lang\":\"en\"}
b|2|0.0299|{\"lang\":\"de\"}
42|42|1.0|
b
a|0000803F0000000000000000
{\"lang\":\"fr\"}
2
3
b
3
Runtime error near line 21: vecstore: embedding: dimension mismatch: vector has dimension 2, the store has dimension 3
Runtime error near line 22: vecstore: query: filter syntax error at position 9 (column 10): expected a value (string, number, true, false or null), found end of filter
Runtime error near line 23: vecstore: a KNN query needs k: WHERE embedding MATCH ? AND k = 10 (or LIMIT 10)" "$got"

# a new shell on the same file sees what the first committed; .backup gives a working copy
got=$(run reopen "$DIR/app.db" <<SQL
.load $EXT
SELECT group_concat(id) FROM (SELECT id FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10 ORDER BY distance);
.backup $DIR/copy.db
SQL
)
expect "reopen and .backup" "a,42,b" "$got"
got=$(run copy "$DIR/copy.db" <<SQL
.load $EXT
SELECT group_concat(id) FROM (SELECT id FROM docs WHERE embedding MATCH '[1, 0, 0]' AND k = 10 ORDER BY distance);
DROP TABLE docs;
SQL
)
expect "the backup answers the same" "a,42,b" "$got"
[ -d "$DIR/copy.db-vecstore-docs" ] && { echo "FAIL DROP TABLE left $DIR/copy.db-vecstore-docs"; fail=1; } || echo "ok   DROP TABLE removes the index directory"
[ -d "$DIR/app.db-vecstore-docs" ] && echo "ok   the index lives next to the database" || { echo "FAIL no $DIR/app.db-vecstore-docs"; fail=1; }
exit $fail
