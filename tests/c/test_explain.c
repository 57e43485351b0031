/*
 * test_explain.c: vs_store_query_explain, vs_results_explanation_json and
 * vs_store_estimate_query_json through the C ABI.
 *
 * A store of N = 3000 records (above the 2000 where the graph takes over from the exact scan) with
 * metadata {"cat": "a" | "b", "n": i % 10}. Explain must return exactly what the query returns, with
 * per-row filter conditions that C can check against the metadata, and real graph counters; the
 * estimate must report invalid queries as valid=false with the specific error and predict the plan
 * that explain then reports.
 */
#include "check.h"

#define DIM 8
#define N 3000

static char dir[PATH_MAX];
static float vecs[N * DIM];

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static float rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state % 2000001) / 1000000.0 - 1.0);
}

static vs_store *build_store(void) {
    static char names[N][16];
    static const char *ids[N];
    static char metas[N][48];
    static const char *metap[N];
    vs_store *s;
    tmpdir_make(dir, sizeof dir);
    s = open_store(dir, DIM, VS_METRIC_COSINE);
    if (s == NULL)
        return NULL;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "r%d", i);
        ids[i] = names[i];
        snprintf(metas[i], sizeof metas[i], "{\"cat\":\"%s\",\"n\":%d}", i % 2 == 0 ? "a" : "b", i % 10);
        metap[i] = metas[i];
        for (int d = 0; d < DIM; d++)
            vecs[i * DIM + d] = rnd();
    }
    CHECK_OK(vs_store_upsert_many(s, N, ids, vecs, DIM, metap, ERR));
    return s;
}

/* The number after "key": in a compact JSON text (-1 when absent). */
static double json_num(const char *json, const char *key) {
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    p = json ? strstr(json, pat) : NULL;
    return p ? strtod(p + strlen(pat), NULL) : -1.0;
}

static int has(const char *json, const char *text) { return json != NULL && strstr(json, text) != NULL; }

static const float QV[DIM] = {0.1f, -0.2f, 0.3f, 0.05f, 0.0f, 0.2f, -0.1f, 0.4f};

static vs_query query_of(const char *filter) {
    vs_query q = vs_query_default();
    q.vector = QV;
    q.dim = DIM;
    q.k = 10;
    q.ef_search = 16;
    q.filter = filter;
    return q;
}

