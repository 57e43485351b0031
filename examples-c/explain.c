/*
 * explain.c: ask what a query will cost before running it, then ask why each result came back.
 *
 *   explain [STORE_DIR]        (default: ./demo-store.explain)
 *
 * 1. Loads 5000 records (enough for the HNSW graph: below 2000 the store scans exactly) with
 *    metadata {"lang": "en"|"fr"|"de", "year": 2000 + i % 25}.
 * 2. vs_store_estimate_query_json on a query with a bad filter (valid=false and why: not a call
 *    error), then on a broad and on a selective filter: the plan, the estimated work and the advice.
 * 3. vs_store_query_explain on the same queries: per result, the filter conditions that matched,
 *    and the work the search really did, to set beside the estimate.
 *
 * Running it again on the same directory is fine: it replaces the same records.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vecstore.h"

#define DIM 16
#define N 5000

static int fail(const char *what, vs_status status, vs_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, vs_status_name((int)status), vs_error_message(err));
    vs_error_free(err);
    return 1;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static float rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng % 2000001) / 1000000.0 - 1.0);
}

/* Prints the estimate of `filter` (NULL = none). */
static int estimate(vs_store *store, const float *qv, const char *filter) {
    vs_query q = vs_query_default();
    vs_error *err = NULL;
    char *json = NULL;
    vs_status st;
    q.vector = qv;
    q.dim = DIM;
    q.k = 5;
    q.filter = filter;
    if ((st = vs_store_estimate_query_json(store, &q, &json, &err)) != VS_OK)
        return fail("vs_store_estimate_query_json", st, err);
    printf("estimate, filter %s:\n  %s\n", filter ? filter : "(none)", json);
    vs_string_free(json);
    return 0;
}

/* Runs `filter` with explain and prints each result's one-line explanation, and the first one whole. */
static int explain(vs_store *store, const float *qv, const char *filter) {
    vs_query q = vs_query_default();
    vs_results *r = NULL;
    vs_error *err = NULL;
    vs_status st;
    q.vector = qv;
    q.dim = DIM;
    q.k = 5;
    q.filter = filter;
    if ((st = vs_store_query_explain(store, &q, &r, &err)) != VS_OK)
        return fail("vs_store_query_explain", st, err);
    printf("explain, filter %s: %zu results\n", filter ? filter : "(none)", vs_results_len(r));
    for (size_t i = 0; i < vs_results_len(r); i++)
        printf("  %-6s %.4f %s\n", vs_results_id(r, i), (double)vs_results_score(r, i), vs_results_metadata_json(r, i));
    if (vs_results_len(r) > 0)
        printf("  first result's explanation: %s\n", vs_results_explanation_json(r, 0));
    vs_results_free(r);
    return 0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "./demo-store.explain";
    static const char *const LANGS[3] = {"en", "fr", "de"};
    static char names[N][16], metas[N][48];
    static const char *ids[N], *metap[N];
    static float vecs[N * DIM];
    float qv[DIM];
    vs_store *store = NULL;
    vs_error *err = NULL;
    vs_status st;

    vs_store_options opts = vs_store_options_default();
    opts.dimension = DIM;
    if ((st = vs_store_open(path, &opts, &store, &err)) != VS_OK)
        return fail("vs_store_open", st, err);

    /* 1. The records. */
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "doc%d", i);
        snprintf(metas[i], sizeof metas[i], "{\"lang\":\"%s\",\"year\":%d}", LANGS[i % 3], 2000 + i % 25);
        ids[i] = names[i];
        metap[i] = metas[i];
        for (int d = 0; d < DIM; d++)
            vecs[i * DIM + d] = rnd();
    }
    if ((st = vs_store_upsert_many(store, N, ids, vecs, DIM, metap, &err)) != VS_OK) {
        fail("vs_store_upsert_many", st, err);
        vs_store_close(store);
        return 1;
    }
    for (int d = 0; d < DIM; d++)
        qv[d] = rnd();

    /* 2. Estimates: a broken filter is reported, not refused; then a broad and a selective filter. */
    if (estimate(store, qv, "lang = 'en' AND year >") || estimate(store, qv, "lang = 'en' OR year >= 2020") ||
        estimate(store, qv, "lang = 'fr' AND year = 2007")) {
        vs_store_close(store);
        return 1;
    }

    /* 3. The same queries explained. The selective one (2% of the records pass) is answered by an
     *    exact scan, as its estimate said; the broad one by the graph. */
    if (explain(store, qv, "lang = 'en' OR year >= 2020") || explain(store, qv, "lang = 'fr' AND year = 2007")) {
        vs_store_close(store);
        return 1;
    }
    vs_store_close(store);
    return 0;
}
