/*
 * C test of the vecstore SQLite extension, through libsqlite3 and SQL only, under AddressSanitizer.
 * The extension (vecstore.c) is compiled into this program and registered with
 * sqlite3_auto_extension, so every connection has it, as after `.load`.
 *
 * One function per behaviour: the SQL surface, every error, ROLLBACK / savepoints / failed
 * statements, read-your-writes, a second connection, connections one after another, VACUUM INTO
 * and the backup API, DROP TABLE, :memory:, TTL, and the two-table crash test (SIGKILL a writer at
 * random points, then check that both tables agree and the KNN answers match).
 */
#define _XOPEN_SOURCE 700
#include <sqlite3.h>

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sqlite3_vecstore_init(sqlite3 *db, char **err, const sqlite3_api_routines *api);

static int failures, checks;
static const char *current = "";

#define CHECK(cond)                                                                \
  do {                                                                             \
    checks++;                                                                      \
    if (!(cond)) {                                                                 \
      failures++;                                                                  \
      fprintf(stderr, "%s:%d: [%s] check failed: %s\n", __FILE__, __LINE__, current, #cond); \
    }                                                                              \
  } while (0)

#define CHECK_STR(got, want)                                                                  \
  do {                                                                                        \
    checks++;                                                                                 \
    char *g_ = (got);                                                                         \
    const char *w_ = (want);                                                                  \
    if (!g_ || strcmp(g_, w_) != 0) {                                                         \
      failures++;                                                                             \
      fprintf(stderr, "%s:%d: [%s] got \"%s\", want \"%s\"\n", __FILE__, __LINE__, current,   \
              g_ ? g_ : "(null)", w_);                                                        \
    }                                                                                         \
    sqlite3_free(g_);                                                                         \
  } while (0)

static char tmproot[4096];

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w) {
  (void)sb, (void)f, (void)w;
  return remove(p);
}
static void rm_tree(const char *p) { nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }
static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static char *path(const char *name) { return sqlite3_mprintf("%s/%s", tmproot, name); }

static sqlite3 *open_db(const char *file) {
  sqlite3 *db = NULL;
  if (sqlite3_open(file, &db) != SQLITE_OK) {
    fprintf(stderr, "cannot open %s: %s\n", file, sqlite3_errmsg(db));
    exit(2);
  }
  sqlite3_busy_timeout(db, 5000);
  return db;
}

/* Runs SQL that must succeed. */
#define OK(db, sql) ok_(db, sql, __LINE__)
static void ok_(sqlite3 *db, const char *sql, int line) {
  char *msg = NULL;
  checks++;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    failures++;
    fprintf(stderr, "%s:%d: [%s] SQL failed: %s\n  %s\n", __FILE__, line, current, msg, sql);
  }
  sqlite3_free(msg);
}

/* Runs SQL that must fail with a message containing `want`. */
#define FAILS(db, sql, want) fails_(db, sql, want, __LINE__)
static void fails_(sqlite3 *db, const char *sql, const char *want, int line) {
  char *msg = NULL;
  checks++;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc == SQLITE_OK || !msg || !strstr(msg, want)) {
    failures++;
    fprintf(stderr, "%s:%d: [%s] expected an error containing \"%s\", got %s\n  %s\n", __FILE__, line,
            current, want, rc == SQLITE_OK ? "success" : msg, sql);
  }
  sqlite3_free(msg);
}

/* The rows of a query as "a|b;c|d" (NULL as "NULL", reals with %.4f). sqlite3_free the result. */
static char *rows(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sqlite3_mprintf("ERROR: %s", sqlite3_errmsg(db));
  sqlite3_str *s = sqlite3_str_new(db);
  int rc, first = 1;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!first) sqlite3_str_appendchar(s, 1, ';');
    first = 0;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      if (i) sqlite3_str_appendchar(s, 1, '|');
      switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL: sqlite3_str_appendall(s, "NULL"); break;
        case SQLITE_FLOAT: sqlite3_str_appendf(s, "%.4f", sqlite3_column_double(st, i)); break;
        default: sqlite3_str_appendall(s, (const char *)sqlite3_column_text(st, i));
      }
    }
  }
  if (rc != SQLITE_DONE) {
    sqlite3_str_reset(s);
    sqlite3_str_appendf(s, "ERROR: %s", sqlite3_errmsg(db));
  }
  sqlite3_finalize(st);
  char *out = sqlite3_str_finish(s);
  return out ? out : sqlite3_mprintf("");
}

