/*
 * vecstore as a SQLite virtual table: a loadable extension written against include/vecstore.h only.
 *
 *   .load target/release/sqlite/vecstore
 *   CREATE VIRTUAL TABLE docs USING vecstore(dimension=384, metric=cosine);
 *   INSERT INTO docs(id, embedding, metadata) VALUES ('a', '[0.1, ...]', '{"lang":"en"}');
 *   SELECT id, distance FROM docs WHERE embedding MATCH :q AND k = 10 ORDER BY distance;
 *
 * Where the truth lives (see bindings/sqlite/README.md for the reasoning):
 *   <table>_data     (rowid, id, embedding, metadata, expires_at): every record, in the database file.
 *   <table>_config   (key, value): the CREATE options and `epoch`, a random number rewritten by every
 *                    transaction that changes the table.
 *   <table>_pending  (id): ids written by the open transaction and not yet applied to the index.
 * The vecstore directory is an index over <table>_data: at commit (xSync, still inside the
 * transaction) the pending ids are applied to it in bulk calls and the epoch it reflects is written
 * to <dir>/sqlite-epoch. An index whose epoch file is missing or differs from the database's epoch is
 * rebuilt from <table>_data. Rollbacks, savepoints and failed statements need no code here: they roll
 * back the shadow tables, pending list included.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "vecstore.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Columns of the virtual table, in declaration order. */
enum {
  COL_ID,
  COL_EMBEDDING,
  COL_METADATA,
  COL_DISTANCE,
  COL_SCORE,
  COL_K,
  COL_FILTER,
  COL_EF_SEARCH,
  COL_EXPLAIN,
  COL_TTL,
  COL_COMMAND /* named after the table, FTS5-style: INSERT INTO t(t) VALUES ('compact') */
};
static const char *const COL_NAMES[] = {"id",     "embedding", "metadata", "distance",
                                        "score",  "k",         "filter",   "ef_search",
                                        "explain", "ttl",      NULL};

/* Query plans chosen by xBestIndex. */
enum { PLAN_SCAN = 1, PLAN_ID = 2, PLAN_ROWID = 3, PLAN_KNN = 4 };
#define PLAN_EXPLAIN 0x100 /* idxNum flag: the explain column is read */

#define BULK_CHUNK 8192

/* ------------------------------------------------------------------------------------------- */
/* per-connection registry (for vecstore_stats) */

typedef struct vsx_table vsx_table;
typedef struct vsx_registry {
  vsx_table *head;
} vsx_registry;

struct vsx_table {
  sqlite3_vtab base;
  sqlite3 *db;
  vsx_registry *reg;
  vsx_table *next;
  char *schema;
  char *name;
  char *dbfile;   /* "" for :memory: and temporary databases */
  char *dir;      /* the index directory */
  int dir_is_temp;
  vs_store_options opts;
  vs_store *store;       /* NULL until first needed */
  sqlite3_int64 store_epoch;
  int store_epoch_valid; /* 0: the index must be rebuilt before it answers */
  int rebuilt_in_txn;    /* the index was rebuilt while pending rows existed */
  int synced;            /* xSync applied this transaction's rows to the index */
  /* read-your-writes: a scratch store holding this transaction's pending rows */
  vs_store *scratch;
  char *scratch_dir;
  sqlite3_int64 scratch_gen;
  sqlite3_int64 write_gen; /* bumped by every write through xUpdate */
  /* prepared statements of the hot paths, keyed by their (static) SQL text */
  struct {
    const char *fmt;
    sqlite3_stmt *st;
  } cache[24];
  int ncache;
};

static char *table_sql(vsx_table *t, const char *fmt) {
  /* fmt uses %1 for the schema and %2 for the table name (both quoted identifiers). */
  sqlite3_str *s = sqlite3_str_new(t->db);
  for (const char *p = fmt; *p; p++) {
    if (p[0] == '%' && p[1] == '1') {
      sqlite3_str_appendf(s, "\"%w\"", t->schema);
      p++;
    } else if (p[0] == '%' && p[1] == '2') {
      sqlite3_str_appendf(s, "%w", t->name);
      p++;
    } else {
      sqlite3_str_appendchar(s, 1, *p);
    }
  }
  return sqlite3_str_finish(s);
}

static void set_err(vsx_table *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sqlite3_free(t->base.zErrMsg);
  t->base.zErrMsg = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
}

/* Turns a vecstore error into the table's error message and an SQLite code; frees it. */
static int vs_fail(vsx_table *t, vs_status st, vs_error *e, const char *what) {
  set_err(t, "vecstore: %s: %s", what, e ? vs_error_message(e) : vs_status_name(st));
  vs_error_free(e);
  switch (st) {
    case VS_ERR_LOCKED: return SQLITE_BUSY;
    case VS_ERR_IO: return SQLITE_IOERR;
    case VS_ERR_CORRUPT: return SQLITE_CORRUPT;
    case VS_ERR_NOT_FOUND: return SQLITE_NOTFOUND;
    default: return SQLITE_ERROR;
  }
}

static int prep(vsx_table *t, sqlite3_stmt **st, const char *fmt) {
  char *sql = table_sql(t, fmt);
  if (!sql) return SQLITE_NOMEM;
  int rc = sqlite3_prepare_v2(t->db, sql, -1, st, NULL);
  if (rc != SQLITE_OK) set_err(t, "vecstore: %s (%s)", sqlite3_errmsg(t->db), sql);
  sqlite3_free(sql);
  return rc;
}

/* As prep, for a static SQL text: prepared once per table and kept; release with sqlite3_reset. */
static int prepc(vsx_table *t, sqlite3_stmt **st, const char *fmt) {
  for (int i = 0; i < t->ncache; i++) {
    if (t->cache[i].fmt == fmt) {
      sqlite3_reset(t->cache[i].st);
      sqlite3_clear_bindings(t->cache[i].st);
      *st = t->cache[i].st;
      return SQLITE_OK;
    }
  }
  int rc = prep(t, st, fmt);
  if (rc == SQLITE_OK && t->ncache < (int)(sizeof t->cache / sizeof *t->cache)) {
    t->cache[t->ncache].fmt = fmt;
    t->cache[t->ncache].st = *st;
    t->ncache++;
  }
  return rc;
}

static void cache_clear(vsx_table *t) {
  for (int i = 0; i < t->ncache; i++) sqlite3_finalize(t->cache[i].st);
  t->ncache = 0;
}

/* Runs one statement without results. */
static int exec_sql(vsx_table *t, const char *fmt) {
  char *sql = table_sql(t, fmt);
  if (!sql) return SQLITE_NOMEM;
  char *msg = NULL;
  int rc = sqlite3_exec(t->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) set_err(t, "vecstore: %s", msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  sqlite3_free(sql);
  return rc;
}

static sqlite3_int64 now_seconds(void) { return (sqlite3_int64)time(NULL); }

/* ------------------------------------------------------------------------------------------- */
/* files */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *dir) {
  struct stat st;
  if (dir && stat(dir, &st) == 0) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether `dir` holds only what a vecstore index holds (so that a rebuild may remove it): LOCK,
 * vecstore.*, snap-*, sqlite-epoch*. A missing directory counts as such. */
static int only_index_files(const char *dir, char **odd) {
  DIR *d = opendir(dir);
  if (!d) return 1;
  struct dirent *e;
  int ok = 1;
  while (ok && (e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "LOCK") || !strncmp(n, "vecstore.", 9) ||
        !strncmp(n, "snap-", 5) || !strncmp(n, "sqlite-epoch", 12))
      continue;
    ok = 0;
    *odd = sqlite3_mprintf("%s", n);
  }
  closedir(d);
  return ok;
}

static char *epoch_path(vsx_table *t) { return sqlite3_mprintf("%s/sqlite-epoch", t->dir); }

/* Reads <dir>/sqlite-epoch: "<epoch> <database file>". */
static void read_epoch_file(vsx_table *t) {
  t->store_epoch_valid = 0;
  char *p = epoch_path(t);
  FILE *f = p ? fopen(p, "r") : NULL;
  sqlite3_free(p);
  if (!f) return;
  char buf[4200];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *end = NULL;
  long long e = strtoll(buf, &end, 10);
  if (end == buf || *end != ' ') return;
  char *file = end + 1;
  size_t fl = strlen(file);
  if (fl && file[fl - 1] == '\n') file[fl - 1] = 0;
  if (strcmp(file, t->dbfile) != 0) return; /* an index made for another database file */
  t->store_epoch = e;
  t->store_epoch_valid = 1;
}

static int write_epoch_file(vsx_table *t, sqlite3_int64 e) {
  char *p = epoch_path(t);
  char *tmp = sqlite3_mprintf("%s/sqlite-epoch.tmp", t->dir);
  int ok = 0;
  if (p && tmp) {
    FILE *f = fopen(tmp, "w");
    if (f) {
      ok = fprintf(f, "%lld %s\n", (long long)e, t->dbfile) > 0;
      ok = (fclose(f) == 0) && ok;
      ok = ok && rename(tmp, p) == 0;
    }
  }
  sqlite3_free(p);
  sqlite3_free(tmp);
  if (ok) {
    t->store_epoch = e;
    t->store_epoch_valid = 1;
    return SQLITE_OK;
  }
  set_err(t, "vecstore: cannot write %s/sqlite-epoch: %s", t->dir, strerror(errno));
  return SQLITE_IOERR;
}

