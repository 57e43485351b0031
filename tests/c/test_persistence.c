/*
 * test_persistence.c: what survives close, reopen and crashes; the directory lock (VS_ERR_LOCKED,
 * in this process and across processes); damaged files (VS_ERR_CORRUPT); torn log tails (dropped);
 * failed writes (VS_ERR_IO, rolled back).
 *
 * The file layout used to damage files on purpose comes from src/storage/log.rs:
 *   vecstore.log = header: "VSLOG\0\0\0" | format version u32 LE (2) | log generation u32 LE (0 until snapshots)
 *                  frames: payload length u32 LE | crc32 (IEEE) of payload u32 LE | payload
 *                  payload = bincode 1 (fixed-int) of Vec<LogOp>,
 *                  LogOp::Upsert{id: String, vector: Vec<f32>, metadata: String} is variant 0
 *   vecstore.meta.json = {"format_version":1,"dimension":D,"metric":"cosine",...}
 */
#include "check.h"

#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/wait.h>

static char dir[PATH_MAX];
static char log_path[PATH_MAX + 32];
static char meta_path[PATH_MAX + 32];

static void fresh_dir(void) {
    tmpdir_make(dir, sizeof dir);
    path_join(log_path, sizeof log_path, dir, "vecstore.log");
    path_join(meta_path, sizeof meta_path, dir, "vecstore.meta.json");
}

static vs_store *reopen(uint32_t dim, vs_metric metric) {
    return open_store(dir, dim, metric);
}

static const float PROBE4[4] = {0.3f, -0.2f, 0.9f, 0.1f};
static const char *const WATCHED[] = {"r0", "r1", "r2", "r3", "r7", "x", "y", "from-child", "gone", NULL};

/* Fills a store with 20 records (upsert_many), 5 more (upsert), replaces 3, deletes 4. */
static void fill(vs_store *s) {
    enum { N = 20, DIM = 4 };
    static char idbuf[N][8], metabuf[N][32];
    const char *ids[N], *meta[N];
    float vecs[N * DIM];
    for (int i = 0; i < N; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "r%d", i);
        snprintf(metabuf[i], sizeof metabuf[i], "{\"i\":%d,\"even\":%s}", i, i % 2 ? "false" : "true");
        ids[i] = idbuf[i];
        meta[i] = metabuf[i];
        for (int j = 0; j < DIM; j++)
            vecs[i * DIM + j] = (float)((i * 7 + j * 3) % 11) - 5.0f + 0.25f * (float)j;
    }
    CHECK_OK(vs_store_upsert_many(s, N, ids, vecs, DIM, meta, ERR));
    for (int i = 0; i < 5; i++) {
        char id[8];
        float v[DIM] = {(float)i, 1.0f, -1.0f, 0.5f};
        snprintf(id, sizeof id, "e%d", i);
        CHECK_OK(vs_store_upsert(s, id, v, DIM, "{\"extra\":true}", ERR));
    }
    for (int i = 0; i < 3; i++) {
        float v[DIM] = {9.0f, (float)i, 0.0f, 1.0f};
        CHECK_OK(vs_store_upsert(s, ids[i], v, DIM, "{\"replaced\":\"yes\"}", ERR));
    }
    CHECK_OK(vs_store_delete(s, "r3", ERR));
    CHECK_OK(vs_store_delete(s, "r7", ERR));
    CHECK_OK(vs_store_delete(s, "e0", ERR));
    CHECK_OK(vs_store_delete(s, "r19", ERR));
}

static char *snap(const vs_store *s) {
    return store_snapshot(s, PROBE4, 4, WATCHED, 0);
}

/* ---------------------------------------------------------------------------------------------- */
/* Close and reopen                                                                                */