static sqlite3_int64 int_of(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  sqlite3_int64 v = -999;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  else
    fprintf(stderr, "[%s] int_of failed: %s: %s\n", current, sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return v;
}

/* The directory of a table's index, from vecstore_stats. */
static char *index_dir(sqlite3 *db, const char *table) {
  char *sql = sqlite3_mprintf("SELECT json_extract(vecstore_stats('%q'), '$.directory')", table);
  char *d = rows(db, sql);
  sqlite3_free(sql);
  return d;
}

/* A small 4-d table: a, b, c, d around the axes, with metadata. */
static void fill_small(sqlite3 *db) {
  OK(db, "CREATE VIRTUAL TABLE docs USING vecstore(dimension=4, metric=cosine)");
  OK(db, "INSERT INTO docs(id, embedding, metadata) VALUES "
         "('a', '[1, 0, 0, 0]', '{\"lang\":\"en\",\"n\":1}'),"
         "('b', '[0.9, 0.1, 0, 0]', '{\"lang\":\"de\",\"n\":2}'),"
         "('c', '[0, 1, 0, 0]', '{\"lang\":\"en\",\"n\":3}'),"
         "('d', '[0, 0, 1, 0]', NULL)");
}

static const char *KNN_A = "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 ORDER BY distance, id";

/* ------------------------------------------------------------------------------------------- */

static void test_surface(void) {
  char *f = path("surface.db");
  sqlite3 *db = open_db(f);
  fill_small(db);
  CHECK_STR(rows(db, "SELECT id, rowid, round(distance, 4), metadata FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 2 ORDER BY distance"),
            "a|1|0.0000|{\"lang\":\"en\",\"n\":1};b|2|0.0061|{\"lang\":\"de\",\"n\":2}");
  /* score is the library's (cosine similarity); distance = 1 - score */
  CHECK_STR(rows(db, "SELECT id, round(score + distance, 6) FROM docs WHERE embedding MATCH '[0,1,0,0]' AND k = 1"), "c|1.0000");
  /* float32 BLOB in, BLOB out (the vector as given, not normalised) */
  CHECK_STR(rows(db, "SELECT typeof(embedding), hex(embedding) FROM docs WHERE id = 'a'"), "blob|0000803F000000000000000000000000");
  OK(db, "INSERT INTO docs(rowid, embedding) VALUES (42, X'00000000000000000000803F0000803F')");
  CHECK_STR(rows(db, "SELECT id, rowid FROM docs WHERE rowid = 42"), "42|42"); /* id = the rowid's text */
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH X'00000000000000000000803F0000803F' AND k = 1"), "42");
  /* filter, ef_search */
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 AND filter = 'lang = ''en''' ORDER BY distance"), "a;c");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 AND filter = 'n >= 2 AND lang IN (''de'', ''fr'')'"), "b");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 2 AND ef_search = 128 ORDER BY distance"), "a;b");
  /* point lookups, full scan */
  CHECK_STR(rows(db, "SELECT metadata FROM docs WHERE id = 'b'"), "{\"lang\":\"de\",\"n\":2}");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE id = 'nope'"), "");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs"), "5");
  /* join with an ordinary table on rowid */
  OK(db, "CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT); "
         "INSERT INTO articles VALUES (1, 'one'), (3, 'three'), (42, 'forty-two')");
  CHECK_STR(rows(db, "SELECT a.title FROM articles a JOIN docs ON docs.rowid = a.id ORDER BY a.id"), "one;three;forty-two");
  CHECK_STR(rows(db, "SELECT a.title FROM docs JOIN articles a ON a.id = docs.rowid "
                     "WHERE docs.embedding MATCH '[0,1,0,0]' AND docs.k = 1"), "three");
  /* UPDATE metadata: filters see it; UPDATE embedding: KNN sees it; DELETE */
  OK(db, "UPDATE docs SET metadata = '{\"lang\":\"fr\"}' WHERE id = 'a'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 AND filter = 'lang = ''fr'''"), "a");
  CHECK_STR(rows(db, "SELECT hex(embedding) FROM docs WHERE id = 'a'"), "0000803F000000000000000000000000");
  OK(db, "UPDATE docs SET embedding = '[0, 0, 0, 1]' WHERE id = 'd'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[0,0,0,1]' AND k = 1"), "d");
  OK(db, "UPDATE docs SET id = 'dd' WHERE id = 'd'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[0,0,0,1]' AND k = 1"), "dd");
  OK(db, "DELETE FROM docs WHERE id = 'b'");
  CHECK_STR(rows(db, KNN_A), "a;42;c;dd");
  /* INSERT OR REPLACE: an upsert (same id, new vector, new rowid) */
  OK(db, "INSERT OR REPLACE INTO docs(id, embedding, metadata) VALUES ('a', '[0,1,0,0]', '{\"v\":2}')");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE id = 'a'"), "1");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[0,1,0,0]' AND k = 2 AND filter = 'v = 2'"), "a");
  OK(db, "INSERT OR IGNORE INTO docs(id, embedding) VALUES ('a', '[1,0,0,0]')");
  CHECK_STR(rows(db, "SELECT metadata FROM docs WHERE id = 'a'"), "{\"v\":2}");
  /* explain column */
  CHECK_STR(rows(db, "SELECT json_extract(explain, '$.rank'), json_extract(explain, '$.distance_metric') FROM docs "
                     "WHERE embedding MATCH '[0,1,0,0]' AND k = 1"), "1|Cosine");
  CHECK_STR(rows(db, "SELECT explain IS NULL FROM docs WHERE id = 'a'"), "1");
  /* commands and stats */
  OK(db, "INSERT INTO docs(docs) VALUES ('compact')");
  OK(db, "INSERT INTO docs(docs) VALUES ('rebuild')");
  CHECK_STR(rows(db, KNN_A), "42;a;c;dd");
  CHECK_STR(rows(db, "SELECT json_extract(vecstore_stats('docs'), '$.rows'), json_extract(vecstore_stats('docs'), '$.index.count'), "
                     "json_extract(vecstore_stats('docs'), '$.index.dimension')"), "4|4|4");
  /* other metrics: distance is smaller-is-closer */
  OK(db, "CREATE VIRTUAL TABLE e USING vecstore(dimension=2, metric=euclidean, m=8, ef_construction=50, ef_search=20)");
  OK(db, "INSERT INTO e(id, embedding) VALUES ('o', '[0,0]'), ('p', '[3,4]')");
  CHECK_STR(rows(db, "SELECT id, distance FROM e WHERE embedding MATCH '[0,0]' AND k = 2 ORDER BY distance"), "o|0.0000;p|5.0000");
  OK(db, "CREATE VIRTUAL TABLE dt USING vecstore(dimension=2, metric=dot)");
  OK(db, "INSERT INTO dt(id, embedding) VALUES ('x', '[1,0]'), ('y', '[2,0]')");
  CHECK_STR(rows(db, "SELECT id, distance FROM dt WHERE embedding MATCH '[1,0]' AND k = 2 ORDER BY distance"), "y|-2.0000;x|-1.0000");
  sqlite3_close(db);
  sqlite3_free(f);
}