/* Marks the index as out of date: it is rebuilt before its next answer, even after a crash. */
static void mark_dirty(vsx_table *t) {
  t->store_epoch_valid = 0;
  char *p = epoch_path(t);
  if (p) unlink(p);
  sqlite3_free(p);
}

/* ------------------------------------------------------------------------------------------- */
/* vectors */

/* Parses a vector from a float32 BLOB or JSON text into a new array of exactly `dim` floats.
 * Wording of errors follows the library's. */
static int parse_vector(vsx_table *t, sqlite3_value *v, uint32_t dim, float **out, const char *what) {
  *out = NULL;
  int type = sqlite3_value_type(v);
  if (type == SQLITE_BLOB) {
    int n = sqlite3_value_bytes(v);
    if (n % 4 != 0) {
      set_err(t, "vecstore: %s: a float32 BLOB needs a multiple of 4 bytes, got %d", what, n);
      return SQLITE_ERROR;
    }
    if ((uint32_t)(n / 4) != dim) {
      set_err(t, "vecstore: %s: dimension mismatch: vector has dimension %d, the store has dimension %u",
              what, n / 4, dim);
      return SQLITE_ERROR;
    }
    float *f = sqlite3_malloc64((sqlite3_uint64)dim * 4 + 4);
    if (!f) return SQLITE_NOMEM;
    const unsigned char *b = sqlite3_value_blob(v);
    for (uint32_t i = 0; i < dim; i++) {
      uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                   (uint32_t)b[4 * i + 3] << 24;
      memcpy(&f[i], &u, 4);
    }
    *out = f;
  } else if (type == SQLITE_TEXT) {
    const char *s = (const char *)sqlite3_value_text(v);
    float *f = sqlite3_malloc64((sqlite3_uint64)dim * 4 + 4);
    if (!f) return SQLITE_NOMEM;
    const char *p = s;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p != '[') {
      sqlite3_free(f);
      set_err(t, "vecstore: %s: a vector is a JSON array of numbers or a float32 BLOB", what);
      return SQLITE_ERROR;
    }
    p++;
    uint32_t n = 0;
    for (;;) {
      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
      if (*p == ']' && n == 0) { p++; break; }
      char *end;
      double d = strtod(p, &end);
      if (end == p) {
        sqlite3_free(f);
        set_err(t, "vecstore: %s: bad JSON vector at byte %d: expected a number", what, (int)(p - s));
        return SQLITE_ERROR;
      }
      if (n < dim) f[n] = (float)d;
      n++;
      p = end;
      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
      if (*p == ',') { p++; continue; }
      if (*p == ']') { p++; break; }
      sqlite3_free(f);
      set_err(t, "vecstore: %s: bad JSON vector at byte %d: expected ',' or ']'", what, (int)(p - s));
      return SQLITE_ERROR;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p) {
      sqlite3_free(f);
      set_err(t, "vecstore: %s: bad JSON vector at byte %d: trailing text", what, (int)(p - s));
      return SQLITE_ERROR;
    }
    if (n != dim) {
      sqlite3_free(f);
      set_err(t, "vecstore: %s: dimension mismatch: vector has dimension %u, the store has dimension %u",
              what, n, dim);
      return SQLITE_ERROR;
    }
    *out = f;
  } else {
    set_err(t, "vecstore: %s: a vector is a JSON array of numbers or a float32 BLOB, not %s", what,
            type == SQLITE_NULL ? "NULL" : "a number");
    return SQLITE_ERROR;
  }
  int zero = 1;
  for (uint32_t i = 0; i < dim; i++) {
    if (!isfinite((*out)[i])) {
      set_err(t, "vecstore: %s: invalid argument: vector element %u is not a finite number", what, i);
      sqlite3_free(*out);
      *out = NULL;
      return SQLITE_ERROR;
    }
    if ((*out)[i] != 0.0f) zero = 0;
  }
  if (zero && t->opts.metric == VS_METRIC_COSINE) {
    set_err(t, "vecstore: %s: invalid argument: a zero vector has no direction (cosine store)", what);
    sqlite3_free(*out);
    *out = NULL;
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static void blob_to_floats(const void *blob, uint32_t dim, float *dst) {
  const unsigned char *b = blob;
  for (uint32_t i = 0; i < dim; i++) {
    uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                 (uint32_t)b[4 * i + 3] << 24;
    memcpy(&dst[i], &u, 4);
  }
}

static void floats_to_blob(const float *f, uint32_t dim, unsigned char *b) {
  for (uint32_t i = 0; i < dim; i++) {
    uint32_t u;
    memcpy(&u, &f[i], 4);
    b[4 * i] = u & 0xff;
    b[4 * i + 1] = (u >> 8) & 0xff;
    b[4 * i + 2] = (u >> 16) & 0xff;
    b[4 * i + 3] = (u >> 24) & 0xff;
  }
}

static double distance_of(const vsx_table *t, float score) {
  switch (t->opts.metric) {
    case VS_METRIC_COSINE: return 1.0 - (double)score;
    case VS_METRIC_EUCLIDEAN: return score > 0 ? 1.0 / (double)score - 1.0 : INFINITY;
    default: return -(double)score;
  }
}

/* ------------------------------------------------------------------------------------------- */
/* the index: open, check, rebuild, apply */

static int db_epoch(vsx_table *t, sqlite3_int64 *out) {
  sqlite3_stmt *st = NULL;
  int rc = prepc(t, &st, "SELECT value FROM %1.%2_config WHERE key = 'epoch'");
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  } else {
    set_err(t, "vecstore: %s_config has no epoch: %s", t->name, sqlite3_errmsg(t->db));
    rc = SQLITE_CORRUPT_VTAB;
  }
  sqlite3_reset(st);
  return rc;
}

static int open_store(vsx_table *t) {
  if (t->store) return SQLITE_OK;
  vs_error *e = NULL;
  vs_status st = vs_store_open(t->dir, &t->opts, &t->store, &e);
  if (st != VS_OK) {
    if (st == VS_ERR_LOCKED) {
      set_err(t,
              "vecstore: the index of table \"%s\" (%s) is held by another connection: %s. KNN queries "
              "need it; point lookups and writes work from every connection (the holder rebuilds its "
              "index on its next query)",
              t->name, t->dir, e ? vs_error_message(e) : "locked");
      vs_error_free(e);
      return SQLITE_BUSY;
    }
    return vs_fail(t, st, e, "opening the index");
  }
  read_epoch_file(t);
  return SQLITE_OK;
}

/* Feeds rows (id, embedding, metadata, expires_at) from `st` to the store: plain rows in bulk
 * (vs_store_upsert_many, BULK_CHUNK at a time), rows with an expiry one by one; a row whose
 * embedding is NULL (LEFT JOIN: gone from the table) is deleted from the store. */
static int feed_rows(vsx_table *t, vs_store *store, sqlite3_stmt *st, sqlite3_int64 *fed) {
  uint32_t dim = t->opts.dimension;
  char **ids = sqlite3_malloc64(sizeof(char *) * BULK_CHUNK);
  char **metas = sqlite3_malloc64(sizeof(char *) * BULK_CHUNK);
  float *vecs = sqlite3_malloc64((sqlite3_uint64)BULK_CHUNK * dim * sizeof(float));
  int rc = SQLITE_OK;
  size_t n = 0;
  sqlite3_int64 now = now_seconds();
  if (!ids || !metas || !vecs) rc = SQLITE_NOMEM;
  vs_error *e = NULL;
  vs_status vst;
#define FLUSH()                                                                                   \
  do {                                                                                            \
    if (n > 0) {                                                                                  \
      vst = vs_store_upsert_many(store, n, (const char *const *)ids, vecs, dim,                  \
                                 (const char *const *)metas, &e);                                \
      for (size_t i_ = 0; i_ < n; i_++) {                                                         \
        sqlite3_free(ids[i_]);                                                                    \
        sqlite3_free(metas[i_]);                                                                  \
      }                                                                                           \
      if (fed) *fed += (sqlite3_int64)n;                                                          \
      n = 0;                                                                                      \
      if (vst != VS_OK) rc = vs_fail(t, vst, e, "writing to the index");                         \
    }                                                                                             \
  } while (0)
  while (rc == SQLITE_OK) {
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) break;
    if (s != SQLITE_ROW) {
      set_err(t, "vecstore: reading %s_data: %s", t->name, sqlite3_errmsg(t->db));
      rc = s;
      break;
    }
    const char *id = (const char *)sqlite3_column_text(st, 0);
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
      vst = vs_store_delete(store, id, &e);
      if (vst != VS_OK && vst != VS_ERR_NOT_FOUND) rc = vs_fail(t, vst, e, "deleting from the index");
      else vs_error_free(e);
      e = NULL;
      continue;
    }
    if (sqlite3_column_bytes(st, 1) != (int)(dim * 4)) {
      set_err(t, "vecstore: %s_data holds a vector of %d bytes for id '%s' (expected %u)", t->name,
              sqlite3_column_bytes(st, 1), id, dim * 4);
      rc = SQLITE_CORRUPT_VTAB;
      break;
    }
    const char *meta = (const char *)sqlite3_column_text(st, 2);
    if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
      sqlite3_int64 exp = sqlite3_column_int64(st, 3);
      float *one = sqlite3_malloc64(dim * sizeof(float));
      if (!one) { rc = SQLITE_NOMEM; break; }
      blob_to_floats(sqlite3_column_blob(st, 1), dim, one);
      if (exp <= now) {
        vst = vs_store_delete(store, id, &e);
        if (vst == VS_ERR_NOT_FOUND) vst = VS_OK;
      } else {
        vst = vs_store_upsert_with_ttl(store, id, one, dim, meta, (uint64_t)(exp - now), &e);
      }
      sqlite3_free(one);
      if (vst != VS_OK) rc = vs_fail(t, vst, e, "writing to the index");
      else vs_error_free(e);
      e = NULL;
      continue;
    }
    ids[n] = sqlite3_mprintf("%s", id);
    metas[n] = meta ? sqlite3_mprintf("%s", meta) : NULL;
    blob_to_floats(sqlite3_column_blob(st, 1), dim, vecs + (size_t)n * dim);
    n++;
    if (n == BULK_CHUNK) FLUSH();
  }
  if (rc == SQLITE_OK) FLUSH();
  for (size_t i = 0; i < n; i++) {
    sqlite3_free(ids[i]);
    sqlite3_free(metas[i]);
  }