static void test_explain_returns_the_query_results_with_reasons(void) {
    vs_store *s = build_store();
    /* 3000 records. The plan follows the metadata index's exact match count m: the listed matches
     * are scanned when m * m < 4 * ef * 2M * n (here 4 * 16 * 32 * 3000), the graph is searched
     * otherwise. No filter and "n != 4" (2700 pass) use the graph; "cat = 'a' OR n = 3" (1800) and
     * "n = 4" (300) scan their matches, one distance each. */
    const char *filters[4] = {NULL, "n != 4", "cat = 'a' OR n = 3", "n = 4"};
    const char *plans[4] = {"\"plan\":\"graph\"", "\"plan\":\"graph\"", "\"plan\":\"exact_scan\"",
                            "\"plan\":\"exact_scan\""};
    const double matches[4] = {0, 0, 1800, 300};
    const unsigned conditions[4] = {0, 1, 2, 1};
    for (int f = 0; f < 4; f++) {
        vs_query q = query_of(filters[f]);
        vs_results *plain = NULL, *ex = NULL;
        CHECK_OK(vs_store_query(s, &q, &plain, ERR));
        CHECK_OK(vs_store_query_explain(s, &q, &ex, ERR));
        CHECK(vs_results_len(plain) == 10);
        CHECK(vs_results_len(ex) == vs_results_len(plain));
        for (size_t i = 0; i < vs_results_len(ex); i++) {
            const char *e = vs_results_explanation_json(ex, i);
            const char *meta = vs_results_metadata_json(ex, i);
            float a = vs_results_score(plain, i), b = vs_results_score(ex, i);
            CHECK_STR_EQ(vs_results_id(ex, i), vs_results_id(plain, i));
            CHECK(memcmp(&a, &b, sizeof a) == 0);
            CHECK_STR_EQ(meta, vs_results_metadata_json(plain, i));
            CHECK(vs_results_explanation_json(plain, i) == NULL);
            CHECK_MSG(json_is_object(e), "explanation is not a JSON object: %s", e ? e : "NULL");
            CHECK(json_num(e, "rank") == (double)(i + 1));
            CHECK(fabs(json_num(e, "raw_score") - (double)b) < 1e-6);
            CHECK(has(e, "\"distance_metric\":\"Cosine\""));
            CHECK(has(e, "\"filter_passed\":true"));
            CHECK(has(e, "\"explanation_text\":\"Ranked #"));
            CHECK_MSG(has(e, plans[f]), "filter %s: %s", filters[f] ? filters[f] : "none", e);
            /* The same explanation as numbers. */
            {
                vs_explanation x = vs_explanation_default();
                CHECK_OK(vs_results_explanation(ex, i, &x, ERR));
                CHECK(x.rank == i + 1);
                CHECK(fabs(x.raw_score - (double)b) < 1e-6);
                CHECK(x.plan == (f < 2 ? VS_PLAN_GRAPH : VS_PLAN_EXACT_SCAN));
                CHECK(x.filter_passed);
                CHECK((double)x.distance_calculations == json_num(e, "distance_calculations"));
                CHECK((double)x.nodes_visited == json_num(e, "nodes_visited"));
                CHECK(x.conditions == conditions[f]);
                CHECK(x.matched_conditions >= (f == 0 ? 0u : 1u) && x.matched_conditions <= x.conditions);
            }
            if (f < 2) {
                CHECK(json_num(e, "nodes_visited") > 0);
                CHECK(json_num(e, "graph_distance_calculations") > json_num(e, "nodes_visited"));
                CHECK(json_num(e, "exact_scan_distance_calculations") == 0);
            } else {
                CHECK(json_num(e, "nodes_visited") == 0);
                CHECK(json_num(e, "distance_calculations") == matches[f]);
            }
            if (f == 0) {
                CHECK(has(e, "\"filter_details\":null"));
            } else if (f == 1) {
                CHECK(!has(meta, "\"n\":4"));
                CHECK(has(e, "\"matched_conditions\":[\"n != 4\"]"));
            } else if (f == 2) {
                /* Which of the two conditions this row satisfies, from its own metadata. */
                int is_a = has(meta, "\"cat\":\"a\""), is_3 = has(meta, "\"n\":3");
                const char *want = is_a && is_3 ? "\"matched_conditions\":[\"cat = 'a'\",\"n = 3\"]"
                                   : is_a       ? "\"matched_conditions\":[\"cat = 'a'\"]"
                                                : "\"matched_conditions\":[\"n = 3\"]";
                CHECK(is_a || is_3);
                CHECK_MSG(has(e, want), "metadata %s, explanation %s", meta, e);
                CHECK(has(e, "\"filter_expr\":\"cat = 'a' OR n = 3\""));
                CHECK(has(e, is_a ? "{\"condition\":\"cat = 'a'\",\"matched\":true}"
                                  : "{\"condition\":\"cat = 'a'\",\"matched\":false}"));
            } else {
                CHECK(has(meta, "\"n\":4"));
                CHECK(has(e, "\"matched_conditions\":[\"n = 4\"]"));
            }
        }
        CHECK(vs_results_explanation_json(ex, 10) == NULL);
        {
            vs_explanation x = vs_explanation_default(), untouched;
            x.rank = 777;
            untouched = x;
            CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "out of range", vs_results_explanation(ex, 10, &x, ERR));
            CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_store_query_explain",
                            vs_results_explanation(plain, 0, &x, ERR));
            CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_results_explanation(NULL, 0, &x, ERR));
            CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_results_explanation(ex, 0, NULL, ERR));
            x.struct_size = 0;
            untouched.struct_size = 0;
            CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_explanation_default", vs_results_explanation(ex, 0, &x, ERR));
            CHECK(memcmp(&x, &untouched, sizeof x) == 0);
        }
        vs_results_free(plain);
        vs_results_free(ex);
    }
    CHECK(vs_results_explanation_json(NULL, 0) == NULL);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_explain_refuses_what_query_refuses(void) {
    vs_store *s = build_store();
    vs_results *r = SENTINEL_PTR(vs_results);
    vs_query q = query_of(NULL);
    q.dim = DIM - 1;
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_query_explain(s, &q, &r, ERR));
    q = query_of("cat = ");
    CHECK_FAILS_MSG(VS_ERR_FILTER_SYNTAX, "position", vs_store_query_explain(s, &q, &r, ERR));
    q = query_of(NULL);
    q.k = 0;
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_query_explain(s, &q, &r, ERR));
    q = query_of(NULL);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_query_explain(NULL, &q, &r, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_query_explain(s, NULL, &r, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_query_explain(s, &q, NULL, ERR));
    CHECK(r == SENTINEL_PTR(vs_results));
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* Runs an estimate, which must succeed as a call, and returns the owned JSON. */
static char *estimate(vs_store *s, const vs_query *q) {
    char *json = NULL;
    CHECK_OK(vs_store_estimate_query_json(s, q, &json, ERR));
    CHECK_MSG(json_is_object(json), "estimate is not a JSON object: %s", json ? json : "NULL");
    return json;
}

static void test_estimate_reports_invalid_queries(void) {
    vs_store *s = build_store();
    float bad[DIM];
    char *out = SENTINEL_PTR(char);
    struct {
        vs_query q;
        const char *code, *text;
    } cases[6];
    memcpy(bad, QV, sizeof bad);
    bad[3] = NAN;
    for (int i = 0; i < 6; i++)
        cases[i].q = query_of(NULL);
    cases[0].q.dim = DIM - 1, cases[0].code = "dimension_mismatch", cases[0].text = "dimension";
    cases[1].q.k = 0, cases[1].code = "invalid_argument", cases[1].text = "k must be";
    cases[2].q.k = VS_MAX_K + 1, cases[2].code = "invalid_argument", cases[2].text = "k must be";
    cases[3].q.filter = "n >", cases[3].code = "filter_syntax", cases[3].text = "position";
    cases[4].q.vector = bad, cases[4].code = "invalid_argument", cases[4].text = "non-finite";
    cases[5].q.ef_search = 100001, cases[5].code = "invalid_argument", cases[5].text = "ef_search";
    for (int i = 0; i < 6; i++) {
        char *json = estimate(s, &cases[i].q);
        char want[64];
        snprintf(want, sizeof want, "\"error_codes\":[\"%s\"]", cases[i].code);
        CHECK_MSG(has(json, "\"valid\":false"), "case %d: %s", i, json);
        CHECK_MSG(has(json, want), "case %d: %s", i, json);
        CHECK_MSG(has(json, cases[i].text), "case %d: %s", i, json);
        CHECK(has(json, "\"plan\":null"));
        vs_string_free(json);
    }
    /* Only broken calls are errors. */
    {
        vs_query q = query_of(NULL);
        vs_query uninit = q;
        uninit.struct_size = 0;
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_estimate_query_json(NULL, &q, &out, ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_estimate_query_json(s, NULL, &out, ERR));
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_estimate_query_json(s, &q, NULL, ERR));
        CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "vs_query_default",
                        vs_store_estimate_query_json(s, &uninit, &out, ERR));
        CHECK(out == SENTINEL_PTR(char));
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_estimate_predicts_the_plan_explain_reports(void) {
    vs_store *s = build_store();
    const char *filters[4] = {NULL, "n != 4", "cat = 'a' OR n = 3", "n = 4"};
    for (int f = 0; f < 4; f++) {
        vs_query q = query_of(filters[f]);
        vs_results *ex = NULL;
        char *json = estimate(s, &q);
        const char *e;
        double est_d, got_d, cost;
        CHECK_OK(vs_store_query_explain(s, &q, &ex, ERR));
        e = vs_results_explanation_json(ex, 0);
        CHECK(has(json, "\"valid\":true"));
        CHECK(has(json, "\"errors\":[]"));
        if (has(e, "\"plan\":\"graph\""))
            CHECK_MSG(has(json, "\"plan\":\"graph\""), "filter %s: estimate %s", filters[f] ? filters[f] : "none", json);
        else
            CHECK_MSG(has(json, "\"plan\":\"exact_scan\""), "filter %s: estimate %s", filters[f] ? filters[f] : "none", json);
        est_d = json_num(json, "estimated_distance_calculations");
        got_d = json_num(e, "distance_calculations");
        CHECK_MSG(est_d > got_d / 3 && est_d < got_d * 3, "estimated %g distances, measured %g", est_d, got_d);
        cost = json_num(json, "cost_estimate");
        CHECK(cost > 0 && cost <= 1);
        CHECK(json_num(json, "estimated_duration_ms") > 0);
        /* Only the filtered graph search over-fetches. */
        CHECK(has(json, f == 1 ? "\"will_overfetch\":true" : "\"will_overfetch\":false"));
        vs_string_free(json);
        vs_results_free(ex);
    }
    vs_store_close(s);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_explain_returns_the_query_results_with_reasons);
    RUN(test_explain_refuses_what_query_refuses);
    RUN(test_estimate_reports_invalid_queries);
    RUN(test_estimate_predicts_the_plan_explain_reports);
    return check_summary();
}