static void test_data_survives_close_and_reopen(void) {
    fresh_dir();
    for (vs_metric m = 0; m < 3; m++) {
        char sub[PATH_MAX + 8];
        vs_store *s;
        char *before, *after;
        vs_store_options o = vs_store_options_default();
        snprintf(sub, sizeof sub, "%s/m%u", dir, m);
        o.metric = m;
        o.dimension = 4;
        s = NULL;
        CHECK_OK(vs_store_open(sub, &o, &s, ERR));
        fill(s);
        CHECK(store_count(s) == 21);
        before = snap(s);
        vs_store_close(s);

        s = NULL;
        CHECK_OK(vs_store_open(sub, &o, &s, ERR));
        after = snap(s);
        CHECK_STR_EQ(before, after);
        free(after);
        vs_store_close(s);

        /* dimension 0 = the store's; the metric must be given again */
        o.dimension = 0;
        s = NULL;
        CHECK_OK(vs_store_open(sub, &o, &s, ERR));
        after = snap(s);
        CHECK_STR_EQ(before, after);
        free(after);
        free(before);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

static void test_deletes_survive_reopen(void) {
    const char *ids[] = {"x", "y", "gone"};
    const float vecs[] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    vs_store *s;
    vs_results *r = NULL;
    fresh_dir();
    s = reopen(4, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert_many(s, 3, ids, vecs, 4, NULL, ERR));
    vs_store_close(s);
    s = reopen(4, VS_METRIC_DOT);
    CHECK(store_count(s) == 3);
    CHECK_OK(vs_store_delete(s, "gone", ERR));
    vs_store_close(s);
    s = reopen(4, VS_METRIC_DOT);
    CHECK(store_count(s) == 2);
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "gone", &r, ERR));
    CHECK_OK(vs_store_get(s, "x", &r, ERR));
    vs_results_free(r);
    /* delete everything: the store is empty but keeps its dimension */
    CHECK_OK(vs_store_delete(s, "x", ERR));
    CHECK_OK(vs_store_delete(s, "y", ERR));
    vs_store_close(s);
    s = reopen(0, VS_METRIC_DOT);
    CHECK(store_count(s) == 0);
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_upsert(s, "x", vecs, 3, NULL, ERR));
    CHECK_OK(vs_store_upsert(s, "x", vecs, 4, NULL, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_dimension_of_an_empty_store_persists(void) {
    vs_store *s = SENTINEL_PTR(vs_store);
    vs_store_options o = vs_store_options_default();
    const float v[5] = {1, 2, 3, 4, 5};
    fresh_dir();
    vs_store_close(reopen(0, VS_METRIC_COSINE)); /* created without a dimension */
    vs_store_close(reopen(5, VS_METRIC_COSINE)); /* an empty store takes one from the options */
    o.dimension = 4;
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_open(dir, &o, &s, ERR));
    CHECK(s == SENTINEL_PTR(vs_store));
    s = reopen(0, VS_METRIC_COSINE);
    CHECK_FAILS(VS_ERR_DIMENSION_MISMATCH, vs_store_upsert(s, "a", v, 4, NULL, ERR));
    CHECK_OK(vs_store_upsert(s, "a", v, 5, NULL, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_failed_writes_are_not_persisted(void) {
    const char *ids[] = {"x", "y"};
    const float vecs[] = {1, 2, 3, 4, 5, 6, 7, NAN};
    vs_store *s;
    char *before, *after;
    fresh_dir();
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_upsert(s, "r1", vecs, 4, NULL, ERR));
    before = snap(s);
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_upsert_many(s, 2, ids, vecs, 4, NULL, ERR));
    CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_upsert(s, "r1", vecs + 4, 4, NULL, ERR));
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_delete(s, "r2", ERR));
    vs_store_close(s);
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    after = snap(s);
    CHECK_STR_EQ(before, after);
    free(before);
    free(after);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Crashes                                                                                         */

/* A child process writes (fill) and is killed before it closes the store: every acknowledged write
 * is there when the parent reopens, identical to a store that was closed properly. */
static void crash_after_writes(vs_durability durability) {
    char ref[PATH_MAX + 8];
    vs_store *s;
    char *want, *got;
    pid_t pid;
    int status = 0;
    fresh_dir();
    snprintf(ref, sizeof ref, "%s-ref", dir);
    s = open_store(ref, 4, VS_METRIC_COSINE);
    fill(s);
    want = snap(s);
    vs_store_close(s);
    tmpdir_remove(ref);

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        vs_store_options o = vs_store_options_default();
        vs_store *cs = NULL;
        o.dimension = 4;
        o.durability = durability;
        if (vs_store_open(dir, &o, &cs, NULL) != VS_OK)
            _exit(3);
        fill(cs);
        raise(SIGKILL); /* no close, no flush, no atexit */
        _exit(4);
    }
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);

    s = reopen(4, VS_METRIC_COSINE);
    got = snap(s);
    CHECK_STR_EQ(want, got);
    free(want);
    free(got);
    vs_store_close(s);
    tmpdir_remove(dir);
}

static void test_writes_survive_a_killed_process(void) {
    crash_after_writes(VS_DURABILITY_PROCESS);
}

static void test_writes_survive_a_killed_process_sync(void) {
    crash_after_writes(VS_DURABILITY_SYNC);
}

/* ---------------------------------------------------------------------------------------------- */
/* Torn tails                                                                                      */