#undef FLUSH
  sqlite3_free(ids);
  sqlite3_free(metas);
  sqlite3_free(vecs);
  return rc;
}

static sqlite3_int64 count_pending(vsx_table *t) {
  sqlite3_stmt *st = NULL;
  sqlite3_int64 n = -1;
  if (prepc(t, &st, "SELECT count(*) FROM %1.%2_pending") == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return n;
}

/* Throws the index away and builds it again from <table>_data: every row not pending in the open
 * transaction (pending rows are answered from the scratch store and applied at commit). */
static int rebuild(vsx_table *t, sqlite3_int64 epoch) {
  char *odd = NULL;
  if (!only_index_files(t->dir, &odd)) {
    set_err(t, "vecstore: the index of \"%s\" needs a rebuild, but %s holds '%s', which is not a "
               "vecstore file: refusing to remove it (move it away, or choose another dir=)", t->name, t->dir, odd);
    sqlite3_free(odd);
    return SQLITE_ERROR;
  }
  vs_store_close(t->store);
  t->store = NULL;
  remove_tree(t->dir);
  int rc = open_store(t);
  if (rc != SQLITE_OK) return rc;
  mark_dirty(t);
  sqlite3_stmt *st = NULL;
  rc = prep(t, &st,
            "SELECT id, embedding, metadata, expires_at FROM %1.%2_data "
            "WHERE id NOT IN (SELECT id FROM %1.%2_pending) ORDER BY rowid");
  if (rc != SQLITE_OK) return rc;
  rc = feed_rows(t, t->store, st, NULL);
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return rc;
  vs_error *e = NULL;
  vs_status vst = vs_store_flush(t->store, &e);
  if (vst != VS_OK) return vs_fail(t, vst, e, "flushing the index");
  if (count_pending(t) > 0) t->rebuilt_in_txn = 1;
  return write_epoch_file(t, epoch);
}

/* Makes sure the index is open and reflects the database's committed state (for every id not
 * pending in this transaction). */
static int ensure_index(vsx_table *t) {
  int rc = open_store(t);
  if (rc != SQLITE_OK) return rc;
  sqlite3_int64 e;
  rc = db_epoch(t, &e);
  if (rc != SQLITE_OK) return rc;
  if (t->store_epoch_valid && t->store_epoch == e) return SQLITE_OK;
  return rebuild(t, e);
}

static void drop_scratch(vsx_table *t) {
  vs_store_close(t->scratch);
  t->scratch = NULL;
  if (t->scratch_dir) remove_tree(t->scratch_dir);
  sqlite3_free(t->scratch_dir);
  t->scratch_dir = NULL;
}

/* The scratch store: this transaction's pending rows, for read-your-writes KNN. */
static int ensure_scratch(vsx_table *t) {
  if (t->scratch && t->scratch_gen == t->write_gen) return SQLITE_OK;
  drop_scratch(t);
  const char *tmp = getenv("TMPDIR");
  char *tmpl = sqlite3_mprintf("%s/vecstore-txn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!tmpl) return SQLITE_NOMEM;
  if (!mkdtemp(tmpl)) {
    set_err(t, "vecstore: cannot create a temporary directory %s: %s", tmpl, strerror(errno));
    sqlite3_free(tmpl);
    return SQLITE_IOERR;
  }
  t->scratch_dir = tmpl;
  vs_store_options o = t->opts;
  o.build_threads = 1;
  vs_error *e = NULL;
  vs_status vst = vs_store_open(t->scratch_dir, &o, &t->scratch, &e);
  if (vst != VS_OK) {
    drop_scratch(t);
    return vs_fail(t, vst, e, "opening the transaction's scratch index");
  }
  sqlite3_stmt *st = NULL;
  int rc = prep(t, &st,
                "SELECT d.id, d.embedding, d.metadata, d.expires_at FROM %1.%2_pending p "
                "JOIN %1.%2_data d ON d.id = p.id");
  if (rc == SQLITE_OK) rc = feed_rows(t, t->scratch, st, NULL);
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    drop_scratch(t);
    return rc;
  }
  t->scratch_gen = t->write_gen;
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------------------------- */
/* create / connect */

static int parse_metric(const char *v, vs_metric *m) {
  if (!sqlite3_stricmp(v, "cosine")) *m = VS_METRIC_COSINE;
  else if (!sqlite3_stricmp(v, "euclidean") || !sqlite3_stricmp(v, "l2")) *m = VS_METRIC_EUCLIDEAN;
  else if (!sqlite3_stricmp(v, "dot") || !sqlite3_stricmp(v, "ip")) *m = VS_METRIC_DOT;
  else return 0;
  return 1;
}

static const char *metric_name(vs_metric m) {
  return m == VS_METRIC_COSINE ? "cosine" : m == VS_METRIC_EUCLIDEAN ? "euclidean" : "dot";
}

static int parse_uint(const char *v, unsigned long long max, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (end == v || *end || errno || x > max || *v == '-') return 0;
  *out = (uint32_t)x;
  return 1;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n')) s[--n] = 0;
  if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
    s[n - 1] = 0;
    s++;
  }
  return s;
}

/* Reads `key=value` arguments of CREATE VIRTUAL TABLE into the options and the directory. */
static int parse_args(int argc, const char *const *argv, vs_store_options *o, char **dir, char **err) {
  int have_dim = 0;
  for (int i = 3; i < argc; i++) {
    char *a = sqlite3_mprintf("%s", argv[i]);
    if (!a) return SQLITE_NOMEM;
    char *eq = strchr(a, '=');
    if (!eq) {
      *err = sqlite3_mprintf("vecstore: argument '%s' is not key=value (keys: dimension, metric, m, "
                             "ef_construction, ef_search, build_threads, dir)", argv[i]);
      sqlite3_free(a);
      return SQLITE_ERROR;
    }
    *eq = 0;
    char *k = trim(a), *v = trim(eq + 1);
    int ok = 1;
    if (!sqlite3_stricmp(k, "dimension")) ok = parse_uint(v, VS_MAX_DIMENSION, &o->dimension) && o->dimension > 0, have_dim = 1;
    else if (!sqlite3_stricmp(k, "metric")) ok = parse_metric(v, &o->metric);
    else if (!sqlite3_stricmp(k, "m")) ok = parse_uint(v, 256, &o->hnsw_m) && o->hnsw_m >= 2;
    else if (!sqlite3_stricmp(k, "ef_construction")) ok = parse_uint(v, 100000, &o->ef_construction) && o->ef_construction >= 1;
    else if (!sqlite3_stricmp(k, "ef_search")) ok = parse_uint(v, 100000, &o->ef_search) && o->ef_search >= 1;
    else if (!sqlite3_stricmp(k, "build_threads")) ok = parse_uint(v, 1024, &o->build_threads);
    else if (!sqlite3_stricmp(k, "dir")) { sqlite3_free(*dir); *dir = sqlite3_mprintf("%s", v); }
    else {
      *err = sqlite3_mprintf("vecstore: unknown option '%s' (options: dimension, metric, m, "
                             "ef_construction, ef_search, build_threads, dir)", k);
      sqlite3_free(a);
      return SQLITE_ERROR;
    }
    if (!ok) {
      *err = sqlite3_mprintf("vecstore: bad value for %s: '%s'%s", k, v,
                             !sqlite3_stricmp(k, "metric") ? " (cosine, euclidean or dot)" : "");
      sqlite3_free(a);
      return SQLITE_ERROR;
    }
    sqlite3_free(a);
  }
  if (!have_dim) {
    *err = sqlite3_mprintf("vecstore: dimension=N is required, e.g. USING vecstore(dimension=384, metric=cosine)");
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

static void table_free(vsx_table *t) {
  if (!t) return;
  cache_clear(t);
  drop_scratch(t);
  vs_store_close(t->store);
  if (t->dir_is_temp) remove_tree(t->dir);
  if (t->reg) {
    for (vsx_table **p = &t->reg->head; *p; p = &(*p)->next)
      if (*p == t) { *p = t->next; break; }
  }
  sqlite3_free(t->schema);
  sqlite3_free(t->name);
  sqlite3_free(t->dbfile);
  sqlite3_free(t->dir);
  sqlite3_free(t->base.zErrMsg);
  sqlite3_free(t);
}

static int config_get(vsx_table *t, const char *key, char **out) {
  sqlite3_stmt *st = NULL;
  int rc = prep(t, &st, "SELECT value FROM %1.%2_config WHERE key = ?");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  *out = NULL;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    *out = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
  return sqlite3_finalize(st);
}

static int vsx_init(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                    char **err, int create) {
  vsx_table *t = sqlite3_malloc(sizeof *t);
  if (!t) return SQLITE_NOMEM;
  memset(t, 0, sizeof *t);
  t->db = db;
  t->schema = sqlite3_mprintf("%s", argv[1]);
  t->name = sqlite3_mprintf("%s", argv[2]);
  const char *f = sqlite3_db_filename(db, argv[1]);
  t->dbfile = sqlite3_mprintf("%s", f ? f : "");
  t->opts = vs_store_options_default();
  char *dir = NULL;
  int rc = SQLITE_OK;
  if (create) {
    rc = parse_args(argc, argv, &t->opts, &dir, err);
    if (rc == SQLITE_OK) {
      sqlite3_int64 epoch;
      sqlite3_randomness(sizeof epoch, &epoch);
      char *sql = table_sql(t,
          "CREATE TABLE %1.%2_config(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
          "CREATE TABLE %1.%2_data(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
          "embedding BLOB NOT NULL, metadata TEXT, expires_at INTEGER);"
          "CREATE TABLE %1.%2_pending(id TEXT PRIMARY KEY) WITHOUT ROWID;");
      char *msg = NULL;
      rc = sql ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_NOMEM;
      sqlite3_free(sql);
      if (rc == SQLITE_OK) {
        char *ins = sqlite3_mprintf(
            "INSERT INTO \"%w\".\"%w_config\"(key, value) VALUES ('dimension', %u), ('metric', '%s'), "
            "('m', %u), ('ef_construction', %u), ('ef_search', %u), ('build_threads', %u), "
            "('epoch', %lld), ('dir', %Q)",
            t->schema, t->name, t->opts.dimension, metric_name(t->opts.metric), t->opts.hnsw_m,
            t->opts.ef_construction, t->opts.ef_search, t->opts.build_threads, (long long)epoch, dir);
        rc = ins ? sqlite3_exec(db, ins, NULL, NULL, &msg) : SQLITE_NOMEM;
        sqlite3_free(ins);
      }
      if (rc != SQLITE_OK) *err = sqlite3_mprintf("vecstore: %s", msg ? msg : sqlite3_errstr(rc));
      sqlite3_free(msg);
    }
  } else {
    const char *keys[] = {"dimension", "metric", "m", "ef_construction", "ef_search", "build_threads"};
    for (int i = 0; i < 6 && rc == SQLITE_OK; i++) {
      char *v = NULL;
      rc = config_get(t, keys[i], &v);
      if (rc == SQLITE_OK && !v) rc = SQLITE_CORRUPT_VTAB;
      if (rc == SQLITE_OK) {
        int ok = i == 1 ? parse_metric(v, &t->opts.metric)
                        : parse_uint(v, 1u << 20, i == 0 ? &t->opts.dimension : i == 2 ? &t->opts.hnsw_m
                                                        : i == 3 ? &t->opts.ef_construction
                                                        : i == 4 ? &t->opts.ef_search
                                                                 : &t->opts.build_threads);
        if (!ok) rc = SQLITE_CORRUPT_VTAB;
      }
      sqlite3_free(v);
    }
    if (rc == SQLITE_OK) rc = config_get(t, "dir", &dir);
    if (rc != SQLITE_OK) *err = sqlite3_mprintf("vecstore: cannot read %s_config: %s", t->name, sqlite3_errmsg(db));
  }
  if (rc == SQLITE_OK) {
    if (dir && *dir) {
      t->dir = dir;
      dir = NULL;
    } else if (t->dbfile[0]) {
      t->dir = sqlite3_mprintf("%s-vecstore-%s", t->dbfile, t->name);
    } else {
      const char *tmp = getenv("TMPDIR");
      char *tmpl = sqlite3_mprintf("%s/vecstore-mem-XXXXXX", tmp && *tmp ? tmp : "/tmp");
      if (tmpl && mkdtemp(tmpl)) {
        t->dir = tmpl;
        t->dir_is_temp = 1;
      } else {
        *err = sqlite3_mprintf("vecstore: cannot create a temporary directory: %s", strerror(errno));
        sqlite3_free(tmpl);
        rc = SQLITE_IOERR;
      }
    }
  }
  sqlite3_free(dir);
  if (rc == SQLITE_OK) {
    char *decl = sqlite3_mprintf(
        "CREATE TABLE x(id TEXT, embedding BLOB, metadata TEXT, distance REAL, score REAL, "
        "k HIDDEN, filter HIDDEN, ef_search HIDDEN, explain HIDDEN, ttl HIDDEN, \"%w\" HIDDEN)",
        t->name);
    rc = decl ? sqlite3_declare_vtab(db, decl) : SQLITE_NOMEM;
    sqlite3_free(decl);
    if (rc != SQLITE_OK && !*err) *err = sqlite3_mprintf("vecstore: %s", sqlite3_errmsg(db));
  }
  if (rc == SQLITE_OK) sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  if (rc != SQLITE_OK) {
    table_free(t);
    return rc;
  }
  t->reg = aux;
  t->next = t->reg->head;
  t->reg->head = t;
  *out = &t->base;
  return SQLITE_OK;
}

static int vsx_create(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err) {
  return vsx_init(db, aux, argc, argv, out, err, 1);
}
static int vsx_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err) {
  return vsx_init(db, aux, argc, argv, out, err, 0);
}
static int vsx_disconnect(sqlite3_vtab *v) {
  table_free((vsx_table *)v);
  return SQLITE_OK;
}
static int vsx_destroy(sqlite3_vtab *v) {
  vsx_table *t = (vsx_table *)v;
  cache_clear(t);
  int rc = exec_sql(t, "DROP TABLE IF EXISTS %1.%2_data; DROP TABLE IF EXISTS %1.%2_config; "
                       "DROP TABLE IF EXISTS %1.%2_pending;");
  if (rc != SQLITE_OK) return rc;
  drop_scratch(t);
  vs_store_close(t->store);
  t->store = NULL;
  char *odd = NULL;
  if (only_index_files(t->dir, &odd)) remove_tree(t->dir); /* never a directory with other files */
  sqlite3_free(odd);
  table_free(t);
  return SQLITE_OK;
}

static int vsx_shadow_name(const char *suffix) {
  return !sqlite3_stricmp(suffix, "data") || !sqlite3_stricmp(suffix, "config") ||
         !sqlite3_stricmp(suffix, "pending");
}

/* ------------------------------------------------------------------------------------------- */
/* planning */

static int vsx_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  int match = -1, kc = -1, filt = -1, ef = -1, limit = -1, idc = -1, rowid = -1;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn == COL_EMBEDDING && c->op == SQLITE_INDEX_CONSTRAINT_MATCH) {
      if (!c->usable) return SQLITE_CONSTRAINT;
      match = i;
    } else if (c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      if (c->iColumn == COL_K || c->iColumn == COL_FILTER || c->iColumn == COL_EF_SEARCH) {
        if (!c->usable) return SQLITE_CONSTRAINT;
        if (c->iColumn == COL_K) kc = i;
        else if (c->iColumn == COL_FILTER) filt = i;
        else ef = i;
      } else if (c->usable && c->iColumn == COL_ID) idc = i;
      else if (c->usable && c->iColumn == -1) rowid = i;
    } else if (c->op == SQLITE_INDEX_CONSTRAINT_LIMIT && c->usable) {
      limit = i;
    }
  }
  /* idxStr lists what each argv of xFilter is: M(atch) k f(ilter) e(f_search) l(imit) i(d) r(owid) */
  char plan[8];
  int n = 0, argi = 1;
