/*
 * test_soak.c: a mixed workload from several C threads at once against one namespace manager, for a
 * bounded time, checked against a model of every acknowledged operation.
 *
 *   VS_SOAK_SECONDS  duration of the workload (default 60; `make soak-long` runs 600)
 *
 * Threads:
 *   - WRITERS writer threads, each owning the keys "w<t>-<k>" (k < KEYS) and "ttl<t>-<k>": upserts,
 *     bulk upserts, deletes (also of absent keys: NOT_FOUND expected), soft deletes, restores,
 *     metadata updates, long TTLs, JSON batches, 1-second TTL records. Every call's status is checked
 *     against the writer's own model (no other thread touches its keys), and every few operations a
 *     get of a random own key must agree with the model.
 *   - a query thread: filtered queries ("t = <writer>"); every row must pass the filter, never more
 *     than k rows.
 *   - a maintenance thread: compaction, TTL expiry, stats. A soft-deleted record may be removed by
 *     compaction, so a restore answering NOT_FOUND is accepted only when a compaction started after
 *     the soft delete was called: the compaction that removed it was not finished when the soft
 *     delete was called (`compactions_finished` then) and had started when the restore returned
 *     (`compactions_started` then).
 *   - a backup thread on a second namespace: writes, backup, more writes, restore, and then the whole
 *     namespace must equal the model as of the backup.
 * At the end: every handle and the manager are closed and reopened, and every key must be exactly as
 * the model says; `count` must equal the live keys; the process's open file descriptors must be
 * back to where they were. In a build without AddressSanitizer (whose quarantine grows by design)
 * the resident memory must have plateaued: growth under 10% over the second half of the run.
 */
#include "check.h"

#include <pthread.h>
#include <dirent.h>
#include <stdatomic.h>
#include <time.h>

#define WRITERS 3
#define KEYS 200
#define TTL_KEYS 40
#define DIM 16
#define BK_KEYS 60

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

enum key_state { ABSENT = 0, LIVE = 1, SOFT = 2 };

typedef struct {
    enum key_state state;
    int version;            /* the "v" of its metadata when LIVE or SOFT */
    long soft_at_compaction; /* compactions_finished read just before the soft delete was called */
} key_model;