static void test_garbage_appended_to_the_log_is_dropped(void) {
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } tails[] = {
        {"3 bytes", "\x01\x02\x03", 3},
        {"7 bytes of text", "GARBAGE", 7},
        {"a frame header announcing more than there is", "\xe8\x03\x00\x00\x00\x00\x00\x00", 8},
        {"a frame whose checksum fails", "\x04\x00\x00\x00\xef\xbe\xad\xde\x01\x02\x03\x04", 12},
        {"a huge length", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16},
        {"one zero byte", "\x00", 1},
    };
    vs_store *s;
    char *want;
    long long clean;
    fresh_dir();
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    fill(s);
    want = snap(s);
    vs_store_close(s);
    clean = file_size(log_path);
    CHECK(clean > 16);

    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        char *got, *stats = NULL, want_bytes[64];
        CHECK(file_write(log_path, tails[i].bytes, tails[i].len, "ab"));
        CHECK(file_size(log_path) == clean + (long long)tails[i].len);
        s = reopen(0, VS_METRIC_EUCLIDEAN);
        CHECK_MSG(s != NULL, "tail \"%s\" made the store unopenable", tails[i].what);
        got = snap(s);
        CHECK_MSG(strcmp(want, got) == 0, "tail \"%s\" changed the records", tails[i].what);
        free(got);
        CHECK_OK(vs_store_stats_json(s, &stats, ERR));
        snprintf(want_bytes, sizeof want_bytes, "\"log_bytes\":%lld", clean);
        CHECK_MSG(contains(stats, want_bytes), "tail \"%s\": stats %s, want %s", tails[i].what, stats, want_bytes);
        vs_string_free(stats);
        CHECK_MSG(file_size(log_path) == clean, "tail \"%s\": the log is %lld bytes, want %lld (truncated)",
                  tails[i].what, file_size(log_path), clean);
        vs_store_close(s);
    }

    /* writes after a dropped tail land after the good frames and survive */
    CHECK(file_write(log_path, "junk", 4, "ab"));
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_upsert(s, "x", PROBE4, 4, "{\"after\":\"tail\"}", ERR));
    vs_store_close(s);
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    {
        vs_results *r = NULL;
        CHECK(store_count(s) == 22);
        CHECK_OK(vs_store_get(s, "x", &r, ERR));
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"after\":\"tail\"}");
        vs_results_free(r);
        CHECK_OK(vs_store_delete(s, "x", ERR));
    }
    {
        char *got = snap(s);
        CHECK_STR_EQ(want, got);
        free(got);
    }
    vs_store_close(s);
    free(want);
    tmpdir_remove(dir);
}

/* A write cut short (the last frame truncated) is lost; every earlier write is intact. */
static void test_a_truncated_last_write_is_dropped(void) {
    const float a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1};
    long long after_a, after_b;
    vs_store *s;
    vs_results *r = SENTINEL_PTR(vs_results);
    fresh_dir();
    s = reopen(4, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert(s, "a", a, 4, "{\"n\":1}", ERR));
    vs_store_close(s);
    after_a = file_size(log_path);
    s = reopen(4, VS_METRIC_DOT);
    CHECK_OK(vs_store_upsert(s, "b", b, 4, NULL, ERR));
    vs_store_close(s);
    after_b = file_size(log_path);
    CHECK(after_b > after_a);

    for (long long cut = after_b - 1; cut > after_a; cut -= 7) {
        CHECK(truncate(log_path, (off_t)cut) == 0);
        s = reopen(4, VS_METRIC_DOT);
        CHECK(store_count(s) == 1);
        r = SENTINEL_PTR(vs_results);
        CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "b", &r, ERR));
        CHECK(r == SENTINEL_PTR(vs_results));
        r = NULL;
        CHECK_OK(vs_store_get(s, "a", &r, ERR));
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"n\":1}");
        vs_results_free(r);
        vs_store_close(s);
        CHECK_MSG(file_size(log_path) == after_a, "cut at %lld: log is %lld bytes, want %lld", cut,
                  file_size(log_path), after_a);
        /* put b back for the next cut */
        s = reopen(4, VS_METRIC_DOT);
        CHECK_OK(vs_store_upsert(s, "b", b, 4, NULL, ERR));
        vs_store_close(s);
        CHECK(file_size(log_path) == after_b);
    }
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Damaged files: VS_ERR_CORRUPT                                                                   */

/* Opening fails with VS_ERR_CORRUPT naming `file_name`, leaves *out alone and `path` as it was; then
 * `path` gets `original` back and the store opens with its records intact. */