static void test_errors(void) {
  sqlite3 *db = open_db(":memory:");
  FAILS(db, "CREATE VIRTUAL TABLE x USING vecstore(metric=cosine)", "dimension=N is required");
  FAILS(db, "CREATE VIRTUAL TABLE x USING vecstore(dimension=4, metric=manhattan)", "bad value for metric");
  FAILS(db, "CREATE VIRTUAL TABLE x USING vecstore(dimension=0)", "bad value for dimension");
  FAILS(db, "CREATE VIRTUAL TABLE x USING vecstore(dimension=4, colour=blue)", "unknown option 'colour'");
  FAILS(db, "CREATE VIRTUAL TABLE x USING vecstore(dimension=4, m=1)", "bad value for m");
  fill_small(db);
  /* writes */
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', '[1,2,3]')", "vector has dimension 3, the store has dimension 4");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', X'0000803F')", "vector has dimension 1, the store has dimension 4");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', X'0000803F00')", "multiple of 4 bytes");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', X'0000C07F000000000000000000000000')", "not a finite number");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', '[1, 2, x, 4]')", "expected a number");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', '[0, 0, 0, 0]')", "zero vector");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('z', 7)", "JSON array of numbers or a float32 BLOB");
  FAILS(db, "INSERT INTO docs(id) VALUES ('z')", "embedding is required");
  FAILS(db, "INSERT INTO docs(id, embedding, metadata) VALUES ('z', '[1,0,0,0]', '[1,2]')", "not a JSON object");
  FAILS(db, "INSERT INTO docs(id, embedding, metadata) VALUES ('z', '[1,0,0,0]', '{\"a\":{\"b\":1}}')", "field 'a' nests");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('a', '[1,0,0,0]')", "UNIQUE constraint failed: docs.id");
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('', '[1,0,0,0]')", "id must be 1 to 4096 bytes");
  FAILS(db, "INSERT INTO docs(id, embedding, ttl) VALUES ('z', '[1,0,0,0]', -5)", "ttl must be");
  FAILS(db, "UPDATE docs SET embedding = '[1,2]' WHERE id = 'a'", "vector has dimension 2");
  FAILS(db, "UPDATE docs SET id = 'b' WHERE id = 'a'", "UNIQUE constraint failed");
  /* hidden and computed columns are read-only */
  const char *ro[] = {"distance", "score", "k", "filter", "ef_search", "explain"};
  for (int i = 0; i < 6; i++) {
    char *sql = sqlite3_mprintf("INSERT INTO docs(id, embedding, %s) VALUES ('z', '[1,0,0,0]', 1)", ro[i]);
    char *want = sqlite3_mprintf("column '%s' is read-only", ro[i]);
    FAILS(db, sql, want);
    sqlite3_free(sql);
    sqlite3_free(want);
  }
  FAILS(db, "UPDATE docs SET distance = 3 WHERE id = 'a'", "column 'distance' is read-only");
  FAILS(db, "INSERT INTO docs(docs) VALUES ('defragment')", "unknown command 'defragment'");
  /* queries */
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]'", "needs k");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 0", "k must be between 1 and 10000, got 0");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10001", "k must be between 1 and 10000");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 'ten'", "k must be an integer");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0]' AND k = 3", "vector has dimension 3, the store has dimension 4");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 3 AND filter = 'lang = '",
        "filter syntax error at position 7");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 3 AND filter = 'lang = ''en'' AND'", "filter syntax error");
  FAILS(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 3 AND ef_search = 0", "ef_search must be");
  FAILS(db, "SELECT id FROM docs WHERE k = 3", "need a KNN query");
  FAILS(db, "SELECT id FROM docs WHERE filter = 'lang = ''en'''", "need a KNN query");
  FAILS(db, "SELECT vecstore_stats('nope')", "no vecstore table named 'nope'");
  /* nothing above changed the table */
  CHECK_STR(rows(db, "SELECT group_concat(id) FROM (SELECT id FROM docs ORDER BY rowid)"), "a,b,c,d");
  CHECK_STR(rows(db, KNN_A), "a;b;c;d");
  sqlite3_close(db);
}