#define USE(ci, ch)                                      \
  do {                                                   \
    if ((ci) >= 0) {                                     \
      info->aConstraintUsage[ci].argvIndex = argi++;     \
      info->aConstraintUsage[ci].omit = 1;               \
      plan[n++] = (ch);                                  \
    }                                                    \
  } while (0)
  if (match >= 0) {
    info->idxNum = PLAN_KNN | ((info->colUsed >> COL_EXPLAIN) & 1 ? PLAN_EXPLAIN : 0);
    USE(match, 'M');
    USE(kc, 'k');
    USE(filt, 'f');
    USE(ef, 'e');
    if (kc < 0) USE(limit, 'l');
    info->estimatedCost = 10.0;
    info->estimatedRows = 10;
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == COL_DISTANCE && !info->aOrderBy[0].desc)
      info->orderByConsumed = 1;
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == COL_SCORE && info->aOrderBy[0].desc)
      info->orderByConsumed = 1;
  } else if (kc >= 0 || filt >= 0 || ef >= 0) {
    /* k / filter / ef_search without MATCH: xFilter reports it (never silently ignored). */
    info->idxNum = PLAN_SCAN;
    USE(kc, 'k');
    USE(filt, 'f');
    USE(ef, 'e');
    info->estimatedCost = 1e12;
  } else if (rowid >= 0) {
    info->idxNum = PLAN_ROWID;
    USE(rowid, 'r');
    info->estimatedCost = 1.0;
    info->estimatedRows = 1;
    info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
  } else if (idc >= 0) {
    info->idxNum = PLAN_ID;
    USE(idc, 'i');
    info->estimatedCost = 2.0;
    info->estimatedRows = 1;
    info->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
  } else {
    info->idxNum = PLAN_SCAN;
    info->estimatedCost = 1e6;
  }
