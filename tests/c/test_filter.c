/*
 * test_filter.c: filtered queries and the filter language through the C ABI.
 *
 * A store of N records carries metadata whose fields are known functions of the record number, so
 * the test can decide in C which records a filter must match. Each filtered query must return only
 * matching records, exactly min(k, number of matches) of them, best first, and (summed over all
 * queries) nearly the same records as a brute-force scan of the matching vectors.
 */
#include "check.h"

#define DIM 8
#define N 3000

static char dir[PATH_MAX];
static float vecs[N * DIM];

static const char *const CATEGORIES[5] = {"tech", "news", "sport", "it's", "arts"};

/* Metadata of record i: category, price, a tag list, a flag and a title. */
static int cat_of(int i) { return i % 5; }
static int price_of(int i) { return (i * 37) % 1000; }
static int has_tag_red(int i) { return i % 3 == 0; }
static int flag_of(int i) { return i % 2 == 0; }

static uint64_t rng_state = 88172645463325252ULL;
static float rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state % 2000001) / 1000000.0 - 1.0);
}

static vs_store *build_store(void) {
    vs_store *s;
    static char names[N][16];
    static const char *ids[N];
    static char metas[N][160];
    static const char *metap[N];
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    if (s == NULL)
        return NULL;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "r%d", i);
        ids[i] = names[i];
        snprintf(metas[i], sizeof metas[i],
                 "{\"category\":\"%s\",\"price\":%d,\"tags\":[\"%s\",\"t%d\"],\"flag\":%s,\"title\":\"item "
                 "number %d\"%s}",
                 CATEGORIES[cat_of(i)], price_of(i), has_tag_red(i) ? "red" : "blue", i % 7,
                 flag_of(i) ? "true" : "false", i, i % 10 == 0 ? ",\"rare\":1" : "");
        metap[i] = metas[i];
        for (int d = 0; d < DIM; d++)
            vecs[i * DIM + d] = rnd();
    }
    CHECK_OK(vs_store_upsert_many(s, N, ids, vecs, DIM, metap, ERR));
    return s;
}

typedef int (*pred_fn)(int i);

static int p_tech(int i) { return cat_of(i) == 0; }
static int p_not_tech(int i) { return cat_of(i) != 0; }
static int p_cheap(int i) { return price_of(i) < 100; }
static int p_price_range(int i) { return price_of(i) >= 250 && price_of(i) <= 260; }
static int p_in(int i) { return cat_of(i) == 1 || cat_of(i) == 2; }
static int p_not_in(int i) { return !(cat_of(i) == 1 || cat_of(i) == 2); }
static int p_red(int i) { return has_tag_red(i); }
static int p_title(int i) {
    char t[32];
    snprintf(t, sizeof t, "item number %d", i);
    return strstr(t, "99") != NULL;
}
static int p_combo(int i) { return (cat_of(i) == 0 || price_of(i) > 900) && !flag_of(i); }
static int p_rare(int i) { return i % 10 == 0; }
static int p_quote(int i) { return cat_of(i) == 3; }
static int p_price_gt(int i) { return price_of(i) > 500; }
static int p_one(int i) { return i == 1234; }
static int p_none(int i) { (void)i; return 0; }

static float l2(const float *a, const float *b) {
    float s = 0;
    for (int d = 0; d < DIM; d++)
        s += (a[d] - b[d]) * (a[d] - b[d]);
    return s;
}

typedef struct {
    float dist;
    int row;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    return x->dist < y->dist ? -1 : x->dist > y->dist ? 1 : x->row - y->row;
}

static cand cands[N];
/* Ranking is approximate (an HNSW search), membership in the filter is not: results are checked one
 * by one against the filter, and their overlap with the brute-force top k is summed into a recall. */
static long recall_found, recall_wanted;

static void check_filter(const vs_store *s, const char *filter, pred_fn pred, uint32_t k) {
    float q[DIM];
    vs_query query = vs_query_default();
    vs_results *r = NULL;
    int matches = 0;
    for (int d = 0; d < DIM; d++)
        q[d] = rnd();
    /* Brute force over the matching records. */
    for (int i = 0; i < N; i++)
        if (pred(i))
            cands[matches++] = (cand){l2(q, vecs + i * DIM), i};
    qsort(cands, (size_t)matches, sizeof cands[0], cand_cmp);
    query.vector = q;
    query.dim = DIM;
    query.k = k;
    query.filter = filter;
    CHECK_OK(vs_store_query(s, &query, &r, ERR));
    if (r == NULL)
        return;
    size_t want = (size_t)(matches < (int)k ? matches : (int)k);
    CHECK_MSG(vs_results_len(r) == want, "filter %s: %zu results, want %zu (%d match)", filter, vs_results_len(r),
              want, matches);
    for (size_t j = 0; j < vs_results_len(r) && j < want; j++) {
        const char *id = vs_results_id(r, j);
        int i = atoi(id + 1);
        CHECK_MSG(pred(i), "filter %s returned %s, which does not match", filter, id);
        for (size_t t = 0; t < want; t++)
            recall_found += cands[t].row == i;
        if (j > 0)
            CHECK(vs_results_score(r, j) <= vs_results_score(r, j - 1));
    }
    recall_wanted += (long)want;
    vs_results_free(r);
}