static vs_namespaces *g_manager;
static atomic_int g_stop;
static atomic_long compactions_started, compactions_finished; /* one maintenance thread: in order */
static atomic_long ops_checked;
static atomic_long unexpected; /* calls that answered what the model did not allow */
static double g_deadline;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* xorshift, one state per thread */
static unsigned rnd(unsigned *s) {
    unsigned x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void vector_of(int t, int k, int v, float *out) {
    unsigned s = (unsigned)t * 1000003u + (unsigned)k * 7919u + (unsigned)v * 104729u + 1u; /* wraps: unsigned */
    for (int i = 0; i < DIM; i++) out[i] = (float)(rnd(&s) % 2000) / 1000.0f - 1.0f + 0.001f;
}

static void complain(const char *what, const char *id, vs_status got, vs_error *e) {
    atomic_fetch_add(&unexpected, 1);
    fprintf(stderr, "soak: %s(%s) answered %s: %s\n", what, id, vs_status_name((int)got),
            e ? vs_error_message(e) : "");
}

/* A handle on namespace `ns` of the shared manager; NULL (counted as unexpected) on failure. */
static vs_store *namespace_handle(const char *ns) {
    vs_store *s = NULL;
    vs_error *e = NULL;
    vs_status st = vs_namespace_store(g_manager, ns, &s, &e);
    if (st != VS_OK) {
        complain("namespace_store", ns, st, e);
        vs_error_free(e);
        return NULL;
    }
    return s;
}

/* Runs a call that must answer `want` (or, when `alt` is not -1, `alt`); returns what it answered. */
#define EXPECT(want, alt, what, id, call)                                                            \
    ({                                                                                               \
        vs_error *e_ = NULL;                                                                         \
        vs_status st_ = (call);                                                                      \
        atomic_fetch_add(&ops_checked, 1);                                                           \
        if (st_ != (want) && (int)st_ != (alt)) complain(what, id, st_, e_);                         \
        vs_error_free(e_);                                                                           \
        st_;                                                                                         \
    })

/* Does a metadata JSON text hold "v":version? */
static int has_version(const char *json, int version) {
    char pat[32];
    snprintf(pat, sizeof pat, "\"v\":%d", version);
    const char *p = json ? strstr(json, pat) : NULL;
    return p && !(p[strlen(pat)] >= '0' && p[strlen(pat)] <= '9');
}

/* A get must agree with the model: LIVE -> found with its version; otherwise NOT_FOUND. */
static void check_key(vs_store *s, const char *id, const key_model *m) {
    vs_results *r = NULL;
    vs_error *e = NULL;
    vs_status st = vs_store_get(s, id, &r, &e);
    atomic_fetch_add(&ops_checked, 1);
    if (m->state == LIVE) {
        if (st != VS_OK) {
            complain("get (live)", id, st, e);
        } else if (vs_results_len(r) != 1 || !has_version(vs_results_metadata_json(r, 0), m->version)) {
            atomic_fetch_add(&unexpected, 1);
            fprintf(stderr, "soak: get(%s) gave %s, model says v=%d\n", id,
                    vs_results_len(r) ? vs_results_metadata_json(r, 0) : "(no row)", m->version);
        }
    } else if (st != VS_ERR_NOT_FOUND) {
        complain(m->state == SOFT ? "get (soft-deleted)" : "get (absent)", id, st, e);
    }
    vs_results_free(r);
    vs_error_free(e);
}

typedef struct {
    int t;
    key_model keys[KEYS];
    double ttl_acked_at[TTL_KEYS]; /* 0 = never written */
    long ops;
} writer_state;

static writer_state writers[WRITERS];

static void metadata_of(int t, int k, int v, char *buf, size_t n) {
    snprintf(buf, n, "{\"t\":%d,\"k\":%d,\"v\":%d}", t, k, v);
}

static void *writer_main(void *arg) {
    writer_state *w = arg;
    unsigned seed = 0x9e3779b9u * (unsigned)(w->t + 1);
    vs_store *s = namespace_handle("soak");
    if (!s) return NULL;
    int next_version = 1;
    char id[48], md[96];
    float vec[DIM];
    while (!atomic_load(&g_stop)) {
        int k = (int)(rnd(&seed) % KEYS);
        key_model *m = &w->keys[k];
        snprintf(id, sizeof id, "w%d-%d", w->t, k);
        int op = (int)(rnd(&seed) % 100);
        if (op < 30) { /* upsert (also over a soft-deleted record: it replaces it) */
            int v = next_version++;
            vector_of(w->t, k, v, vec);
            metadata_of(w->t, k, v, md, sizeof md);
            if (EXPECT(VS_OK, -1, "upsert", id, vs_store_upsert(s, id, vec, DIM, md, &e_)) == VS_OK) {
                m->state = LIVE;
                m->version = v;
            }
        } else if (op < 40) { /* bulk upsert of 5 keys (distinct, consecutive) */
            const char *ids[5];
            const char *mds[5];
            char idb[5][48], mdb[5][96];
            float vecs[5 * DIM];
            int ks[5], vs[5];
            for (int i = 0; i < 5; i++) {
                ks[i] = (k + i) % KEYS;
                vs[i] = next_version++;
                snprintf(idb[i], sizeof idb[i], "w%d-%d", w->t, ks[i]);
                metadata_of(w->t, ks[i], vs[i], mdb[i], sizeof mdb[i]);
                vector_of(w->t, ks[i], vs[i], vecs + i * DIM);
                ids[i] = idb[i];
                mds[i] = mdb[i];
            }
            if (EXPECT(VS_OK, -1, "upsert_many", id, vs_store_upsert_many(s, 5, ids, vecs, DIM, mds, &e_)) == VS_OK)
                for (int i = 0; i < 5; i++) {
                    w->keys[ks[i]].state = LIVE;
                    w->keys[ks[i]].version = vs[i];
                }
        } else if (op < 50) { /* delete: live goes, absent is NOT_FOUND */
            if (m->state == SOFT) continue;
            vs_status want = m->state == LIVE ? VS_OK : VS_ERR_NOT_FOUND;
            if (EXPECT(want, -1, "delete", id, vs_store_delete(s, id, &e_)) == VS_OK) m->state = ABSENT;
        } else if (op < 58) { /* soft delete: only a live record */
            vs_status want = m->state == LIVE ? VS_OK : VS_ERR_NOT_FOUND;
            long before = atomic_load(&compactions_finished);
            if (EXPECT(want, -1, "soft_delete", id, vs_store_soft_delete(s, id, &e_)) == VS_OK) {
                m->state = SOFT;
                m->soft_at_compaction = before;
            }
        } else if (op < 66) { /* restore: soft comes back unless a compaction since removed it */
            if (m->state == LIVE) {
                EXPECT(VS_OK, -1, "restore (live)", id, vs_store_restore(s, id, &e_));
            } else if (m->state == ABSENT) {
                EXPECT(VS_ERR_NOT_FOUND, -1, "restore (absent)", id, vs_store_restore(s, id, &e_));
            } else {
                vs_status st = EXPECT(VS_OK, VS_ERR_NOT_FOUND, "restore", id, vs_store_restore(s, id, &e_));
                /* The compaction that removed it finished after the soft delete was called, so it was not
                 * yet counted in soft_at_compaction, and it had started before the restore returned. */
                if (st == VS_ERR_NOT_FOUND && atomic_load(&compactions_started) <= m->soft_at_compaction)
                    complain("restore (no compaction since the soft delete)", id, st, NULL);
                m->state = st == VS_OK ? LIVE : ABSENT;
            }
        } else if (op < 74) { /* metadata update of a live record */
            if (m->state != LIVE) continue;
            int v = next_version++;
            metadata_of(w->t, k, v, md, sizeof md);
            if (EXPECT(VS_OK, -1, "update_metadata", id, vs_store_update_metadata(s, id, md, &e_)) == VS_OK)
                m->version = v;
        } else if (op < 78) { /* a long TTL on a live record: it stays */
            if (m->state != LIVE) continue;
            EXPECT(VS_OK, -1, "set_ttl", id, vs_store_set_ttl(s, id, 3600, &e_));
        } else if (op < 88) { /* a JSON batch: upsert k, soft_delete k, upsert k+1, delete an unknown id */
            int v1 = next_version++, v2 = next_version++;
            int k2 = (k + 1) % KEYS;
            char json[4096], part[1024];
            size_t len = 0;
            len += (size_t)snprintf(json + len, sizeof json - len, "{\"operations\":[");
            const int ks[2] = {k, k2};
            const int vv[2] = {v1, v2};
            for (int i = 0; i < 2; i++) {
                vector_of(w->t, ks[i], vv[i], vec);
                size_t p = 0;
                p += (size_t)snprintf(part + p, sizeof part - p, "%s{\"op\":\"upsert\",\"id\":\"w%d-%d\",\"vector\":[",
                                      i ? "," : "", w->t, ks[i]);
                for (int d = 0; d < DIM; d++) p += (size_t)snprintf(part + p, sizeof part - p, "%s%.9g", d ? "," : "", vec[d]);
                p += (size_t)snprintf(part + p, sizeof part - p, "],\"metadata\":{\"t\":%d,\"k\":%d,\"v\":%d}}",
                                      w->t, ks[i], vv[i]);
                len += (size_t)snprintf(json + len, sizeof json - len, "%s", part);
                if (i == 0)
                    len += (size_t)snprintf(json + len, sizeof json - len,
                                            ",{\"op\":\"soft_delete\",\"id\":\"w%d-%d\"}", w->t, k);
            }
            len += (size_t)snprintf(json + len, sizeof json - len,
                                    ",{\"op\":\"delete\",\"id\":\"w%d-nope\"}]}", w->t);
            char *out = NULL;
            long before = atomic_load(&compactions_finished);
            if (EXPECT(VS_OK, -1, "batch_execute_json", id, vs_store_batch_execute_json(s, json, &out, &e_)) == VS_OK) {
                if (!strstr(out, "\"succeeded\":3") || !strstr(out, "\"failed\":1") || !strstr(out, "not_found")) {
                    atomic_fetch_add(&unexpected, 1);
                    fprintf(stderr, "soak: batch answered %s\n", out);
                }
                m->state = SOFT;
                m->version = v1;
                m->soft_at_compaction = before;
                w->keys[k2].state = LIVE;
                w->keys[k2].version = v2;
            }
            vs_string_free(out);
        } else { /* a record that lives one second */
            int tk = (int)(rnd(&seed) % TTL_KEYS);
            char tid[48];
            snprintf(tid, sizeof tid, "ttl%d-%d", w->t, tk);
            vector_of(w->t, 1000 + tk, 0, vec);
            metadata_of(w->t, 1000 + tk, 0, md, sizeof md);
            if (EXPECT(VS_OK, -1, "upsert_with_ttl", tid, vs_store_upsert_with_ttl(s, tid, vec, DIM, md, 1, &e_)) == VS_OK)
                w->ttl_acked_at[tk] = now_s();
        }
        w->ops++;
        if (w->ops % 8 == 0) {
            int ck = (int)(rnd(&seed) % KEYS);
            snprintf(id, sizeof id, "w%d-%d", w->t, ck);
            /* a SOFT key answers NOT_FOUND whether or not compaction removed it */
            check_key(s, id, &w->keys[ck]);
        }
    }
    vs_store_close(s);
    return NULL;
}

static long queries_run;

static void *query_main(void *arg) {
    (void)arg;
    unsigned seed = 12345;
    vs_store *s = namespace_handle("soak");
    if (!s) return NULL;
    float vec[DIM];
    char filter[32], want[16];
    while (!atomic_load(&g_stop)) {
        int t = (int)(rnd(&seed) % WRITERS);
        vector_of(t, (int)(rnd(&seed) % KEYS), 0, vec);
        snprintf(filter, sizeof filter, "t = %d", t);
        snprintf(want, sizeof want, "\"t\":%d", t);
        vs_query q = vs_query_default();
        q.vector = vec;
        q.dim = DIM;
        q.k = 10;
        q.filter = (rnd(&seed) % 4) ? filter : NULL;
        vs_results *r = NULL;
        if (EXPECT(VS_OK, -1, "query", filter, vs_store_query(s, &q, &r, &e_)) == VS_OK) {
            size_t n = vs_results_len(r);
            if (n > 10) {
                atomic_fetch_add(&unexpected, 1);
                fprintf(stderr, "soak: query gave %zu rows for k=10\n", n);
            }
            for (size_t i = 0; q.filter && i < n; i++) {
                const char *md = vs_results_metadata_json(r, i);
                if (!md || !strstr(md, want)) {
                    atomic_fetch_add(&unexpected, 1);
                    fprintf(stderr, "soak: row %s does not pass %s\n", md ? md : "(null)", filter);
                }
            }
        }
        vs_results_free(r);
        queries_run++;
    }
    vs_store_close(s);
    return NULL;
}

static long compactions_done;

static void *maintenance_main(void *arg) {
    (void)arg;
    vs_store *s = namespace_handle("soak");
    if (!s) return NULL;
    while (!atomic_load(&g_stop)) {
        for (int i = 0; i < 15 && !atomic_load(&g_stop); i++) sleep_ms(100);
        uint64_t n = 0;
        EXPECT(VS_OK, -1, "expire_ttl_records", "soak", vs_store_expire_ttl_records(s, &n, &e_));
        atomic_fetch_add(&compactions_started, 1);
        EXPECT(VS_OK, -1, "compact", "soak", vs_store_compact(s, &n, &e_));
        atomic_fetch_add(&compactions_finished, 1);
        compactions_done++;
        char *js = NULL;
        if (EXPECT(VS_OK, -1, "stats_json", "soak", vs_store_stats_json(s, &js, &e_)) == VS_OK &&
            !strstr(js, "\"count\"")) {
            atomic_fetch_add(&unexpected, 1);
            fprintf(stderr, "soak: stats without a count: %s\n", js);
        }
        vs_string_free(js);
    }
    vs_store_close(s);
    return NULL;
}

static long backup_rounds;

/* Writes into namespace "bk", takes a backup, writes more, restores, and checks the model of the backup. */
static void *backup_main(void *arg) {
    (void)arg;
    unsigned seed = 777;
    vs_store *s = namespace_handle("bk");
    if (!s) return NULL;
    key_model model[BK_KEYS], at_backup[BK_KEYS];
    memset(model, 0, sizeof model);
    int version = 1;
    char id[32], md[96], name[32], prev[32] = "";
    float vec[DIM];
    while (!atomic_load(&g_stop)) {
        for (int phase = 0; phase < 2; phase++) {
            for (int i = 0; i < 40; i++) {
                int k = (int)(rnd(&seed) % BK_KEYS);
                snprintf(id, sizeof id, "b-%d", k);
                if (rnd(&seed) % 4 == 0) {
                    vs_status want = model[k].state == LIVE ? VS_OK : VS_ERR_NOT_FOUND;
                    if (EXPECT(want, -1, "bk delete", id, vs_store_delete(s, id, &e_)) == VS_OK) model[k].state = ABSENT;
                } else {
                    int v = version++;
                    vector_of(99, k, v, vec);
                    metadata_of(99, k, v, md, sizeof md);
                    if (EXPECT(VS_OK, -1, "bk upsert", id, vs_store_upsert(s, id, vec, DIM, md, &e_)) == VS_OK) {
                        model[k].state = LIVE;
                        model[k].version = v;
                    }
                }
            }
            if (phase == 0) {
                snprintf(name, sizeof name, "r%ld", backup_rounds);
                if (EXPECT(VS_OK, -1, "backup", name, vs_namespace_backup(g_manager, "bk", name, &e_)) == VS_OK)
                    memcpy(at_backup, model, sizeof model);
                else
                    name[0] = 0;
            }
        }
        if (!name[0]) continue;
        if (EXPECT(VS_OK, -1, "restore backup", name, vs_namespace_restore(g_manager, "bk", name, &e_)) == VS_OK)
            memcpy(model, at_backup, sizeof model);
        for (int k = 0; k < BK_KEYS; k++) {
            snprintf(id, sizeof id, "b-%d", k);
            check_key(s, id, &model[k]);
        }
        if (prev[0]) EXPECT(VS_OK, -1, "delete_backup", prev, vs_namespace_delete_backup(g_manager, "bk", prev, &e_));
        snprintf(prev, sizeof prev, "%s", name);
        backup_rounds++;
    }
    vs_store_close(s);
    return NULL;
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void test_soak(void) {
    const char *env = getenv("VS_SOAK_SECONDS");
    double seconds = env ? atof(env) : 60.0;
    if (seconds <= 0) seconds = 60.0;
    char root[PATH_MAX];
    tmpdir_make(root, sizeof root);
    int fds_before = open_fds();

    vs_store_options o = vs_store_options_default();
    o.dimension = DIM;
    o.metric = VS_METRIC_EUCLIDEAN;
    CHECK_OK(vs_namespaces_open(root, &o, &g_manager, ERR));
    CHECK_OK(vs_namespace_create(g_manager, "soak", "soak test", NULL, ERR));
    CHECK_OK(vs_namespace_create(g_manager, "bk", "backups", NULL, ERR));

    pthread_t th[WRITERS + 3];
    for (int t = 0; t < WRITERS; t++) {
        writers[t].t = t;
        pthread_create(&th[t], NULL, writer_main, &writers[t]);
    }
    pthread_create(&th[WRITERS], NULL, query_main, NULL);
    pthread_create(&th[WRITERS + 1], NULL, maintenance_main, NULL);
    pthread_create(&th[WRITERS + 2], NULL, backup_main, NULL);

    /* RSS once a second; the plateau is judged on the second half. */
    double start = now_s();
    g_deadline = start + seconds;
    long samples[4096];
    int ns = 0;
    while (now_s() < g_deadline) {
        sleep_ms(250);
        if (ns < 4096 && (now_s() - start) >= ns + 1) samples[ns++] = rss_kb();
    }
    atomic_store(&g_stop, 1);
    for (int i = 0; i < WRITERS + 3; i++) pthread_join(th[i], NULL);

    long writer_ops = 0;
    for (int t = 0; t < WRITERS; t++) writer_ops += writers[t].ops;
    long rss_mid = ns >= 4 ? samples[ns / 2] : 0, rss_end = ns >= 4 ? samples[ns - 1] : 0;
    printf("soak: %.0f s, %ld writer ops, %ld queries, %ld compactions, %ld backup/restore rounds, "
           "%ld calls checked, %ld unexpected; RSS %ld kB at half time, %ld kB at the end\n",
           seconds, writer_ops, queries_run, compactions_done, backup_rounds, atomic_load(&ops_checked),
           atomic_load(&unexpected), rss_mid, rss_end);
    CHECK_MSG(atomic_load(&unexpected) == 0, "%ld calls answered what the model does not allow",
              atomic_load(&unexpected));
    CHECK(writer_ops > 1000);
    CHECK(queries_run > 100);
    CHECK(compactions_done >= 2 || seconds < 5);
    CHECK(backup_rounds >= 1);
    if (!UNDER_ASAN && ns >= 4)
        CHECK_MSG(rss_end <= rss_mid + rss_mid / 10, "RSS grew from %ld kB to %ld kB over the second half",
                  rss_mid, rss_end);

    /* Every 1-second TTL record must be gone once its second has passed. */
    sleep_ms(2100);
    vs_namespaces_close(g_manager);
    g_manager = NULL;
    CHECK_OK(vs_namespaces_open(root, &o, &g_manager, ERR));
    vs_store *s = NULL;
    CHECK_OK(vs_namespace_store(g_manager, "soak", &s, ERR));
    uint64_t live = 0;
    char id[48];
    for (int t = 0; t < WRITERS; t++) {
        for (int k = 0; k < KEYS; k++) {
            key_model *m = &writers[t].keys[k];
            snprintf(id, sizeof id, "w%d-%d", t, k);
            check_key(s, id, m);
            if (m->state == LIVE) live++;
            if (m->state == SOFT) { /* back with its version, unless a compaction removed it */
                vs_error *e = NULL;
                vs_status st = vs_store_restore(s, id, &e);
                int compacted = atomic_load(&compactions_started) > m->soft_at_compaction;
                if (st == VS_OK) {
                    m->state = LIVE;
                    check_key(s, id, m);
                    live++;
                } else if (!(st == VS_ERR_NOT_FOUND && compacted)) {
                    complain("final restore", id, st, e);
                }
                vs_error_free(e);
            }
        }
        for (int k = 0; k < TTL_KEYS; k++) {
            if (writers[t].ttl_acked_at[k] == 0) continue;
            snprintf(id, sizeof id, "ttl%d-%d", t, k);
            key_model gone = {ABSENT, 0, 0};
            check_key(s, id, &gone);
        }
    }
    uint64_t count = 0;
    CHECK_OK(vs_store_count(s, &count, ERR));
    CHECK_MSG(count == live, "count %llu, model %llu live", (unsigned long long)count, (unsigned long long)live);
    CHECK_MSG(atomic_load(&unexpected) == 0, "after reopen: %ld calls answered what the model does not allow",
              atomic_load(&unexpected));
    vs_store_close(s);
    vs_namespaces_close(g_manager);
    g_manager = NULL;
    int fds_after = open_fds();
    CHECK_MSG(fds_after == fds_before, "open file descriptors: %d before, %d after", fds_before, fds_after);
    tmpdir_remove(root);
}

int main(void) {
    (void)check_sentinel_byte_;
    RUN(test_soak);
    return check_summary();
}