#undef USE
  plan[n] = 0;
  info->idxStr = sqlite3_mprintf("%s", plan);
  info->needToFreeIdxStr = 1;
  (void)v;
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------------------------- */
/* cursors */

typedef struct knn_row {
  char *id;
  float score;
  sqlite3_int64 rowid;
  char *explain;
} knn_row;

typedef struct vsx_cursor {
  sqlite3_vtab_cursor base;
  int plan;
  sqlite3_stmt *scan;   /* PLAN_SCAN / PLAN_ID / PLAN_ROWID: rowid, id, embedding, metadata, expires_at */
  int eof;
  knn_row *rows;        /* PLAN_KNN */
  size_t nrows, pos;
  sqlite3_stmt *lookup; /* PLAN_KNN: embedding, metadata, expires_at by rowid */
  sqlite3_int64 looked_up;
} vsx_cursor;

static int vsx_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  vsx_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  (void)v;
  *out = &c->base;
  return SQLITE_OK;
}

static void cursor_reset(vsx_cursor *c) {
  sqlite3_finalize(c->scan);
  c->scan = NULL;
  for (size_t i = 0; i < c->nrows; i++) {
    sqlite3_free(c->rows[i].id);
    sqlite3_free(c->rows[i].explain);
  }
  sqlite3_free(c->rows);
  c->rows = NULL;
  c->nrows = c->pos = 0;
  c->eof = 1;
  c->looked_up = 0;
  sqlite3_reset(c->lookup);
}

static int vsx_close(sqlite3_vtab_cursor *cur) {
  vsx_cursor *c = (vsx_cursor *)cur;
  cursor_reset(c);
  sqlite3_finalize(c->lookup);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int scan_step(vsx_cursor *c) {
  vsx_table *t = (vsx_table *)c->base.pVtab;
  int rc = sqlite3_step(c->scan);
  if (rc == SQLITE_ROW) {
    c->eof = 0;
    return SQLITE_OK;
  }
  c->eof = 1;
  if (rc == SQLITE_DONE) return SQLITE_OK;
  set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
  return rc;
}

/* Runs one query against `store`, appending rows (skipping ids listed in `skip`, when given). */
static int run_query(vsx_table *t, const vs_store *store, const vs_query *q, int explain, sqlite3_stmt *skip,
                     knn_row **rows, size_t *n, size_t *cap) {
  vs_results *r = NULL;
  vs_error *e = NULL;
  vs_status st = explain ? vs_store_query_explain(store, q, &r, &e) : vs_store_query(store, q, &r, &e);
  if (st != VS_OK) return vs_fail(t, st, e, "query");
  size_t len = vs_results_len(r);
  int rc = SQLITE_OK;
  for (size_t i = 0; i < len && rc == SQLITE_OK; i++) {
    const char *id = vs_results_id(r, i);
    if (skip) {
      sqlite3_bind_text(skip, 1, id, -1, SQLITE_STATIC);
      int hit = sqlite3_step(skip) == SQLITE_ROW;
      sqlite3_reset(skip);
      if (hit) continue;
    }
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 16;
      knn_row *nr = sqlite3_realloc64(*rows, nc * sizeof **rows);
      if (!nr) { rc = SQLITE_NOMEM; break; }
      *rows = nr;
      *cap = nc;
    }
    knn_row *row = &(*rows)[(*n)++];
    row->id = sqlite3_mprintf("%s", id);
    row->score = vs_results_score(r, i);
    row->rowid = 0;
    const char *ex = explain ? vs_results_explanation_json(r, i) : NULL;
    row->explain = ex ? sqlite3_mprintf("%s", ex) : NULL;
  }
  vs_results_free(r);
  return rc;
}

static int cmp_rows(const void *a, const void *b) {
  float x = ((const knn_row *)a)->score, y = ((const knn_row *)b)->score;
  return x > y ? -1 : x < y ? 1 : 0;
}

static int knn_filter(vsx_cursor *c, const char *plan, int argc, sqlite3_value **argv) {
  vsx_table *t = (vsx_table *)c->base.pVtab;
  sqlite3_value *match = NULL;
  sqlite3_int64 k = -1;
  const char *filter = NULL;
  sqlite3_int64 ef = 0;
  for (int i = 0; i < argc && plan[i]; i++) {
    switch (plan[i]) {
      case 'M': match = argv[i]; break;
      case 'k':
      case 'l':
        if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER) {
          set_err(t, "vecstore: k must be an integer between 1 and %d", VS_MAX_K);
          return SQLITE_ERROR;
        }
        k = sqlite3_value_int64(argv[i]);
        break;
      case 'f':
        if (sqlite3_value_type(argv[i]) != SQLITE_NULL) filter = (const char *)sqlite3_value_text(argv[i]);
        break;
      case 'e':
        if (sqlite3_value_type(argv[i]) != SQLITE_INTEGER || sqlite3_value_int64(argv[i]) < 1 ||
            sqlite3_value_int64(argv[i]) > 100000) {
          set_err(t, "vecstore: ef_search must be an integer between 1 and 100000");
          return SQLITE_ERROR;
        }
        ef = sqlite3_value_int64(argv[i]);
        break;
    }
  }
  if (k < 0) {
    set_err(t, "vecstore: a KNN query needs k: WHERE embedding MATCH ? AND k = 10 (or LIMIT 10)");
    return SQLITE_ERROR;
  }
  if (k < 1 || k > VS_MAX_K) {
    set_err(t, "vecstore: k must be between 1 and %d, got %lld", VS_MAX_K, (long long)k);
    return SQLITE_ERROR;
  }
  float *vec = NULL;
  int rc = parse_vector(t, match, t->opts.dimension, &vec, "the MATCH vector");
  if (rc != SQLITE_OK) return rc;
  rc = ensure_index(t);
  sqlite3_int64 np = rc == SQLITE_OK ? count_pending(t) : 0;
  int explain = (c->plan & PLAN_EXPLAIN) != 0;
  vs_query q = vs_query_default();
  q.vector = vec;
  q.dim = t->opts.dimension;
  q.filter = filter;
  q.ef_search = (uint32_t)ef;
  knn_row *rows = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *skip = NULL;
  if (rc == SQLITE_OK && np > 0) rc = prepc(t, &skip, "SELECT 1 FROM %1.%2_pending WHERE id = ?");
  if (rc == SQLITE_OK) {
    sqlite3_int64 kk = k + np;
    q.k = (uint32_t)(kk > VS_MAX_K ? VS_MAX_K : kk);
    rc = run_query(t, t->store, &q, explain, skip, &rows, &n, &cap);
  }
  if (rc == SQLITE_OK && np > 0) {
    rc = ensure_scratch(t);
    if (rc == SQLITE_OK) {
      q.k = (uint32_t)k;
      rc = run_query(t, t->scratch, &q, explain, NULL, &rows, &n, &cap);
    }
    if (n > 1) qsort(rows, n, sizeof *rows, cmp_rows);
  }
  if (skip) sqlite3_reset(skip);
  sqlite3_free(vec);
  c->rows = rows;
  c->nrows = n;
  if (rc != SQLITE_OK) return rc;
  if (c->nrows > (size_t)k) {
    for (size_t i = (size_t)k; i < c->nrows; i++) {
      sqlite3_free(c->rows[i].id);
      sqlite3_free(c->rows[i].explain);
    }
    c->nrows = (size_t)k;
  }
  /* rowids, from the table (the truth): an id the index returns must exist there */
  sqlite3_stmt *st = NULL;
  rc = prepc(t, &st, "SELECT rowid FROM %1.%2_data WHERE id = ?");
  for (size_t i = 0; rc == SQLITE_OK && i < c->nrows; i++) {
    sqlite3_bind_text(st, 1, c->rows[i].id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
      c->rows[i].rowid = sqlite3_column_int64(st, 0);
    } else {
      mark_dirty(t);
      set_err(t, "vecstore: the index of \"%s\" returned id '%s', which the table does not hold; the "
                 "index is marked for a rebuild, run the query again", t->name, c->rows[i].id);
      rc = SQLITE_CORRUPT_VTAB;
    }
    sqlite3_reset(st);
  }
  sqlite3_reset(st);
  c->pos = 0;
  c->eof = c->nrows == 0;
  return rc;
}