/* ROLLBACK, ROLLBACK TO, a failed statement: the table is exactly as before. */
static void test_rollback(void) {
  char *f = path("rollback.db");
  sqlite3 *db = open_db(f);
  fill_small(db);
  const char *state = "SELECT group_concat(id || ':' || hex(embedding) || ':' || coalesce(metadata, ''), ';') FROM (SELECT * FROM docs ORDER BY rowid)";
  char *before = rows(db, state);
  char *knn_before = rows(db, KNN_A);

  OK(db, "BEGIN; INSERT INTO docs(id, embedding) VALUES ('x', '[1,0,0,0]'); UPDATE docs SET metadata = '{\"lang\":\"xx\"}' WHERE id = 'b';"
         "UPDATE docs SET embedding = '[0,0,0,1]' WHERE id = 'a'; DELETE FROM docs WHERE id = 'c'; ROLLBACK");
  CHECK_STR(rows(db, state), before);
  CHECK_STR(rows(db, KNN_A), knn_before);
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 4 AND filter = 'lang = ''xx'''"), "");

  /* savepoints */
  OK(db, "BEGIN; INSERT INTO docs(id, embedding) VALUES ('s1', '[0,0,0,1]'); SAVEPOINT sp;"
         "INSERT INTO docs(id, embedding) VALUES ('s2', '[0,0,0,1]'); DELETE FROM docs WHERE id = 'a';"
         "ROLLBACK TO sp; RELEASE sp; COMMIT");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[0,0,0,1]' AND k = 2 ORDER BY distance"), "s1;a");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE id IN ('s2')"), "0");
  OK(db, "DELETE FROM docs WHERE id = 's1'");
  CHECK_STR(rows(db, state), before);

  /* a failed statement (3rd row has the wrong dimension) leaves nothing of its first rows */
  OK(db, "BEGIN");
  FAILS(db, "INSERT INTO docs(id, embedding) SELECT column1, column2 FROM (VALUES ('f1', '[1,0,0,0]'), ('f2', '[1,0,0,0]'), ('f3', '[1,0]'))",
        "vector has dimension 2");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE id LIKE 'f%'"), "0");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs_pending"), "0");
  OK(db, "COMMIT");
  CHECK_STR(rows(db, state), before);
  CHECK_STR(rows(db, KNN_A), knn_before);
  /* the same in autocommit mode */
  FAILS(db, "INSERT INTO docs(id, embedding) VALUES ('g1', '[1,0,0,0]'), ('a', '[1,0,0,0]')", "UNIQUE constraint failed");
  CHECK_STR(rows(db, state), before);
  CHECK_STR(rows(db, KNN_A), knn_before);

  /* ROLLBACK after the index was rebuilt inside the transaction (it left out the pending rows'
   * committed versions): rebuilt again before it answers */
  OK(db, "BEGIN; UPDATE docs SET embedding = '[0,0,0,1]' WHERE id = 'a'; INSERT INTO docs(docs) VALUES ('rebuild')");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[0,0,0,1]' AND k = 1"), "a");
  OK(db, "ROLLBACK");
  CHECK_STR(rows(db, KNN_A), knn_before);
  /* and after the database refuses a commit that xSync already applied: a deferred foreign key */
  OK(db, "PRAGMA foreign_keys = ON; CREATE TABLE parent(id INTEGER PRIMARY KEY);"
         "CREATE TABLE child(p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
  OK(db, "BEGIN; INSERT INTO docs(id, embedding) VALUES ('fk', '[1,0,0,0]'); INSERT INTO child VALUES (7)");
  FAILS(db, "COMMIT", "FOREIGN KEY constraint failed");
  OK(db, "ROLLBACK");
  CHECK_STR(rows(db, KNN_A), knn_before);
  CHECK_STR(rows(db, state), before);
  sqlite3_free(before);
  sqlite3_free(knn_before);
  sqlite3_close(db);
  sqlite3_free(f);
}