static void test_filtered_queries_return_only_and_enough_matches(void) {
    vs_store *s = build_store();
    if (s == NULL)
        return;
    for (int round = 0; round < 3; round++) {
        check_filter(s, "category = 'tech'", p_tech, 10);
        check_filter(s, "category != \"tech\"", p_not_tech, 10);
        check_filter(s, "price < 100", p_cheap, 20);
        check_filter(s, "price >= 250 AND price <= 260", p_price_range, 10);
        check_filter(s, "category IN ('news', 'sport')", p_in, 10);
        check_filter(s, "category not in ('news', 'sport')", p_not_in, 10);
        check_filter(s, "tags CONTAINS 'red'", p_red, 10);
        check_filter(s, "title contains '99'", p_title, 10);
        check_filter(s, "(category = 'tech' OR price > 900) AND NOT flag = true", p_combo, 10);
        check_filter(s, "rare = 1", p_rare, 10);
        check_filter(s, "category = 'it\\'s'", p_quote, 10);
        check_filter(s, "category = \"it's\"", p_quote, 10);
        check_filter(s, "PRICE > 500 or price > 500", p_price_gt, 10); /* field names are case-sensitive */
        check_filter(s, "title = 'item number 1234'", p_one, 10);
        check_filter(s, "category = 'nothing'", p_none, 10);
        check_filter(s, "category = 'tech'", p_tech, 64);
    }
    CHECK_MSG(recall_found >= recall_wanted * 97 / 100, "filtered recall %ld / %ld", recall_found, recall_wanted);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_filtered_queries_skip_deleted_records(void) {
    vs_store *s = build_store();
    vs_results *r = NULL;
    vs_query q = vs_query_default();
    uint64_t n;
    if (s == NULL)
        return;
    /* Delete every "tech" record but r5; a tech filter must find just that one. */
    for (int i = 0; i < N; i += 5) {
        char name[16];
        if (i == 5 || cat_of(i) != 0)
            continue;
        snprintf(name, sizeof name, "r%d", i);
        CHECK_OK(vs_store_delete(s, name, ERR));
    }
    q.vector = vecs;
    q.dim = DIM;
    q.k = 10;
    q.filter = "category = 'tech'";
    CHECK_OK(vs_store_query(s, &q, &r, ERR));
    n = r ? vs_results_len(r) : 0;
    CHECK_MSG(n == 1, "%llu results", (unsigned long long)n);
    if (n == 1)
        CHECK_STR_EQ(vs_results_id(r, 0), "r5");
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_bad_filters_are_syntax_errors_with_a_position(void) {
    vs_store *s = build_store();
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = vs_query_default();
    static const char *const bad[] = {
        "",                        "   ",
        "category =",              "category = 'tech",
        "= 'tech'",                "category 'tech'",
        "category = 'tech' extra", "(category = 'tech'",
        "category = 'tech')",      "price > 10 AND",
        "price IN ()",             "price IN (1, 2",
        "price ~ 3",               "category = 'a\\qb'",
        "NOT",                     "price > 1e",
    };
    if (s == NULL)
        return;
    q.vector = vecs;
    q.dim = DIM;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        q.filter = bad[i];
        CHECK_FAILS_MSG(VS_ERR_FILTER_SYNTAX, "position", vs_store_query(s, &q, &r, ERR));
        CHECK(r == SENTINEL_PTR(vs_results));
    }
    /* A deeply nested filter is an error, not a stack overflow. */
    {
        char deep[20000];
        size_t n = 0;
        for (int i = 0; i < 5000; i++)
            deep[n++] = '(';
        memcpy(deep + n, "price > 1", 9);
        n += 9;
        for (int i = 0; i < 5000; i++)
            deep[n++] = ')';
        deep[n] = '\0';
        q.filter = deep;
        CHECK_FAILS(VS_ERR_FILTER_SYNTAX, vs_store_query(s, &q, &r, ERR));
    }
    /* Invalid UTF-8 in a filter is an invalid argument. */
    q.filter = "category = '\xff'";
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_query(s, &q, &r, ERR));
    CHECK(store_count(s) == N);
    vs_store_close(s);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_filtered_queries_return_only_and_enough_matches);
    RUN(test_filtered_queries_skip_deleted_records);
    RUN(test_bad_filters_are_syntax_errors_with_a_position);
    return check_summary();
}