static int vsx_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc, sqlite3_value **argv) {
  vsx_cursor *c = (vsx_cursor *)cur;
  vsx_table *t = (vsx_table *)cur->pVtab;
  cursor_reset(c);
  c->plan = idxNum;
  idxNum &= 0xff;
  const char *plan = idxStr ? idxStr : "";
  if (idxNum == PLAN_KNN) return knn_filter(c, plan, argc, argv);
  if (idxNum == PLAN_SCAN && plan[0]) {
    set_err(t, "vecstore: k, filter and ef_search need a KNN query: WHERE embedding MATCH ? AND k = ?");
    return SQLITE_ERROR;
  }
  const char *where = idxNum == PLAN_ID ? "WHERE id = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
                    : idxNum == PLAN_ROWID ? "WHERE rowid = ?1 AND (expires_at IS NULL OR expires_at > ?2)"
                                           : "WHERE expires_at IS NULL OR expires_at > ?2";
  char *fmt = sqlite3_mprintf("SELECT rowid, id, embedding, metadata, expires_at FROM %%1.%%2_data %s", where);
  int rc = fmt ? prep(t, &c->scan, fmt) : SQLITE_NOMEM;
  sqlite3_free(fmt);
  if (rc != SQLITE_OK) return rc;
  if (argc > 0) sqlite3_bind_value(c->scan, 1, argv[0]);
  sqlite3_bind_int64(c->scan, 2, now_seconds());
  return scan_step(c);
}

static int vsx_next(sqlite3_vtab_cursor *cur) {
  vsx_cursor *c = (vsx_cursor *)cur;
  if ((c->plan & 0xff) == PLAN_KNN) {
    c->pos++;
    c->eof = c->pos >= c->nrows;
    return SQLITE_OK;
  }
  return scan_step(c);
}

static int vsx_eof(sqlite3_vtab_cursor *cur) { return ((vsx_cursor *)cur)->eof; }

static int vsx_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out) {
  vsx_cursor *c = (vsx_cursor *)cur;
  *out = (c->plan & 0xff) == PLAN_KNN ? c->rows[c->pos].rowid : sqlite3_column_int64(c->scan, 0);
  return SQLITE_OK;
}

/* For KNN rows: the stored columns, read from the table by rowid. */
static int knn_lookup(vsx_cursor *c) {
  vsx_table *t = (vsx_table *)c->base.pVtab;
  sqlite3_int64 rid = c->rows[c->pos].rowid;
  if (c->looked_up == rid && c->looked_up != 0) return SQLITE_OK;
  if (!c->lookup) {
    int rc = prep(t, &c->lookup, "SELECT embedding, metadata, expires_at FROM %1.%2_data WHERE rowid = ?");
    if (rc != SQLITE_OK) return rc;
  }
  sqlite3_reset(c->lookup);
  sqlite3_bind_int64(c->lookup, 1, rid);
  if (sqlite3_step(c->lookup) != SQLITE_ROW) {
    set_err(t, "vecstore: row %lld vanished from %s_data", (long long)rid, t->name);
    return SQLITE_CORRUPT_VTAB;
  }
  c->looked_up = rid;
  return SQLITE_OK;
}

static int vsx_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  vsx_cursor *c = (vsx_cursor *)cur;
  vsx_table *t = (vsx_table *)cur->pVtab;
  int knn = (c->plan & 0xff) == PLAN_KNN;
  if (col != COL_ID && sqlite3_vtab_nochange(ctx)) return SQLITE_OK; /* UPDATE: column unchanged */
  switch (col) {
    case COL_ID:
      if (knn) sqlite3_result_text(ctx, c->rows[c->pos].id, -1, SQLITE_TRANSIENT);
      else sqlite3_result_value(ctx, sqlite3_column_value(c->scan, 1));
      return SQLITE_OK;
    case COL_EMBEDDING:
    case COL_METADATA:
    case COL_TTL: {
      sqlite3_stmt *src = c->scan;
      int base = 2;
      if (knn) {
        int rc = knn_lookup(c);
        if (rc != SQLITE_OK) return rc;
        src = c->lookup;
        base = 0;
      }
      if (col == COL_TTL) {
        if (sqlite3_column_type(src, base + 2) != SQLITE_NULL) {
          sqlite3_int64 left = sqlite3_column_int64(src, base + 2) - now_seconds();
          sqlite3_result_int64(ctx, left > 0 ? left : 0);
        }
      } else {
        sqlite3_result_value(ctx, sqlite3_column_value(src, base + (col == COL_METADATA)));
      }
      return SQLITE_OK;
    }
    case COL_DISTANCE:
      if (knn) sqlite3_result_double(ctx, distance_of(t, c->rows[c->pos].score));
      return SQLITE_OK;
    case COL_SCORE:
      if (knn) sqlite3_result_double(ctx, c->rows[c->pos].score);
      return SQLITE_OK;
    case COL_EXPLAIN:
      if (knn && c->rows[c->pos].explain) sqlite3_result_text(ctx, c->rows[c->pos].explain, -1, SQLITE_TRANSIENT);
      return SQLITE_OK;
    default:
      return SQLITE_OK;
  }
}

/* ------------------------------------------------------------------------------------------- */
/* writes */

static int add_pending(vsx_table *t, const char *id) {
  sqlite3_stmt *st = NULL;
  int rc = prepc(t, &st, "INSERT OR IGNORE INTO %1.%2_pending(id) VALUES (?)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  if (rc != SQLITE_OK) set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
  sqlite3_reset(st);
  t->write_gen++;
  return rc;
}

/* Deletes rows matching "rowid = ?" or "id = ?", recording their ids as pending. */
static int delete_where(vsx_table *t, const char *col, sqlite3_value *key, sqlite3_int64 ikey, int *found) {
  sqlite3_stmt *st = NULL;
  (void)col; /* always the rowid */
  int rc = prepc(t, &st, "DELETE FROM %1.%2_data WHERE rowid = ? RETURNING id");
  if (rc != SQLITE_OK) return rc;
  if (key) sqlite3_bind_value(st, 1, key);
  else sqlite3_bind_int64(st, 1, ikey);
  if (found) *found = 0;
  char *ids[2] = {NULL, NULL};
  int n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (n < 2) ids[n++] = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
  int done = rc == SQLITE_DONE;
  if (!done) set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
  sqlite3_reset(st);
  rc = done ? SQLITE_OK : SQLITE_ERROR;
  for (int i = 0; i < n; i++) {
    if (rc == SQLITE_OK) rc = add_pending(t, ids[i]);
    sqlite3_free(ids[i]);
  }
  if (found) *found = n > 0;
  return rc;
}

static int check_metadata(vsx_table *t, sqlite3_value *m) {
  if (sqlite3_value_type(m) == SQLITE_NULL) return SQLITE_OK;
  if (sqlite3_value_type(m) != SQLITE_TEXT) {
    set_err(t, "vecstore: metadata must be the text of a JSON object (or NULL)");
    return SQLITE_ERROR;
  }
  sqlite3_stmt *st = NULL;
  int rc = prepc(t, &st,
      "SELECT json_valid(?1) AND json_type(?1) = 'object', "
      "(SELECT key FROM json_each(?1) WHERE type = 'object' OR (type = 'array' AND EXISTS "
      "(SELECT 1 FROM json_each(value) WHERE type IN ('object','array'))) LIMIT 1)");
  if (rc != SQLITE_OK) {
    set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
    return rc;
  }
  sqlite3_bind_value(st, 1, m);
  rc = SQLITE_OK;
  if (sqlite3_step(st) == SQLITE_ROW) {
    if (!sqlite3_column_int(st, 0)) {
      set_err(t, "vecstore: invalid argument: metadata is not a JSON object: %s", sqlite3_value_text(m));
      rc = SQLITE_ERROR;
    } else if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
      set_err(t, "vecstore: invalid argument: metadata field '%s' nests an object or a list of lists "
                 "(values are strings, numbers, booleans, null, or lists of those)", sqlite3_column_text(st, 1));
      rc = SQLITE_ERROR;
    }
  }
  sqlite3_reset(st);
  return rc;
}

