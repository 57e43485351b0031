/*
 * test_threads.c: one handle shared by many pthreads at once (queries, upserts, upsert_many, gets,
 * deletes, counts, stats), racing opens of one directory, independent stores on many threads, and
 * one result set read from many threads.
 */
#include "check.h"

#include <pthread.h>

static char dir[PATH_MAX];

enum { DIM = 16, PRELOAD = 200, THREADS = 8, ROUNDS = 120 };

static void vector_for(int seed, float *v) {
    for (int j = 0; j < DIM; j++)
        v[j] = (float)(((seed + 1) * (j + 3) * 2654435761u) % 1000u) / 500.0f - 1.0f + 0.001f;
}

/* Failures seen by worker threads (CHECK itself is not thread-safe: workers count, main checks). */
typedef struct {
    vs_store *s;
    int index;
    int failures;
    char first_failure[256];
} worker;

static void worker_fail(worker *w, const char *what, vs_status st, vs_error *e) {
    if (w->failures++ == 0)
        snprintf(w->first_failure, sizeof w->first_failure, "thread %d: %s: %s %s", w->index, what,
                 vs_status_name((int)st), vs_error_message(e));
    vs_error_free(e);
}

/* Each worker upserts its own ids, queries, reads preloaded records, counts, reads stats, and
 * deletes every third of its own ids. */
static void *mixed_worker(void *arg) {
    worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char id[32];
        float v[DIM];
        vs_error *e = NULL;
        vs_status st;
        snprintf(id, sizeof id, "t%d-%d", w->index, i);
        vector_for(w->index * 1000 + i, v);
        st = vs_store_upsert(w->s, id, v, DIM, "{\"thread\":true}", &e);
        if (st != VS_OK)
            worker_fail(w, "upsert", st, e);

        {
            vs_query q = vs_query_default();
            vs_results *r = NULL;
            e = NULL;
            q.vector = v;
            q.dim = DIM;
            q.k = 10;
            st = vs_store_query(w->s, &q, &r, &e);
            if (st != VS_OK) {
                worker_fail(w, "query", st, e);
            } else {
                if (vs_results_len(r) != 10)
                    worker_fail(w, "query returned fewer than 10 rows", st, NULL);
                for (size_t k = 0; k < vs_results_len(r); k++) {
                    if (vs_results_id(r, k) == NULL || vs_results_metadata_json(r, k) == NULL)
                        worker_fail(w, "query row without id or metadata", st, NULL);
                    if (k > 0 && vs_results_score(r, k) > vs_results_score(r, k - 1))
                        worker_fail(w, "query rows out of order", st, NULL);
                }
                /* our own record was just written: it is the best hit (cosine 1) */
                if (vs_results_score(r, 0) < 0.9999f)
                    worker_fail(w, "own record is not the best hit", st, NULL);
            }
            vs_results_free(r);
        }

        if (i % 5 == 0) {
            char pid[16];
            vs_results *r = NULL;
            uint64_t n = 0;
            char *stats = NULL;
            snprintf(pid, sizeof pid, "p%d", (w->index * 37 + i) % PRELOAD);
            e = NULL;
            st = vs_store_get(w->s, pid, &r, &e);
            if (st != VS_OK || vs_results_len(r) != 1 || strcmp(vs_results_id(r, 0), pid) != 0)
                worker_fail(w, "get of a preloaded id", st, e);
            vs_results_free(r);
            e = NULL;
            st = vs_store_count(w->s, &n, &e);
            if (st != VS_OK || n < PRELOAD / 2)
                worker_fail(w, "count", st, e);
            e = NULL;
            st = vs_store_stats_json(w->s, &stats, &e);
            if (st != VS_OK || !json_is_object(stats))
                worker_fail(w, "stats_json", st, e);
            vs_string_free(stats);
        }
        if (i % 3 == 2) {
            char old[32];
            snprintf(old, sizeof old, "t%d-%d", w->index, i - 1);
            e = NULL;
            st = vs_store_delete(w->s, old, &e);
            if (st != VS_OK)
                worker_fail(w, "delete", st, e);
        }
    }
    return NULL;
}

