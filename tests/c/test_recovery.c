/*
 * test_recovery.c: log damage is never silent. A damaged frame in the middle of the log (valid
 * frames after it) refuses the open with VS_ERR_CORRUPT naming the byte offset and leaves the file
 * as it is; VS_LOG_RECOVERY_SALVAGE keeps every valid frame, says what it skipped in
 * vs_store_stats_json, and keeps a copy of the damaged log; a torn tail is dropped quietly.
 */
#include "check.h"
#include <stddef.h>

#include <dirent.h>

enum { DIM = 4, N = 100 };

static char dir[PATH_MAX];
static char log_path[PATH_MAX + 32];

/* 100 single upserts; frame_start[i] is where record i's log frame begins. */
static void write_hundred(long long frame_start[N]) {
    vs_store *s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    for (int i = 0; i < N; i++) {
        char id[16];
        float v[DIM] = {1.0f, (float)i, 0.5f, 0.25f};
        snprintf(id, sizeof id, "r%d", i);
        frame_start[i] = file_size(log_path);
        CHECK_OK(vs_store_upsert(s, id, v, DIM, "{\"n\":1}", ERR));
    }
    vs_store_close(s); /* the log is small: closing keeps it as it is */
}

static long long json_number_after(const char *json, const char *key) {
    const char *p = strstr(json, key);
    return p ? atoll(p + strlen(key)) : -1;
}

static int damaged_copies(void) {
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += strncmp(e->d_name, "vecstore.log.damaged-", 21) == 0;
    if (d) closedir(d);
    return n;
}

static void test_a_damaged_middle_frame_is_corrupt_then_salvaged(void) {
    long long start[N];
    tmpdir_make(dir, sizeof dir);
    path_join(log_path, sizeof log_path, dir, "vecstore.log");
    write_hundred(start);

    size_t len = 0;
    unsigned char *bytes = file_read(log_path, &len);
    CHECK(bytes != NULL && (long long)len > start[N - 1]);
    bytes[start[50] + 30] ^= 0x01;
    CHECK(file_write(log_path, bytes, len, "wb"));

    vs_store_options o = vs_store_options_default();
    o.metric = VS_METRIC_EUCLIDEAN;
    vs_store *s = SENTINEL_PTR(vs_store);
    char offset[32];
    snprintf(offset, sizeof offset, "byte %lld", start[50]);
    CHECK_FAILS_MSG(VS_ERR_CORRUPT, offset, vs_store_open(dir, &o, &s, ERR));
    CHECK(s == SENTINEL_PTR(vs_store)); /* no output on failure */
    size_t len2 = 0;
    unsigned char *after = file_read(log_path, &len2);
    CHECK(after != NULL && len2 == len && memcmp(after, bytes, len) == 0); /* every frame still there */
    free(after);

    o.log_recovery = VS_LOG_RECOVERY_SALVAGE;
    s = NULL;
    CHECK_OK(vs_store_open(dir, &o, &s, ERR));
    if (s == NULL) return;
    CHECK(store_count(s) == N - 1);
    vs_results *r = NULL;
    CHECK_FAILS(VS_ERR_NOT_FOUND, vs_store_get(s, "r50", &r, ERR));
    CHECK_OK(vs_store_get(s, "r99", &r, ERR));
    vs_results_free(r);
    char *json = NULL;
    CHECK_OK(vs_store_stats_json(s, &json, ERR));
    CHECK(json_number_after(json, "\"replayed_frames\":") == N - 1);
    CHECK(json_number_after(json, "\"replay_damaged_regions\":") == 1);
    CHECK(json_number_after(json, "\"replay_dropped_bytes\":") == start[51] - start[50]);
    vs_string_free(json);
    vs_store_close(s);
    CHECK(damaged_copies() == 1);

    /* Salvaged once, the default policy opens it cleanly. */
    s = open_store(dir, 0, VS_METRIC_EUCLIDEAN);
    CHECK(store_count(s) == N - 1);
    vs_store_close(s);
    free(bytes);
    tmpdir_remove(dir);
}

static void test_a_torn_tail_is_dropped_under_the_default_policy(void) {
    long long start[N];
    tmpdir_make(dir, sizeof dir);
    path_join(log_path, sizeof log_path, dir, "vecstore.log");
    write_hundred(start);
    CHECK(truncate(log_path, (off_t)(start[N - 1] + 7)) == 0);
    vs_store *s = open_store(dir, DIM, VS_METRIC_EUCLIDEAN);
    CHECK(store_count(s) == N - 1);
    char *json = NULL;
    CHECK_OK(vs_store_stats_json(s, &json, ERR));
    CHECK(json_number_after(json, "\"replay_dropped_bytes\":") == 7);
    CHECK(json_number_after(json, "\"replay_damaged_regions\":") == 0);
    vs_string_free(json);
    vs_store_close(s);
    CHECK(damaged_copies() == 0);
    tmpdir_remove(dir);
}

static void test_an_unknown_recovery_policy_is_refused(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store_options o = vs_store_options_default();
    o.log_recovery = 7;
    vs_store *s = NULL;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "log_recovery", vs_store_open(dir, &o, &s, ERR));
    CHECK(s == NULL);
    tmpdir_remove(dir);
}

/* quantization: an unknown value is refused; a caller built before the field existed (struct_size
   ending at log_recovery, whatever its padding bytes hold) gets the default. */
static void test_quantization_option(void) {
    tmpdir_make(dir, sizeof dir);
    vs_store_options o = vs_store_options_default();
    o.quantization = 9;
    vs_store *s = NULL;
    CHECK_FAILS_MSG(VS_ERR_INVALID_ARGUMENT, "quantization", vs_store_open(dir, &o, &s, ERR));
    CHECK(s == NULL);
    o = vs_store_options_default();
    o.struct_size = (uint32_t)offsetof(vs_store_options, reserved0);
    memset(&o.reserved0, 0xA5, sizeof o - offsetof(vs_store_options, reserved0));
    CHECK_OK(vs_store_open(dir, &o, &s, ERR));
    vs_store_close(s);
    o = vs_store_options_default();
    o.quantization = VS_QUANTIZATION_INT8;
    CHECK_OK(vs_store_open(dir, &o, &s, ERR));
    vs_store_close(s);
    tmpdir_remove(dir);
}

int main(void) {
    check_abi_or_die();
    RUN(test_a_damaged_middle_frame_is_corrupt_then_salvaged);
    RUN(test_a_torn_tail_is_dropped_under_the_default_policy);
    RUN(test_an_unknown_recovery_policy_is_refused);
    RUN(test_quantization_option);
    return check_summary();
}