static void expect_corrupt_then_restore(const char *path, const char *file_name, const unsigned char *original,
                                        size_t original_len, const char *want_snapshot, const char *what) {
    vs_store_options o = vs_store_options_default();
    vs_store *s = SENTINEL_PTR(vs_store);
    size_t before_len = 0, after_len = 0;
    unsigned char *before = file_read(path, &before_len), *after;
    o.metric = VS_METRIC_EUCLIDEAN;
    CHECK_FAILS_MSG(VS_ERR_CORRUPT, file_name, vs_store_open(dir, &o, &s, ERR));
    CHECK_MSG(s == SENTINEL_PTR(vs_store), "%s: *out was written", what);
    after = file_read(path, &after_len);
    CHECK_MSG(before != NULL && after != NULL && before_len == after_len && memcmp(before, after, before_len) == 0,
              "%s: the failed open changed %s", what, file_name);
    free(before);
    free(after);

    CHECK(file_write(path, original, original_len, "wb"));
    s = NULL;
    CHECK_OK(vs_store_open(dir, &o, &s, ERR)); /* the failed opens released the lock */
    if (s != NULL) {
        char *got = snap(s);
        CHECK_MSG(strcmp(got, want_snapshot) == 0, "%s: records differ after restoring the file", what);
        free(got);
        vs_store_close(s);
    }
}

static char *make_filled_store(void) {
    vs_store *s;
    char *want;
    fresh_dir();
    s = reopen(4, VS_METRIC_EUCLIDEAN);
    fill(s);
    want = snap(s);
    vs_store_close(s);
    return want;
}

static void test_damaged_meta_file_is_corrupt(void) {
    char *want = make_filled_store();
    size_t len = 0;
    unsigned char *original = file_read(meta_path, &len);
    const char *garbage[] = {"this is not JSON", "", "{}", "[1,2,3]", "\x01\x02\x03", "{\"format_version\":1}"};
    CHECK(original != NULL && len > 0);
    for (size_t i = 0; original != NULL && i < sizeof garbage / sizeof garbage[0]; i++) {
        CHECK(file_write(meta_path, garbage[i], strlen(garbage[i]), "wb"));
        expect_corrupt_then_restore(meta_path, "vecstore.meta.json", original, len, want, garbage[i]);
    }
    if (original != NULL) { /* valid JSON, unknown format version or metric */
        char *text = (char *)original, edited[4096];
        const char *fv = strstr(text, "\"format_version\"");
        const char *mt = strstr(text, "\"euclidean\"");
        CHECK(fv != NULL && mt != NULL && len < sizeof edited - 16);
        if (fv != NULL && mt != NULL && len < sizeof edited - 16) {
            const char *colon = strchr(fv, ':');
            int n = snprintf(edited, sizeof edited, "%.*s: 99%s", (int)(colon - text), text,
                             strpbrk(colon + 1, ",\n}"));
            CHECK(n > 0 && file_write(meta_path, edited, (size_t)n, "wb"));
            expect_corrupt_then_restore(meta_path, "vecstore.meta.json", original, len, want, "format_version 99");
            n = snprintf(edited, sizeof edited, "%.*s\"manhattan\"%s", (int)(mt - text), text, mt + 11);
            CHECK(n > 0 && file_write(meta_path, edited, (size_t)n, "wb"));
            expect_corrupt_then_restore(meta_path, "vecstore.meta.json", original, len, want, "metric manhattan");
        }
    }
    free(original);
    free(want);
    tmpdir_remove(dir);
}

static void test_damaged_log_header_is_corrupt(void) {
    char *want = make_filled_store();
    size_t len = 0;
    unsigned char *original = file_read(log_path, &len), *copy;
    CHECK(original != NULL && len > 16 && memcmp(original, "VSLOG\0\0\0", 8) == 0);
    if (original == NULL || len <= 16) {
        free(original);
        free(want);
        return;
    }
    copy = malloc(len);
    memcpy(copy, original, len);
    memcpy(copy, "NOTALOG!", 8); /* bad magic */
    CHECK(file_write(log_path, copy, len, "wb"));
    expect_corrupt_then_restore(log_path, "vecstore.log", original, len, want, "bad magic");

    memcpy(copy, original, len);
    copy[8] = 99; /* unknown format version */
    CHECK(file_write(log_path, copy, len, "wb"));
    expect_corrupt_then_restore(log_path, "vecstore.log", original, len, want, "format version 99");

    memcpy(copy, original, len);
    memset(copy, 0, 16); /* header wiped */
    CHECK(file_write(log_path, copy, len, "wb"));
    expect_corrupt_then_restore(log_path, "vecstore.log", original, len, want, "zeroed header");
    free(copy);
    free(original);
    free(want);
    tmpdir_remove(dir);
}

/* crc32 (IEEE 802.3, reflected, as zlib and crc32fast compute it) */
static uint32_t crc32_ieee(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static size_t put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return 4;
}

static size_t put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return 8;
}

/* Appends one well-formed frame to the log (length, crc32, payload). */
static void append_frame(const unsigned char *payload, size_t n) {
    unsigned char head[8];
    put_u32(head, (uint32_t)n);
    put_u32(head + 4, crc32_ieee(payload, n));
    CHECK(file_write(log_path, head, 8, "ab"));
    CHECK(file_write(log_path, payload, n, "ab"));
}