static void test_many_threads_query_and_write_one_handle(void) {
    static char idbuf[PRELOAD][16];
    static float vecs[PRELOAD * DIM];
    const char *ids[PRELOAD];
    pthread_t tid[THREADS];
    worker w[THREADS];
    vs_store *s;
    uint64_t deleted_per_thread = 0;
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, DIM, VS_METRIC_COSINE);
    for (int i = 0; i < PRELOAD; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "p%d", i);
        ids[i] = idbuf[i];
        vector_for(100000 + i, vecs + i * DIM);
    }
    CHECK_OK(vs_store_upsert_many(s, PRELOAD, ids, vecs, DIM, NULL, ERR));

    for (int t = 0; t < THREADS; t++) {
        w[t] = (worker){.s = s, .index = t};
        CHECK(pthread_create(&tid[t], NULL, mixed_worker, &w[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(tid[t], NULL) == 0);
        CHECK_MSG(w[t].failures == 0, "%d failures; first: %s", w[t].failures, w[t].first_failure);
    }
    for (int i = 0; i < ROUNDS; i++)
        if (i % 3 == 2)
            deleted_per_thread++;
    CHECK(store_count(s) == PRELOAD + THREADS * (ROUNDS - deleted_per_thread));

    /* every surviving record is there, with its own vector */
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < ROUNDS; i++) {
            char id[32];
            vs_results *r = NULL;
            vs_status st;
            int should_exist = !(i % 3 == 1 && i + 1 < ROUNDS);
            snprintf(id, sizeof id, "t%d-%d", t, i);
            st = vs_store_get(s, id, &r, NULL);
            CHECK_MSG(st == (should_exist ? VS_OK : VS_ERR_NOT_FOUND), "get %s: %s", id, vs_status_name((int)st));
            vs_results_free(r);
        }
    }
    {
        char *before, *after;
        float probe[DIM];
        vector_for(7, probe);
        before = store_snapshot(s, probe, DIM, NULL, 0);
        vs_store_close(s);
        s = open_store(dir, DIM, VS_METRIC_COSINE);
        after = store_snapshot(s, probe, DIM, NULL, 0);
        CHECK_MSG(strcmp(before, after) == 0, "the store differs after reopening");
        free(before);
        free(after);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* Batches from several threads at once: each is applied whole. */
enum { BATCH = 50, BATCH_THREADS = 6, BATCHES = 4 };

static void *batch_worker(void *arg) {
    worker *w = arg;
    char idbuf[BATCH][32];
    const char *ids[BATCH];
    float vecs[BATCH * DIM];
    for (int b = 0; b < BATCHES; b++) {
        vs_error *e = NULL;
        vs_status st;
        for (int i = 0; i < BATCH; i++) {
            snprintf(idbuf[i], sizeof idbuf[i], "w%d-b%d-%d", w->index, b, i);
            ids[i] = idbuf[i];
            vector_for(w->index * 10000 + b * 100 + i, vecs + i * DIM);
        }
        st = vs_store_upsert_many(w->s, BATCH, ids, vecs, DIM, NULL, &e);
        if (st != VS_OK)
            worker_fail(w, "upsert_many", st, e);
        /* a batch with a bad record in the middle, racing the others: nothing of it appears */
        vecs[(BATCH / 2) * DIM] = NAN;
        for (int i = 0; i < BATCH; i++) {
            snprintf(idbuf[i], sizeof idbuf[i], "bad%d-b%d-%d", w->index, b, i);
            ids[i] = idbuf[i];
        }
        e = NULL;
        st = vs_store_upsert_many(w->s, BATCH, ids, vecs, DIM, NULL, &e);
        if (st != VS_ERR_INVALID_ARGUMENT)
            worker_fail(w, "bad upsert_many was not refused", st, e);
        else
            vs_error_free(e);
    }
    return NULL;
}

static void test_many_threads_upsert_many_at_once(void) {
    pthread_t tid[BATCH_THREADS];
    worker w[BATCH_THREADS];
    vs_store *s;
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, DIM, VS_METRIC_DOT);
    for (int t = 0; t < BATCH_THREADS; t++) {
        w[t] = (worker){.s = s, .index = t};
        CHECK(pthread_create(&tid[t], NULL, batch_worker, &w[t]) == 0);
    }
    for (int t = 0; t < BATCH_THREADS; t++) {
        CHECK(pthread_join(tid[t], NULL) == 0);
        CHECK_MSG(w[t].failures == 0, "%d failures; first: %s", w[t].failures, w[t].first_failure);
    }
    CHECK(store_count(s) == BATCH_THREADS * BATCHES * BATCH);
    {
        vs_results *r = SENTINEL_PTR(vs_results);
        CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "bad0-b0-0", &r, ERR));
        CHECK(r == SENTINEL_PTR(vs_results));
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* Many threads race to open one directory: exactly one wins, the others get VS_ERR_LOCKED. */
typedef struct {
    pthread_barrier_t *start;
    vs_store *s;
    vs_status st;
    int message_ok;
} opener;

static void *open_worker(void *arg) {
    opener *o = arg;
    vs_error *e = NULL;
    pthread_barrier_wait(o->start);
    o->st = vs_store_open(dir, NULL, &o->s, &e);
    o->message_ok = o->st == VS_OK ? e == NULL : (e != NULL && vs_error_message(e)[0] != '\0');
    vs_error_free(e);
    return NULL;
}