/* Inside a transaction a KNN query sees the transaction's own rows, updates and deletes. */
static void test_read_your_writes(void) {
  char *f = path("ryw.db");
  sqlite3 *db = open_db(f);
  fill_small(db);
  OK(db, "BEGIN");
  OK(db, "INSERT INTO docs(id, embedding, metadata) VALUES ('new', '[0.99, 0.01, 0, 0]', '{\"lang\":\"en\"}')");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 3 ORDER BY distance"), "a;new;b");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 3 AND filter = 'lang = ''en''' ORDER BY distance"), "a;new;c");
  OK(db, "DELETE FROM docs WHERE id = 'a'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 2 ORDER BY distance"), "new;b");
  OK(db, "UPDATE docs SET embedding = '[1, 0, 0, 0]' WHERE id = 'd'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 2 ORDER BY distance"), "d;new");
  OK(db, "UPDATE docs SET metadata = '{\"lang\":\"en\"}' WHERE id = 'b'");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 AND filter = 'lang = ''en''' ORDER BY distance"), "new;b;c");
  OK(db, "COMMIT");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 AND filter = 'lang = ''en''' ORDER BY distance"), "new;b;c");
  CHECK_STR(rows(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10 ORDER BY distance"), "d;new;b;c");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs_pending"), "0");
  sqlite3_close(db);
  sqlite3_free(f);
}

static void vec_for(int i, int dim, float *v) {
  for (int j = 0; j < dim; j++) v[j] = (float)sin(i * 0.37 + j * 1.3) + (j == i % dim ? 1.5f : 0.0f);
}

/* Bulk insert in one transaction; KNN finds every row by its own vector. */
static void test_bulk(void) {
  char *f = path("bulk.db");
  sqlite3 *db = open_db(f);
  OK(db, "CREATE VIRTUAL TABLE docs USING vecstore(dimension=16, metric=cosine)");
  sqlite3_stmt *ins = NULL;
  sqlite3_prepare_v2(db, "INSERT INTO docs(id, embedding, metadata) VALUES (?, ?, ?)", -1, &ins, NULL);
  OK(db, "BEGIN");
  float v[16];
  const int N = 3000;
  for (int i = 0; i < N; i++) {
    char id[32], meta[64];
    snprintf(id, sizeof id, "r%d", i);
    snprintf(meta, sizeof meta, "{\"par\":%d}", i % 2);
    vec_for(i, 16, v);
    sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 2, v, sizeof v, SQLITE_TRANSIENT); /* little-endian host */
    sqlite3_bind_text(ins, 3, meta, -1, SQLITE_TRANSIENT);
    CHECK(sqlite3_step(ins) == SQLITE_DONE);
    sqlite3_reset(ins);
  }
  OK(db, "COMMIT");
  sqlite3_finalize(ins);
  CHECK(int_of(db, "SELECT count(*) FROM docs") == N);
  CHECK(int_of(db, "SELECT json_extract(vecstore_stats('docs'), '$.index.count')") == N);
  sqlite3_stmt *q = NULL;
  sqlite3_prepare_v2(db, "SELECT id FROM docs WHERE embedding MATCH ? AND k = 1 AND filter = ?", -1, &q, NULL);
  int found = 0, tried = 0;
  for (int i = 0; i < N; i += 37) {
    vec_for(i, 16, v);
    sqlite3_bind_blob(q, 1, v, sizeof v, SQLITE_TRANSIENT);
    char filt[32];
    snprintf(filt, sizeof filt, "par = %d", i % 2);
    sqlite3_bind_text(q, 2, filt, -1, SQLITE_TRANSIENT);
    char id[32];
    snprintf(id, sizeof id, "r%d", i);
    if (sqlite3_step(q) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), id)) found++;
    tried++;
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  CHECK(found >= tried * 95 / 100);
  sqlite3_close(db);
  sqlite3_free(f);
}

/* A second connection: point lookups and writes work, KNN gets a clear busy error naming the lock;
 * the holder sees the second connection's commits (it rebuilds, never answers from stale data).
 * Connections one after another always see what was committed. */
static void test_connections(void) {
  char *f = path("conn.db");
  sqlite3 *a = open_db(f);
  fill_small(a);
  CHECK_STR(rows(a, KNN_A), "a;b;c;d"); /* a holds the index now */
  sqlite3 *b = open_db(f);
  CHECK_STR(rows(b, "SELECT metadata FROM docs WHERE id = 'b'"), "{\"lang\":\"de\",\"n\":2}");
  char *r = rows(b, KNN_A);
  CHECK(r && strstr(r, "ERROR") && strstr(r, "held by another connection") && strstr(r, "conn.db-vecstore-docs"));
  sqlite3_free(r);
  OK(b, "INSERT INTO docs(id, embedding) VALUES ('from_b', '[1, 0.001, 0, 0]')");
  OK(b, "DELETE FROM docs WHERE id = 'c'");
  CHECK_STR(rows(a, KNN_A), "a;from_b;b;d");
  sqlite3_close(a);
  /* the lock is free now: b takes the index */
  CHECK_STR(rows(b, KNN_A), "a;from_b;b;d");
  sqlite3_close(b);
  /* open, write, close; open, read */
  for (int i = 0; i < 3; i++) {
    sqlite3 *w = open_db(f);
    char *sql = sqlite3_mprintf("INSERT INTO docs(id, embedding) VALUES ('seq%d', '[0, 0, 0.5, %d]')", i, i + 1);
    OK(w, sql);
    sqlite3_free(sql);
    sqlite3_close(w);
    sqlite3 *rd = open_db(f);
    char *want = sqlite3_mprintf("seq%d", i);
    char *q = sqlite3_mprintf("SELECT id FROM docs WHERE embedding MATCH '[0,0,0.5,%d]' AND k = 1", i + 1);
    CHECK_STR(rows(rd, q), want);
    sqlite3_free(want);
    sqlite3_free(q);
    sqlite3_close(rd);
  }
  sqlite3_free(f);
}