/* The payload of a frame holding one LogOp::Upsert. */
static size_t upsert_payload(unsigned char *p, const char *id, const float *v, size_t dim, const char *meta) {
    size_t o = 0;
    o += put_u64(p + o, 1); /* Vec<LogOp> of one op */
    o += put_u32(p + o, 0); /* variant Upsert */
    o += put_u64(p + o, strlen(id));
    memcpy(p + o, id, strlen(id));
    o += strlen(id);
    o += put_u64(p + o, dim);
    for (size_t i = 0; i < dim; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        o += put_u32(p + o, bits);
    }
    o += put_u64(p + o, strlen(meta));
    memcpy(p + o, meta, strlen(meta));
    o += strlen(meta);
    o += put_u64(p + o, 0); /* expires_at: never */
    return o;
}

/* A frame that passes its checksum is trusted: if it then does not make sense, the store is damaged
 * (VS_ERR_CORRUPT), not torn, and nothing is silently dropped. */
static void test_checksummed_nonsense_in_the_log_is_corrupt(void) {
    char *want = make_filled_store();
    size_t len = 0;
    unsigned char *original = file_read(log_path, &len);
    unsigned char payload[512];
    size_t n;
    const float v4[4] = {1.5f, 2.5f, -3.5f, 4.5f};

    /* First prove the frame writer right: a crafted, valid frame is replayed like any other. */
    n = upsert_payload(payload, "crafted", v4, 4, "{\"by\":\"hand\"}");
    append_frame(payload, n);
    {
        vs_store *s = reopen(4, VS_METRIC_EUCLIDEAN);
        vs_results *r = NULL;
        CHECK(store_count(s) == 22);
        CHECK_OK(vs_store_get(s, "crafted", &r, ERR));
        CHECK_STR_EQ(vs_results_metadata_json(r, 0), "{\"by\":\"hand\"}");
        {
            size_t d = 0;
            const float *got = vs_results_vector(r, 0, &d);
            CHECK(got != NULL && d == 4 && got[0] == 1.5f && got[3] == 4.5f);
        }
        vs_results_free(r);
        vs_store_close(s);
    }
    CHECK(file_write(log_path, original, len, "wb"));

    /* a checksummed payload that does not decode */
    append_frame((const unsigned char *)"\xff\xff\xff\xff", 4);
    expect_corrupt_then_restore(log_path, "vecstore.log", original, len, want, "undecodable frame");

    /* a logged vector of another dimension */
    n = upsert_payload(payload, "short", v4, 2, "{}");
    append_frame(payload, n);
    expect_corrupt_then_restore(log_path, "vecstore.log", original, len, want, "vector of dimension 2");

    free(original);
    free(want);
    tmpdir_remove(dir);
}

/* The store's description is missing but its log is not: the library cannot know the metric (nor
 * the index parameters), so opening must fail with VS_ERR_CORRUPT without touching the directory,
 * rather than invent a description. */
static void test_missing_meta_file_with_a_log(void) {
    char *want = make_filled_store(); /* a euclidean store */
    vs_store *s = SENTINEL_PTR(vs_store);
    vs_store_options o = vs_store_options_default();
    vs_status st;
    vs_error *e = NULL;

    CHECK(unlink(meta_path) == 0);
    st = vs_store_open(dir, NULL, &s, &e);
    CHECK(st == VS_ERR_CORRUPT);
    if (st == VS_OK) {
        vs_store_close(s);
    } else {
        CHECK(s == SENTINEL_PTR(vs_store));
        CHECK(!path_exists(meta_path));
    }
    vs_error_free(e);
    e = NULL;

    /* with explicit options, the caller's metric must not be imposed on the data */
    unlink(meta_path);
    o.dimension = 4;
    o.metric = VS_METRIC_COSINE;
    s = SENTINEL_PTR(vs_store);
    st = vs_store_open(dir, &o, &s, &e);
    CHECK(st == VS_ERR_CORRUPT);
    if (st == VS_OK)
        vs_store_close(s);
    else
        CHECK(s == SENTINEL_PTR(vs_store));
    vs_error_free(e);
    free(want);
    tmpdir_remove(dir);
}

/* Options from vs_store_options_default() reopen any store (its own dimension and metric) with
 * another ef_search; an explicit other metric is still refused; a new store is cosine; and a caller
 * built against the first header (struct_size ending at build_threads) gets the same. */