static int run_command(vsx_table *t, const char *cmd) {
  vs_error *e = NULL;
  vs_status st;
  if (!sqlite3_stricmp(cmd, "compact")) {
    int rc = ensure_index(t);
    if (rc != SQLITE_OK) return rc;
    uint64_t removed = 0;
    st = vs_store_compact(t->store, &removed, &e);
    return st == VS_OK ? SQLITE_OK : vs_fail(t, st, e, "compact");
  }
  if (!sqlite3_stricmp(cmd, "expire")) {
    /* Expired rows are already invisible; this deletes them in the transaction, so the index
     * drops them at commit (and ROLLBACK keeps them). */
    int rc = exec_sql(t, "INSERT OR IGNORE INTO %1.%2_pending(id) SELECT id FROM %1.%2_data "
                         "WHERE expires_at IS NOT NULL AND expires_at <= CAST(strftime('%s','now') AS INTEGER);"
                         "DELETE FROM %1.%2_data WHERE expires_at IS NOT NULL AND "
                         "expires_at <= CAST(strftime('%s','now') AS INTEGER);");
    t->write_gen++;
    return rc;
  }
  if (!sqlite3_stricmp(cmd, "rebuild")) {
    int rc = ensure_index(t);
    sqlite3_int64 ep;
    if (rc == SQLITE_OK) rc = db_epoch(t, &ep);
    return rc == SQLITE_OK ? rebuild(t, ep) : rc;
  }
  if (!sqlite3_stricmp(cmd, "flush")) {
    int rc = ensure_index(t);
    if (rc != SQLITE_OK) return rc;
    st = vs_store_flush(t->store, &e);
    return st == VS_OK ? SQLITE_OK : vs_fail(t, st, e, "flush");
  }
  set_err(t, "vecstore: unknown command '%s' (commands: compact, expire, rebuild, flush)", cmd);
  return SQLITE_ERROR;
}

static const char *id_error(sqlite3_value *v) {
  if (sqlite3_value_type(v) != SQLITE_TEXT && sqlite3_value_type(v) != SQLITE_INTEGER)
    return "id must be text";
  int n = sqlite3_value_bytes(v);
  if (n < 1 || n > 4096) return "invalid argument: id must be 1 to 4096 bytes of UTF-8";
  return NULL;
}

static int vsx_update(sqlite3_vtab *v, int argc, sqlite3_value **argv, sqlite3_int64 *out_rowid) {
  vsx_table *t = (vsx_table *)v;
  if (argc == 1) { /* DELETE */
    return delete_where(t, "rowid", argv[0], 0, NULL);
  }
  sqlite3_value **col = argv + 2;
  if (sqlite3_value_type(col[COL_COMMAND]) != SQLITE_NULL) {
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
      set_err(t, "vecstore: the column \"%s\" takes commands through INSERT only", t->name);
      return SQLITE_ERROR;
    }
    return run_command(t, (const char *)sqlite3_value_text(col[COL_COMMAND]));
  }
  static const int readonly[] = {COL_DISTANCE, COL_SCORE, COL_K, COL_FILTER, COL_EF_SEARCH, COL_EXPLAIN};
  for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++) {
    sqlite3_value *x = col[readonly[i]];
    if (!sqlite3_value_nochange(x) && sqlite3_value_type(x) != SQLITE_NULL) {
      set_err(t, "vecstore: column '%s' is read-only: it is an input or output of KNN queries",
              COL_NAMES[readonly[i]]);
      return SQLITE_ERROR;
    }
  }
  int is_update = sqlite3_value_type(argv[0]) != SQLITE_NULL;
  int conflict = sqlite3_vtab_on_conflict(t->db);
  int rc = SQLITE_OK;
  /* the old row, for UPDATE */
  sqlite3_value *old_emb = NULL, *old_meta = NULL, *old_exp = NULL;
  sqlite3_stmt *old = NULL;
  if (is_update) {
    rc = prepc(t, &old, "SELECT id, embedding, metadata, expires_at FROM %1.%2_data WHERE rowid = ?");
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_value(old, 1, argv[0]);
    if (sqlite3_step(old) != SQLITE_ROW) {
      sqlite3_reset(old);
      return SQLITE_OK; /* nothing to update */
    }
    old_emb = sqlite3_column_value(old, 1);
    old_meta = sqlite3_column_value(old, 2);
    old_exp = sqlite3_column_value(old, 3);
  }
  /* new values */
  float *vec = NULL;
  sqlite3_value *emb = col[COL_EMBEDDING], *meta = col[COL_METADATA];
  int emb_same = is_update && sqlite3_value_nochange(emb);
  int meta_same = is_update && sqlite3_value_nochange(meta);
  if (!emb_same) {
    if (sqlite3_value_type(emb) == SQLITE_NULL) {
      set_err(t, "vecstore: embedding is required (a JSON array or a float32 BLOB of %u floats)", t->opts.dimension);
      rc = SQLITE_CONSTRAINT;
    } else {
      rc = parse_vector(t, emb, t->opts.dimension, &vec, "embedding");
    }
  }
  if (rc == SQLITE_OK && !meta_same) rc = check_metadata(t, meta);
  /* rowid and id */
  sqlite3_int64 rowid = 0;
  int have_rowid = sqlite3_value_type(argv[1]) != SQLITE_NULL;
  if (rc == SQLITE_OK && have_rowid) {
    if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER) {
      set_err(t, "vecstore: rowid must be an integer");
      rc = SQLITE_MISMATCH;
    } else {
      rowid = sqlite3_value_int64(argv[1]);
    }
  }
  char *id = NULL;
  sqlite3_value *idv = col[COL_ID];
  if (rc == SQLITE_OK) {
    if (sqlite3_value_type(idv) == SQLITE_NULL) {
      if (!have_rowid) {
        sqlite3_stmt *mx = NULL;
        rc = prepc(t, &mx, "SELECT coalesce(max(rowid), 0) + 1 FROM %1.%2_data");
        if (rc == SQLITE_OK && sqlite3_step(mx) == SQLITE_ROW) rowid = sqlite3_column_int64(mx, 0);
        sqlite3_reset(mx);
        have_rowid = 1;
      }
      id = sqlite3_mprintf("%lld", (long long)rowid);
    } else {
      const char *why = id_error(idv);
      if (why) {
        set_err(t, "vecstore: %s", why);
        rc = SQLITE_MISMATCH;
      } else {
        id = sqlite3_mprintf("%s", sqlite3_value_text(idv));
      }
    }
  }
  /* expiry */
  sqlite3_int64 expires = 0;
  int has_exp = 0;
  if (rc == SQLITE_OK) {
    sqlite3_value *ttl = col[COL_TTL];
    if (is_update && sqlite3_value_nochange(ttl)) {
      if (sqlite3_value_type(old_exp) != SQLITE_NULL) {
        has_exp = 1;
        expires = sqlite3_value_int64(old_exp);
      }
    } else if (sqlite3_value_type(ttl) != SQLITE_NULL) {
      if (sqlite3_value_type(ttl) != SQLITE_INTEGER || sqlite3_value_int64(ttl) < 0 ||
          sqlite3_value_int64(ttl) > (sqlite3_int64)VS_MAX_TTL_SECONDS) {
        set_err(t, "vecstore: ttl must be an integer number of seconds, 0 to %llu", (unsigned long long)VS_MAX_TTL_SECONDS);
        rc = SQLITE_MISMATCH;
      } else if (sqlite3_value_int64(ttl) > 0) {
        has_exp = 1;
        expires = now_seconds() + sqlite3_value_int64(ttl);
      }
    }
  }
  /* conflicts on id and rowid with other rows */
  if (rc == SQLITE_OK) {
    sqlite3_stmt *q = NULL;
    rc = prepc(t, &q, "SELECT rowid FROM %1.%2_data WHERE (id = ?1 OR (?2 AND rowid = ?3)) AND (?4 IS NULL OR rowid != ?4)");
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_int(q, 2, have_rowid);
      sqlite3_bind_int64(q, 3, rowid);
      sqlite3_bind_value(q, 4, argv[0]);
      sqlite3_int64 clash[2];
      int nclash = 0;
      while (sqlite3_step(q) == SQLITE_ROW && nclash < 2) clash[nclash++] = sqlite3_column_int64(q, 0);
      sqlite3_reset(q);
      if (nclash > 0) {
        if (conflict == SQLITE_REPLACE) {
          for (int i = 0; i < nclash && rc == SQLITE_OK; i++) rc = delete_where(t, "rowid", NULL, clash[i], NULL);
        } else if (conflict == SQLITE_IGNORE) {
          rc = SQLITE_DONE; /* skip this row */
        } else {
          set_err(t, "UNIQUE constraint failed: %s.id (or rowid): '%s' exists; use INSERT OR REPLACE to replace it",
                  t->name, id);
          rc = SQLITE_CONSTRAINT;
        }
      }
    }
  }
  /* the write */
  if (rc == SQLITE_OK) {
    sqlite3_stmt *w = NULL;
    if (is_update) {
      rc = prepc(t, &w, "UPDATE %1.%2_data SET rowid = coalesce(?1, rowid), id = ?2, embedding = ?3, "
                       "metadata = ?4, expires_at = ?5 WHERE rowid = ?6");
    } else {
      rc = prepc(t, &w, "INSERT INTO %1.%2_data(rowid, id, embedding, metadata, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    }
    if (rc == SQLITE_OK) {
      if (have_rowid) sqlite3_bind_int64(w, 1, rowid);
      sqlite3_bind_text(w, 2, id, -1, SQLITE_STATIC);
      if (emb_same) {
        sqlite3_bind_value(w, 3, old_emb);
      } else {
        unsigned char *blob = sqlite3_malloc64((sqlite3_uint64)t->opts.dimension * 4 + 1);
        if (!blob) rc = SQLITE_NOMEM;
        else {
          floats_to_blob(vec, t->opts.dimension, blob);
          sqlite3_bind_blob(w, 3, blob, (int)(t->opts.dimension * 4), sqlite3_free);
        }
      }
      sqlite3_bind_value(w, 4, meta_same ? old_meta : meta);
      if (has_exp) sqlite3_bind_int64(w, 5, expires);
      if (is_update) sqlite3_bind_value(w, 6, argv[0]);
      if (rc == SQLITE_OK) {
        if (sqlite3_step(w) != SQLITE_DONE) {
          set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
          rc = sqlite3_extended_errcode(t->db) & 0xff;
          if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_ERROR;
        }
      }
    }
    sqlite3_reset(w);
    if (rc == SQLITE_OK && !is_update) *out_rowid = sqlite3_last_insert_rowid(t->db);
    if (rc == SQLITE_OK && is_update) {
      const char *oldid = (const char *)sqlite3_column_text(old, 0);
      if (strcmp(oldid, id) != 0) rc = add_pending(t, oldid);
    }
    if (rc == SQLITE_OK) rc = add_pending(t, id);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK; /* OR IGNORE */
  sqlite3_reset(old);
  sqlite3_free(vec);
  sqlite3_free(id);
  return rc;
}

/* ------------------------------------------------------------------------------------------- */
/* transactions */

static int vsx_begin(sqlite3_vtab *v) {
  vsx_table *t = (vsx_table *)v;
  t->rebuilt_in_txn = 0;
  t->synced = 0;
  return SQLITE_OK;
}

/* Commit, phase one (still inside the transaction): apply the pending rows to the index and give
 * the database a new epoch. If the database commit then fails or the process dies, the epochs
 * differ and the index is rebuilt; nothing is lost, since the rows are in the database. */
static int vsx_sync(sqlite3_vtab *v) {
  vsx_table *t = (vsx_table *)v;
  sqlite3_int64 np = count_pending(t);
  if (np <= 0) return SQLITE_OK;
  int rc = ensure_index(t);
  int have_index = rc == SQLITE_OK;
  if (rc == SQLITE_BUSY) rc = SQLITE_OK; /* another connection holds the index: it rebuilds */
  if (rc != SQLITE_OK) return rc;
  sqlite3_int64 epoch;
  sqlite3_randomness(sizeof epoch, &epoch);
  sqlite3_stmt *st = NULL;
  rc = prep(t, &st, "UPDATE %1.%2_config SET value = ? WHERE key = 'epoch'");
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(st, 1, epoch);
  rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  if (rc != SQLITE_OK) set_err(t, "vecstore: %s", sqlite3_errmsg(t->db));
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) return rc;
  if (have_index) {
    mark_dirty(t);
    t->synced = 1;
    rc = prep(t, &st,
              "SELECT p.id, d.embedding, d.metadata, d.expires_at FROM %1.%2_pending p "
              "LEFT JOIN %1.%2_data d ON d.id = p.id ORDER BY d.rowid");
    if (rc != SQLITE_OK) return rc;
    rc = feed_rows(t, t->store, st, NULL);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) return rc;
  }
  rc = exec_sql(t, "DELETE FROM %1.%2_pending");
  if (rc == SQLITE_OK && have_index) rc = write_epoch_file(t, epoch);
  return rc;
}