/* VACUUM INTO and the online backup API: the copy, opened elsewhere, answers the same. */
static void test_backup(void) {
  char *f = path("orig.db"), *v = path("vacuumed.db"), *bk = path("backup.db");
  sqlite3 *db = open_db(f);
  fill_small(db);
  OK(db, "INSERT INTO docs(id, embedding) VALUES ('e', '[0.5, 0.5, 0, 0]')");
  const char *q = "SELECT id, round(distance, 5) FROM docs WHERE embedding MATCH '[0.7,0.3,0,0]' AND k = 5 ORDER BY distance";
  char *want = rows(db, q);
  char *sql = sqlite3_mprintf("VACUUM INTO '%q'", v);
  OK(db, sql);
  sqlite3_free(sql);
  sqlite3 *dst = open_db(bk);
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", db, "main");
  CHECK(b && sqlite3_backup_step(b, -1) == SQLITE_DONE);
  sqlite3_backup_finish(b);
  sqlite3_close(dst);
  /* the original keeps its index and keeps working */
  OK(db, "INSERT INTO docs(id, embedding) VALUES ('after', '[0.7, 0.3, 0, 0]')");
  sqlite3_close(db);
  const char *copies[] = {v, bk};
  for (int i = 0; i < 2; i++) {
    sqlite3 *c = open_db(copies[i]);
    CHECK_STR(rows(c, q), want);
    char *d = index_dir(c, "docs");
    CHECK(d && strstr(d, i == 0 ? "vacuumed.db-vecstore-docs" : "backup.db-vecstore-docs"));
    sqlite3_free(d);
    sqlite3_close(c);
  }
  sqlite3 *o = open_db(f);
  CHECK_STR(rows(o, "SELECT id FROM docs WHERE embedding MATCH '[0.7,0.3,0,0]' AND k = 1"), "after");
  sqlite3_close(o);
  sqlite3_free(want);
  sqlite3_free(f);
  sqlite3_free(v);
  sqlite3_free(bk);
}