static void test_default_options_reopen_any_store(void) {
    static const char *names[] = {"\"metric\":\"cosine\"", "\"metric\":\"euclidean\"", "\"metric\":\"dot\""};
    fresh_dir();
    for (vs_metric m = 0; m < 3; m++) {
        char sub[PATH_MAX + 8];
        vs_store *s;
        char *before, *after, *stats = NULL;
        vs_store_options o;
        snprintf(sub, sizeof sub, "%s/m%u", dir, m);
        s = open_store(sub, 4, m);
        fill(s);
        before = snap(s);
        vs_store_close(s);

        for (int old_size = 0; old_size < 2; old_size++) {
            o = vs_store_options_default();
            o.ef_search = 99;
            if (old_size)
                o.struct_size = (uint32_t)offsetof(vs_store_options, checkpoint_bytes);
            s = NULL;
            CHECK_OK(vs_store_open(sub, &o, &s, ERR));
            if (s == NULL)
                continue;
            CHECK_OK(vs_store_stats_json(s, &stats, ERR));
            CHECK_MSG(contains(stats, names[m]) && contains(stats, "\"dimension\":4"), "metric %u: stats %s", m,
                      stats);
            vs_string_free(stats);
            stats = NULL;
            after = snap(s);
            CHECK_STR_EQ(before, after);
            free(after);
            vs_store_close(s);
        }
        /* an explicit metric must still be the store's */
        o = vs_store_options_default();
        o.metric = (m + 1) % 3;
        s = SENTINEL_PTR(vs_store);
        CHECK_FAILS(VS_ERR_INVALID_ARGUMENT, vs_store_open(sub, &o, &s, ERR));
        CHECK(s == SENTINEL_PTR(vs_store));
        free(before);
    }
    {
        /* a new store opened with the defaults is cosine */
        char sub[PATH_MAX + 8];
        vs_store *s = NULL;
        char *stats = NULL;
        vs_store_options o = vs_store_options_default();
        snprintf(sub, sizeof sub, "%s/new", dir);
        CHECK_OK(vs_store_open(sub, &o, &s, ERR));
        fill(s);
        CHECK_OK(vs_store_stats_json(s, &stats, ERR));
        CHECK_MSG(contains(stats, names[0]), "new store: %s", stats);
        vs_string_free(stats);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

/* NULL options reopen an existing store with its own dimension and metric. */
static void test_null_options_reopen_any_store(void) {
    fresh_dir();
    for (vs_metric m = 0; m < 3; m++) {
        static const char *names[] = {"\"metric\":\"cosine\"", "\"metric\":\"euclidean\"", "\"metric\":\"dot\""};
        char sub[PATH_MAX + 8];
        vs_store *s;
        char *before, *after, *stats = NULL;
        snprintf(sub, sizeof sub, "%s/m%u", dir, m);
        s = open_store(sub, 4, m);
        fill(s);
        before = snap(s);
        vs_store_close(s);
        s = NULL;
        CHECK_OK(vs_store_open(sub, NULL, &s, ERR));
        CHECK_OK(vs_store_stats_json(s, &stats, ERR));
        CHECK_MSG(contains(stats, names[m]) && contains(stats, "\"dimension\":4"), "metric %u: stats %s", m, stats);
        vs_string_free(stats);
        after = snap(s);
        CHECK_STR_EQ(before, after);
        free(before);
        free(after);
        vs_store_close(s);
    }
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* The directory lock: VS_ERR_LOCKED                                                               */

static void test_second_open_in_the_same_process_is_locked(void) {
    char other_spelling[PATH_MAX + 8];
    vs_store *first, *second = SENTINEL_PTR(vs_store);
    vs_store_options o = vs_store_options_default();
    const float v[3] = {1, 2, 3};
    fresh_dir();
    first = reopen(3, VS_METRIC_COSINE);
    CHECK_OK(vs_store_upsert(first, "x", v, 3, NULL, ERR));
    CHECK_FAILS(VS_ERR_LOCKED, vs_store_open(dir, NULL, &second, ERR));
    o.dimension = 3;
    CHECK_FAILS(VS_ERR_LOCKED, vs_store_open(dir, &o, &second, ERR));
    snprintf(other_spelling, sizeof other_spelling, "%s/./", dir);
    CHECK_FAILS(VS_ERR_LOCKED, vs_store_open(other_spelling, NULL, &second, ERR));
    CHECK(second == SENTINEL_PTR(vs_store));
    /* the first handle is unaffected */
    CHECK_OK(vs_store_upsert(first, "y", v, 3, NULL, ERR));
    CHECK(store_count(first) == 2);
    vs_store_close(first);
    /* closing releases the lock */
    second = NULL;
    CHECK_OK(vs_store_open(dir, NULL, &second, ERR));
    CHECK(store_count(second) == 2);
    vs_store_close(second);
    tmpdir_remove(dir);
}

static void test_open_from_a_forked_child_is_locked(void) {
    vs_store *s;
    pid_t pid;
    int status = 0;
    fresh_dir();
    s = reopen(3, VS_METRIC_COSINE);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        vs_store *cs = NULL;
        vs_error *e = NULL;
        vs_status st = vs_store_open(dir, NULL, &cs, &e);
        int bad_message = e == NULL || vs_error_message(e)[0] == '\0';
        vs_error_free(e);
        _exit(cs != NULL ? 100 : bad_message ? 101 : (int)st);
    }
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == VS_ERR_LOCKED,
              "child: exited %d with %d (want VS_ERR_LOCKED = %d)", WIFEXITED(status), WEXITSTATUS(status),
              VS_ERR_LOCKED);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* A process holding the store dies without closing it: the lock goes with it, and its writes stay. */
static void test_lock_is_released_when_its_process_dies(void) {
    int ready[2], hold[2];
    pid_t pid;
    char byte = 0;
    vs_store *s = SENTINEL_PTR(vs_store);
    vs_results *r = NULL;
    int status = 0;
    fresh_dir();
    CHECK(pipe(ready) == 0 && pipe(hold) == 0);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        vs_store_options o = vs_store_options_default();
        vs_store *cs = NULL;
        const float v[3] = {3, 2, 1};
        char c = 'k';
        close(ready[0]);
        close(hold[1]);
        o.dimension = 3;
        if (vs_store_open(dir, &o, &cs, NULL) != VS_OK || vs_store_upsert(cs, "from-child", v, 3, NULL, NULL) != VS_OK)
            c = 'e';
        if (write(ready[1], &c, 1) != 1)
            _exit(5);
        while (read(hold[0], &c, 1) > 0) /* wait to be killed */
            ;
        _exit(6);
    }
    close(ready[1]);
    close(hold[0]);
    CHECK(pid > 0);
    CHECK(read(ready[0], &byte, 1) == 1 && byte == 'k');
    CHECK_FAILS(VS_ERR_LOCKED, vs_store_open(dir, NULL, &s, ERR));
    CHECK(s == SENTINEL_PTR(vs_store));
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    close(ready[0]);
    close(hold[1]);
    s = NULL;
    CHECK_OK(vs_store_open(dir, NULL, &s, ERR));
    CHECK_OK(vs_store_get(s, "from-child", &r, ERR));
    vs_results_free(r);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* vs_store_close "releases the directory lock": also when the process forked (without exec) while
 * the store was open, and the child, which never touches the store, is still alive. */
static void test_close_releases_the_lock_while_a_forked_child_lives(void) {
    int hold[2];
    pid_t pid;
    vs_store *s;
    vs_store *again = NULL;
    vs_error *e = NULL;
    vs_status st;
    int status = 0;
    fresh_dir();
    s = reopen(3, VS_METRIC_COSINE);
    CHECK(pipe(hold) == 0);
    fflush(NULL);
    pid = fork();
    if (pid == 0) { /* e.g. a server forking a worker that does something else */
        char c;
        close(hold[1]);
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(hold[0]);
    vs_store_close(s);
    st = vs_store_open(dir, NULL, &again, &e);
    CHECK(st == VS_OK);
    vs_error_free(e);
    vs_store_close(again);
    close(hold[1]);
    CHECK(waitpid(pid, &status, 0) == pid);
    again = NULL;
    CHECK_OK(vs_store_open(dir, NULL, &again, ERR)); /* once the child is gone, it opens */
    vs_store_close(again);
    tmpdir_remove(dir);
}

/* ---------------------------------------------------------------------------------------------- */
/* Failed writes: VS_ERR_IO                                                                        */

/* Runs `fn` with the file size limit set to `limit` bytes (SIGXFSZ ignored, so writes past it fail
 * with EFBIG), then restores the limit. Nothing may print while the limit is on. */
static vs_status with_file_size_limit(rlim_t limit, vs_status (*fn)(vs_store *, vs_error **), vs_store *s,
                                      vs_error **e) {
    struct rlimit old, lim;
    vs_status st;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    fflush(NULL);
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = limit;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    st = fn(s, e);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);
    return st;
}

enum { BIG = 256, BIG_N = 12 };
static float big_vecs[BIG_N * BIG];
static const char *big_ids[BIG_N] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11"};
static const char *const BIG_WATCHED[] = {"b0", "b1", "b11", "r1", NULL};

static vs_status write_big_batch(vs_store *s, vs_error **e) {
    return vs_store_upsert_many(s, BIG_N, big_ids, big_vecs, BIG, NULL, e);
}

static vs_status write_big_one(vs_store *s, vs_error **e) {
    return vs_store_upsert(s, "r1", big_vecs, BIG, "{\"replaced\":true}", e);
}

/* A write the OS refuses (here: past RLIMIT_FSIZE) is VS_ERR_IO; the log is rolled back and the
 * store is unchanged, and later writes and reopening work. */
static void test_a_refused_write_is_an_io_error_and_changes_nothing(void) {
    vs_store *s;
    vs_error *e = NULL;
    vs_status st;
    char *before, *after;
    long long size;
    for (int i = 0; i < BIG_N * BIG; i++)
        big_vecs[i] = (float)((i * 31) % 17) - 8.0f;
    fresh_dir();
    s = reopen(BIG, VS_METRIC_EUCLIDEAN);
    CHECK_OK(vs_store_upsert(s, "r1", big_vecs + BIG, BIG, NULL, ERR));
    CHECK_OK(vs_store_flush(s, ERR));
    size = file_size(log_path);
    before = store_snapshot(s, big_vecs, BIG, BIG_WATCHED, 1);

    st = with_file_size_limit((rlim_t)size + 2000, write_big_batch, s, &e);
    check_failure_(VS_ERR_IO, "vecstore.log", st, e, "upsert_many past RLIMIT_FSIZE", __FILE__, __LINE__);
    e = NULL;
    st = with_file_size_limit((rlim_t)size + 100, write_big_one, s, &e);
    check_failure_(VS_ERR_IO, "vecstore.log", st, e, "upsert past RLIMIT_FSIZE", __FILE__, __LINE__);
    e = NULL;

    after = store_snapshot(s, big_vecs, BIG, BIG_WATCHED, 1);
    CHECK_STR_EQ(before, after);
    free(after);
    CHECK_MSG(file_size(log_path) == size, "log is %lld bytes after the failed writes, was %lld", file_size(log_path),
              size);

    /* without the limit, the same writes succeed, and everything survives a reopen */
    CHECK_OK(write_big_batch(s, ERR));
    CHECK_OK(write_big_one(s, ERR));
    CHECK(store_count(s) == BIG_N + 1);
    free(before);
    before = store_snapshot(s, big_vecs, BIG, BIG_WATCHED, 0);
    vs_store_close(s);
    s = reopen(BIG, VS_METRIC_EUCLIDEAN);
    after = store_snapshot(s, big_vecs, BIG, BIG_WATCHED, 0);
    CHECK_STR_EQ(before, after);
    free(before);
    free(after);
    vs_store_close(s);
    tmpdir_remove(dir);
}

/* The same on a store without a dimension yet: the failed first write must not fix one. */
static void test_a_refused_first_write_leaves_the_dimension_open(void) {
    vs_store *s;
    vs_error *e = NULL;
    vs_status st;
    char *stats = NULL;
    const float v3[3] = {1, 2, 3};
    for (int i = 0; i < BIG_N * BIG; i++)
        big_vecs[i] = 1.0f;
    fresh_dir();
    s = reopen(0, VS_METRIC_EUCLIDEAN);
    st = with_file_size_limit(2000, write_big_batch, s, &e); /* room for the meta file, not the batch */
    check_failure_(VS_ERR_IO, NULL, st, e, "first upsert_many past RLIMIT_FSIZE", __FILE__, __LINE__);
    CHECK(store_count(s) == 0);
    CHECK_OK(vs_store_stats_json(s, &stats, ERR));
    CHECK_MSG(contains(stats, "\"dimension\":0"), "a failed first write fixed the dimension: %s", stats);
    vs_string_free(stats);
    e = NULL;
    st = vs_store_upsert(s, "small", v3, 3, NULL, &e);
    CHECK_MSG(st == VS_OK, "after a failed first write, another dimension is refused: %s", vs_error_message(e));
    vs_error_free(e);
    vs_store_close(s);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_data_survives_close_and_reopen);
    RUN(test_deletes_survive_reopen);
    RUN(test_dimension_of_an_empty_store_persists);
    RUN(test_failed_writes_are_not_persisted);
    RUN(test_writes_survive_a_killed_process);
    RUN(test_writes_survive_a_killed_process_sync);
    RUN(test_garbage_appended_to_the_log_is_dropped);
    RUN(test_a_truncated_last_write_is_dropped);
    RUN(test_damaged_meta_file_is_corrupt);
    RUN(test_damaged_log_header_is_corrupt);
    RUN(test_checksummed_nonsense_in_the_log_is_corrupt);
    RUN(test_missing_meta_file_with_a_log);
    RUN(test_null_options_reopen_any_store);
    RUN(test_default_options_reopen_any_store);
    RUN(test_second_open_in_the_same_process_is_locked);
    RUN(test_open_from_a_forked_child_is_locked);
    RUN(test_lock_is_released_when_its_process_dies);
    RUN(test_close_releases_the_lock_while_a_forked_child_lives);
    RUN(test_a_refused_write_is_an_io_error_and_changes_nothing);
    RUN(test_a_refused_first_write_leaves_the_dimension_open);
    return check_summary();
}