static void test_threads_racing_to_open_one_directory(void) {
    enum { N = 8 };
    pthread_t tid[N];
    opener o[N];
    pthread_barrier_t start;
    int winners = 0;
    tmpdir_make(dir, sizeof dir);
    vs_store_close(open_store(dir, 4, VS_METRIC_COSINE));
    for (int round = 0; round < 5; round++) {
        pthread_barrier_init(&start, NULL, N);
        for (int t = 0; t < N; t++) {
            o[t] = (opener){.start = &start, .s = NULL, .st = VS_ERR_INTERNAL};
            CHECK(pthread_create(&tid[t], NULL, open_worker, &o[t]) == 0);
        }
        winners = 0;
        for (int t = 0; t < N; t++) {
            CHECK(pthread_join(tid[t], NULL) == 0);
            CHECK_MSG(o[t].st == VS_OK || o[t].st == VS_ERR_LOCKED, "thread %d: %s", t, vs_status_name((int)o[t].st));
            CHECK(o[t].message_ok);
            if (o[t].st == VS_OK) {
                winners++;
                CHECK(o[t].s != NULL);
            } else {
                CHECK(o[t].s == NULL);
            }
        }
        CHECK_MSG(winners == 1, "round %d: %d threads opened the store", round, winners);
        for (int t = 0; t < N; t++)
            vs_store_close(o[t].s);
        pthread_barrier_destroy(&start);
    }
    tmpdir_remove(dir);
}

/* Independent stores on independent threads: no shared state between handles. */
static void *own_store_worker(void *arg) {
    worker *w = arg;
    char path[PATH_MAX + 16];
    vs_store_options o = vs_store_options_default();
    vs_store *s = NULL;
    vs_error *e = NULL;
    vs_status st;
    snprintf(path, sizeof path, "%s/own%d", dir, w->index);
    o.dimension = DIM;
    o.metric = (vs_metric)(w->index % 3);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t n = 0;
        e = NULL;
        st = vs_store_open(path, &o, &s, &e);
        if (st != VS_OK) {
            worker_fail(w, "open", st, e);
            return NULL;
        }
        for (int i = 0; i < 40; i++) {
            char id[16];
            float v[DIM];
            snprintf(id, sizeof id, "k%d", pass * 40 + i);
            vector_for(i + w->index, v);
            e = NULL;
            st = vs_store_upsert(s, id, v, DIM, NULL, &e);
            if (st != VS_OK)
                worker_fail(w, "upsert", st, e);
        }
        e = NULL;
        st = vs_store_count(s, &n, &e);
        if (st != VS_OK || n != (uint64_t)(pass + 1) * 40)
            worker_fail(w, "count after reopen", st, e);
        vs_store_close(s);
        s = NULL;
    }
    return NULL;
}

static void test_independent_stores_on_many_threads(void) {
    enum { N = 8 };
    pthread_t tid[N];
    worker w[N];
    tmpdir_make(dir, sizeof dir);
    for (int t = 0; t < N; t++) {
        w[t] = (worker){.index = t};
        CHECK(pthread_create(&tid[t], NULL, own_store_worker, &w[t]) == 0);
    }
    for (int t = 0; t < N; t++) {
        CHECK(pthread_join(tid[t], NULL) == 0);
        CHECK_MSG(w[t].failures == 0, "%d failures; first: %s", w[t].failures, w[t].first_failure);
    }
    tmpdir_remove(dir);
}

/* A result set is immutable: many threads may read it at once. */
typedef struct {
    const vs_results *r;
    int bad;
} reader;

static void *results_reader(void *arg) {
    reader *rd = arg;
    for (int pass = 0; pass < 200; pass++)
        for (size_t i = 0; i < vs_results_len(rd->r); i++)
            if (vs_results_id(rd->r, i) == NULL || isnan(vs_results_score(rd->r, i)) ||
                !json_is_object(vs_results_metadata_json(rd->r, i)))
                rd->bad++;
    return NULL;
}

static void test_one_result_set_read_by_many_threads(void) {
    enum { N = 6 };
    pthread_t tid[N];
    reader rd[N];
    vs_store *s;
    vs_results *r = NULL;
    vs_query q = vs_query_default();
    float v[DIM];
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    for (int i = 0; i < 30; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        vector_for(i, v);
        CHECK_OK(vs_store_upsert(s, id, v, DIM, "{\"shared\":1}", ERR));
    }
    q.vector = v;
    q.dim = DIM;
    q.k = 25;
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    vs_store_close(s);
    CHECK(vs_results_len(r) == 25);
    for (int t = 0; t < N; t++) {
        rd[t] = (reader){.r = r};
        CHECK(pthread_create(&tid[t], NULL, results_reader, &rd[t]) == 0);
    }
    for (int t = 0; t < N; t++) {
        CHECK(pthread_join(tid[t], NULL) == 0);
        CHECK(rd[t].bad == 0);
    }
    vs_results_free(r);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_many_threads_query_and_write_one_handle);
    RUN(test_many_threads_upsert_many_at_once);
    RUN(test_threads_racing_to_open_one_directory);
    RUN(test_independent_stores_on_many_threads);
    RUN(test_one_result_set_read_by_many_threads);
    return check_summary();
}