/* DROP TABLE removes what CREATE made; a :memory: table's directory is temporary. */
static void test_drop_and_memory(void) {
  char *f = path("drop.db");
  sqlite3 *db = open_db(f);
  fill_small(db);
  char *d = index_dir(db, "docs");
  CHECK(d && exists(d));
  OK(db, "DROP TABLE docs");
  CHECK(d && !exists(d));
  CHECK_STR(rows(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'docs%'"), "0");
  sqlite3_free(d);
  sqlite3_close(db);
  sqlite3_free(f);

  db = open_db(":memory:");
  fill_small(db);
  CHECK_STR(rows(db, KNN_A), "a;b;c;d");
  d = index_dir(db, "docs");
  CHECK(d && exists(d) && strstr(d, "vecstore-mem-"));
  OK(db, "DROP TABLE docs");
  CHECK(d && !exists(d));
  sqlite3_free(d);
  fill_small(db);
  d = index_dir(db, "docs");
  CHECK(d && exists(d));
  sqlite3_close(db);
  CHECK(d && !exists(d)); /* closing a :memory: database removes its table's directory */
  sqlite3_free(d);
}

/* dir=: the index where the user says; a rebuild never removes files that are not the index's */
static void test_dir_option(void) {
  char *f = path("diropt.db"), *d = path("my-index");
  sqlite3 *db = open_db(f);
  char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE docs USING vecstore(dimension=4, dir='%q')", d);
  OK(db, sql);
  sqlite3_free(sql);
  OK(db, "INSERT INTO docs(id, embedding) VALUES ('a', '[1,0,0,0]')");
  CHECK_STR(index_dir(db, "docs"), d);
  char *keep = sqlite3_mprintf("%s/precious.txt", d);
  FILE *fp = fopen(keep, "w");
  CHECK(fp != NULL);
  if (fp) fclose(fp);
  FAILS(db, "INSERT INTO docs(docs) VALUES ('rebuild')", "refusing to remove it");
  CHECK(exists(keep));
  remove(keep);
  OK(db, "INSERT INTO docs(docs) VALUES ('rebuild')");
  CHECK_STR(rows(db, KNN_A), "a");
  sqlite3_close(db);
  sqlite3_free(keep);
  sqlite3_free(f);
  sqlite3_free(d);
}

/* TTL: the hidden ttl column; an expired row is invisible at once; 'expire' deletes it. */
static void test_ttl(void) {
  sqlite3 *db = open_db(":memory:");
  fill_small(db);
  OK(db, "INSERT INTO docs(id, embedding, ttl) VALUES ('short', '[1, 0, 0, 0]', 1), ('long', '[1, 0, 0, 0.01]', 3600)");
  CHECK(int_of(db, "SELECT ttl FROM docs WHERE id = 'long'") > 3500);
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10"), "6");
  sleep(2);
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10"), "5");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE id = 'short'"), "0");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs_data"), "6");
  OK(db, "INSERT INTO docs(docs) VALUES ('expire')");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs_data"), "5");
  CHECK_STR(rows(db, "SELECT count(*) FROM docs WHERE embedding MATCH '[1,0,0,0]' AND k = 10"), "5");
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------------------------- */
/* The crash test: a child runs transactions that write the vector table and an ordinary table
 * together; the parent SIGKILLs it at a random moment, reopens, and checks that both tables agree
 * on every row, every transaction the child saw committed is there, and KNN answers match an
 * exact scan of the ordinary table's copy of the vectors. */

#define CDIM 8

static void crash_child(const char *file, int fd, int start) {
  sqlite3 *db = open_db(file);
  sqlite3_stmt *v = NULL, *o = NULL, *del1 = NULL, *del2 = NULL;
  sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO docs(id, embedding, metadata) VALUES (?1, ?2, json_object('i', ?3))", -1, &v, NULL);
  sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO mirror(id, vec) VALUES (?1, ?2)", -1, &o, NULL);
  sqlite3_prepare_v2(db, "DELETE FROM docs WHERE id = ?1", -1, &del1, NULL);
  sqlite3_prepare_v2(db, "DELETE FROM mirror WHERE id = ?1", -1, &del2, NULL);
  srand((unsigned)getpid());
  for (int txn = start;; txn++) {
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int nrows = 1 + rand() % 20;
    for (int j = 0; j < nrows; j++) {
      int i = rand() % 400;
      char id[16];
      snprintf(id, sizeof id, "k%d", i);
      if (rand() % 5 == 0) {
        sqlite3_bind_text(del1, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_step(del1);
        sqlite3_reset(del1);
        sqlite3_bind_text(del2, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_step(del2);
        sqlite3_reset(del2);
        continue;
      }
      float vec[CDIM];
      vec_for(i * 1000 + txn, CDIM, vec);
      sqlite3_bind_text(v, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(v, 2, vec, sizeof vec, SQLITE_TRANSIENT);
      sqlite3_bind_int(v, 3, txn);
      if (sqlite3_step(v) != SQLITE_DONE) _exit(3);
      sqlite3_reset(v);
      sqlite3_bind_text(o, 1, id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(o, 2, vec, sizeof vec, SQLITE_TRANSIENT);
      if (sqlite3_step(o) != SQLITE_DONE) _exit(4);
      sqlite3_reset(o);
    }
    { /* every transaction also upserts the row 'marker' (metadata i = the transaction's number) */
      float vec[CDIM];
      vec_for(txn, CDIM, vec);
      sqlite3_bind_text(v, 1, "marker", -1, SQLITE_STATIC);
      sqlite3_bind_blob(v, 2, vec, sizeof vec, SQLITE_TRANSIENT);
      sqlite3_bind_int(v, 3, txn);
      if (sqlite3_step(v) != SQLITE_DONE) _exit(3);
      sqlite3_reset(v);
      sqlite3_bind_text(o, 1, "marker", -1, SQLITE_STATIC);
      sqlite3_bind_blob(o, 2, vec, sizeof vec, SQLITE_TRANSIENT);
      if (sqlite3_step(o) != SQLITE_DONE) _exit(4);
      sqlite3_reset(o);
    }
    if (rand() % 4 == 0) { /* sometimes a KNN inside the transaction (the scratch index) */
      sqlite3_exec(db, "SELECT id FROM docs WHERE embedding MATCH '[1,0,0,0,0,0,0,0]' AND k = 3", NULL, NULL, NULL);
    }
    if (rand() % 6 == 0) {
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      continue;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) _exit(5);
    if (write(fd, &txn, sizeof txn) != sizeof txn) _exit(6); /* the parent learns it committed */
  }
}

static float dotf(const float *a, const float *b) {
  float s = 0, na = 0, nb = 0;
  for (int i = 0; i < CDIM; i++) s += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
  return s / sqrtf(na * nb);
}

static void crash_check(const char *file, int last_committed) {
  sqlite3 *db = open_db(file);
  /* both tables hold the same ids with the same vectors */
  CHECK_STR(rows(db, "SELECT count(*) FROM docs d FULL JOIN mirror m ON m.id = d.id "
                     "WHERE d.id IS NULL OR m.id IS NULL OR d.embedding IS NOT m.vec"), "0");
  /* the last transaction the child reported committed is there: 'marker' holds its number or a
   * later one's (the child may commit once more before it can report) */
  if (last_committed >= 0) {
    char *sql = sqlite3_mprintf("SELECT json_extract(metadata, '$.i') >= %d FROM docs WHERE id = 'marker'", last_committed);
    CHECK(int_of(db, sql) == 1);
    sqlite3_free(sql);
  }
  /* KNN (the index, rebuilt or not) agrees with an exact scan of the mirror */
  sqlite3_stmt *all = NULL;
  sqlite3_prepare_v2(db, "SELECT id, vec FROM mirror", -1, &all, NULL);
  int n = 0;
  char ids[401][16];
  float vecs[401][CDIM];
  while (sqlite3_step(all) == SQLITE_ROW && n < 401) {
    snprintf(ids[n], 16, "%s", sqlite3_column_text(all, 0));
    memcpy(vecs[n], sqlite3_column_blob(all, 1), sizeof vecs[n]);
    n++;
  }
  sqlite3_finalize(all);
  sqlite3_stmt *q = NULL;
  sqlite3_prepare_v2(db, "SELECT id FROM docs WHERE embedding MATCH ? AND k = 1", -1, &q, NULL);
  int agree = 0, total = 0;
  for (int t = 0; t < 20 && n > 0; t++) {
    float qv[CDIM];
    vec_for(7919 * t + 13, CDIM, qv);
    int best = 0;
    for (int i = 1; i < n; i++)
      if (dotf(qv, vecs[i]) > dotf(qv, vecs[best])) best = i;
    sqlite3_bind_blob(q, 1, qv, sizeof qv, SQLITE_TRANSIENT);
    int rc = sqlite3_step(q);
    CHECK(rc == SQLITE_ROW);
    if (rc == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(q, 0), ids[best])) agree++;
    else if (rc == SQLITE_ROW) {
      /* a tie is fine: same similarity */
      for (int i = 0; i < n; i++)
        if (!strcmp(ids[i], (const char *)sqlite3_column_text(q, 0)) && fabsf(dotf(qv, vecs[i]) - dotf(qv, vecs[best])) < 1e-6f) agree++;
    }
    total++;
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  CHECK(agree == total);
  /* every id the index returns for a broad query exists in the mirror */
  CHECK_STR(rows(db, "SELECT count(*) FROM (SELECT id FROM docs WHERE embedding MATCH '[1,1,1,1,1,1,1,1]' AND k = 401) d "
                     "WHERE d.id NOT IN (SELECT id FROM mirror)"), "0");
  CHECK(int_of(db, "SELECT count(*) FROM (SELECT id FROM docs WHERE embedding MATCH '[1,1,1,1,1,1,1,1]' AND k = 401)") ==
        int_of(db, "SELECT count(*) FROM mirror"));
  sqlite3_close(db);
}

static void test_crash(void) {
  char *f = path("crash.db");
  sqlite3 *db = open_db(f);
  OK(db, "CREATE VIRTUAL TABLE docs USING vecstore(dimension=8, metric=cosine); CREATE TABLE mirror(id TEXT PRIMARY KEY, vec BLOB)");
  sqlite3_close(db);
  srand(12345);
  int rounds = getenv("VECSTORE_CRASH_ROUNDS") ? atoi(getenv("VECSTORE_CRASH_ROUNDS")) : 12;
  int start = 0;
  for (int r = 0; r < rounds; r++) {
    int fds[2];
    if (pipe(fds) != 0) { CHECK(0); return; }
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      crash_child(f, fds[1], start);
      _exit(0);
    }
    close(fds[1]);
    struct timespec ts = {0, 30000000L + (long)(rand() % 250) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int last = -1, x;
    while (read(fds[0], &x, sizeof x) == sizeof x) last = x;
    close(fds[0]);
    crash_check(f, last);
    start += 100000;
  }
  sqlite3_free(f);
}

/* ------------------------------------------------------------------------------------------- */

#define RUN(fn)                                                        \
  do {                                                                 \
    int before_ = failures;                                            \
    current = #fn;                                                     \
    fn();                                                              \
    printf("%s %s\n", failures == before_ ? "ok  " : "FAIL", #fn);     \
    fflush(stdout);                                                    \
  } while (0)

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(tmproot, sizeof tmproot, "%s/vecstore-sqlite-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmproot)) {
    perror("mkdtemp");
    return 2;
  }
  /* scratch and :memory: index directories go under $TMPDIR: keep them (and those a SIGKILLed crash
   * child leaves) inside the test's directory */
  setenv("TMPDIR", tmproot, 1);
  sqlite3_auto_extension((void (*)(void))sqlite3_vecstore_init);
  RUN(test_surface);
  RUN(test_errors);
  RUN(test_rollback);
  RUN(test_read_your_writes);
  RUN(test_bulk);
  RUN(test_connections);
  RUN(test_backup);
  RUN(test_drop_and_memory);
  RUN(test_dir_option);
  RUN(test_ttl);
  RUN(test_crash);
  sqlite3_reset_auto_extension();
  rm_tree(tmproot);
  printf("%d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