static int vsx_commit(sqlite3_vtab *v) {
  vsx_table *t = (vsx_table *)v;
  t->rebuilt_in_txn = 0;
  t->synced = 0;
  drop_scratch(t);
  return SQLITE_OK;
}

static int vsx_rollback(sqlite3_vtab *v) {
  vsx_table *t = (vsx_table *)v;
  /* the index holds rows the database just dropped (applied at xSync, or a rebuild that left out
   * the committed versions of pending rows): rebuild it before its next answer */
  if (t->synced || t->rebuilt_in_txn) mark_dirty(t);
  t->rebuilt_in_txn = 0;
  t->synced = 0;
  drop_scratch(t);
  t->write_gen++;
  return SQLITE_OK;
}

static int vsx_savepoint(sqlite3_vtab *v, int n) {
  (void)v;
  (void)n;
  return SQLITE_OK;
}
static int vsx_release(sqlite3_vtab *v, int n) {
  (void)v;
  (void)n;
  return SQLITE_OK;
}
static int vsx_rollback_to(sqlite3_vtab *v, int n) {
  vsx_table *t = (vsx_table *)v;
  (void)n;
  if (t->rebuilt_in_txn) mark_dirty(t);
  t->write_gen++; /* the pending rows changed: the scratch store is stale */
  return SQLITE_OK;
}

static int vsx_rename(sqlite3_vtab *v, const char *newname) {
  vsx_table *t = (vsx_table *)v;
  set_err(t, "vecstore: renaming a vecstore table to \"%s\" is not supported", newname);
  return SQLITE_ERROR;
}

static int vsx_find_function(sqlite3_vtab *v, int nArg, const char *name,
                             void (**fn)(sqlite3_context *, int, sqlite3_value **), void **arg) {
  (void)v;
  (void)nArg;
  (void)name;
  (void)fn;
  (void)arg;
  return 0;
}

static sqlite3_module vsx_module = {
    .iVersion = 3,
    .xCreate = vsx_create,
    .xConnect = vsx_connect,
    .xBestIndex = vsx_best_index,
    .xDisconnect = vsx_disconnect,
    .xDestroy = vsx_destroy,
    .xOpen = vsx_open,
    .xClose = vsx_close,
    .xFilter = vsx_filter,
    .xNext = vsx_next,
    .xEof = vsx_eof,
    .xColumn = vsx_column,
    .xRowid = vsx_rowid,
    .xUpdate = vsx_update,
    .xBegin = vsx_begin,
    .xSync = vsx_sync,
    .xCommit = vsx_commit,
    .xRollback = vsx_rollback,
    .xFindFunction = vsx_find_function,
    .xRename = vsx_rename,
    .xSavepoint = vsx_savepoint,
    .xRelease = vsx_release,
    .xRollbackTo = vsx_rollback_to,
    .xShadowName = vsx_shadow_name,
};

/* ------------------------------------------------------------------------------------------- */
/* functions */

/* vecstore_stats('table'): JSON with the table's rows, its index directory and the library's stats. */
static void fn_stats(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  vsx_registry *reg = sqlite3_user_data(ctx);
  const char *name = (const char *)sqlite3_value_text(argv[0]);
  vsx_table *t = NULL;
  for (vsx_table *p = reg->head; p && name; p = p->next)
    if (!sqlite3_stricmp(p->name, name) && !sqlite3_stricmp(p->schema, "main")) t = p;
  for (vsx_table *p = reg->head; !t && p && name; p = p->next)
    if (!sqlite3_stricmp(p->name, name)) t = p;
  if (!t) {
    char *m = sqlite3_mprintf("vecstore_stats: no vecstore table named '%s' is open in this connection "
                              "(query it once, or check the name)", name ? name : "(null)");
    sqlite3_result_error(ctx, m, -1);
    sqlite3_free(m);
    return;
  }
  int rc = ensure_index(t);
  if (rc != SQLITE_OK) {
    sqlite3_result_error(ctx, t->base.zErrMsg ? t->base.zErrMsg : sqlite3_errstr(rc), -1);
    return;
  }
  char *js = NULL;
  vs_error *e = NULL;
  vs_status st = vs_store_stats_json(t->store, &js, &e);
  if (st != VS_OK) {
    sqlite3_result_error(ctx, e ? vs_error_message(e) : vs_status_name(st), -1);
    vs_error_free(e);
    return;
  }
  sqlite3_stmt *q = NULL;
  sqlite3_int64 rows = 0;
  if (prep(t, &q, "SELECT count(*) FROM %1.%2_data") == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    rows = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  char *out = sqlite3_mprintf(
      "{\"table\":\"%w\",\"rows\":%lld,\"pending\":%lld,\"dimension\":%u,\"metric\":\"%s\",\"m\":%u,"
      "\"ef_construction\":%u,\"ef_search\":%u,\"build_threads\":%u,\"directory\":\"%w\",\"index\":%s}",
      t->name, (long long)rows, (long long)count_pending(t), t->opts.dimension, metric_name(t->opts.metric),
      t->opts.hnsw_m, t->opts.ef_construction, t->opts.ef_search, t->opts.build_threads, t->dir, js);
  vs_string_free(js);
  sqlite3_result_text(ctx, out, -1, sqlite3_free);
}

static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, vs_version(), -1, SQLITE_STATIC);
}

static void registry_free(void *p) { sqlite3_free(p); }

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_vecstore_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  if (vs_abi_version() != VS_ABI_VERSION) {
    *err = sqlite3_mprintf("vecstore: library ABI %u, header ABI %u", vs_abi_version(), VS_ABI_VERSION);
    return SQLITE_ERROR;
  }
  vsx_registry *reg = sqlite3_malloc(sizeof *reg);
  if (!reg) return SQLITE_NOMEM;
  reg->head = NULL;
  int rc = sqlite3_create_module_v2(db, "vecstore", &vsx_module, reg, registry_free);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "vecstore_stats", 1, SQLITE_UTF8, reg, fn_stats, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "vecstore_version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                 fn_version, NULL, NULL);
  if (rc != SQLITE_OK) *err = sqlite3_mprintf("vecstore: %s", sqlite3_errmsg(db));
  return rc;
}
