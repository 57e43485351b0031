/*
 * test_crash.c: acknowledged writes survive SIGKILL at random moments, through the C ABI.
 *
 * Each round forks a writer that runs a deterministic sequence of operations (single upserts that
 * often replace an earlier record, bulk upserts of 10, deletes of records that exist) on one store,
 * and reports through a pipe the number of every operation that returned VS_OK. The parent kills it
 * with SIGKILL after a random delay, reopens the store and checks the records of that round against
 * a model replayed in the parent: the store must equal the model after every acknowledged operation,
 * or after those plus the one operation that was in flight when the kill came (it may or may not
 * have reached the log). Rounds use their own ids and the store is never closed cleanly in between,
 * so later rounds also recover on top of the data (and any checkpoint) of earlier ones; at the end
 * every round's outcome is checked again.
 *
 * The writer's store checkpoints every 64 KiB of log, so kills also land in the middle of checkpoints.
 */
#include "check.h" /* first: it sets _XOPEN_SOURCE */

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define DIM 4
#define IDS_PER_ROUND 40
#define OPS_PER_ROUND 4000
#define ROUNDS 24

static char dir[PATH_MAX];

/* One record of the model: present or not, and the operation that wrote its current version. */
typedef struct {
    int present;
    int version;
} model_rec;

typedef enum { OP_UPSERT, OP_BULK, OP_DELETE } op_kind;

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* Operation `i` of round `round` given the model before it. Deletes pick an id that exists, so every
 * operation the writer runs is expected to succeed. */
static op_kind op_at(int round, int i, const model_rec *m, int *first_id) {
    uint64_t h = mix(((uint64_t)round << 32) ^ (uint64_t)i);
    int id = (int)(h % IDS_PER_ROUND);
    unsigned kind = (unsigned)((h >> 20) % 10);
    *first_id = id;
    if (kind < 6)
        return OP_UPSERT;
    if (kind < 8)
        return OP_BULK;
    for (int k = 0; k < IDS_PER_ROUND; k++) {
        int j = (id + k) % IDS_PER_ROUND;
        if (m[j].present) {
            *first_id = j;
            return OP_DELETE;
        }
    }
    return OP_UPSERT;
}

static void record_id(char *buf, size_t size, int round, int id) {
    snprintf(buf, size, "r%d-%d", round, id);
}

/* The vector written for record `id` by operation `version`: readable back from a cosine store after
 * normalisation (the ratios of the components survive). */
static void vector_for(float *v, int round, int id, int version) {
    v[0] = 1.0f;
    v[1] = (float)(version + 1);
    v[2] = (float)(id + 1);
    v[3] = (float)(round + 1);
}

static void model_apply(model_rec *m, int round, int i) {
    int id;
    op_kind k = op_at(round, i, m, &id);
    if (k == OP_DELETE) {
        m[id].present = 0;
    } else {
        int n = k == OP_BULK ? 10 : 1;
        for (int j = 0; j < n; j++) {
            int t = (id + j * 3) % IDS_PER_ROUND;
            m[t].present = 1;
            m[t].version = i;
        }
    }
}

/* Runs in the child: performs the round's operations, acknowledging each through `ack_fd`. */
static void writer(int round, vs_durability durability, int ack_fd) {
    vs_store_options o = vs_store_options_default();
    vs_store *s = NULL;
    model_rec m[IDS_PER_ROUND] = {{0, 0}};
    o.dimension = DIM;
    o.durability = durability;
    o.checkpoint_bytes = 64 * 1024; /* checkpoints often, so kills also land inside them */
    if (vs_store_open(dir, &o, &s, NULL) != VS_OK)
        _exit(3);
    for (int i = 0; i < OPS_PER_ROUND; i++) {
        int id;
        op_kind k = op_at(round, i, m, &id);
        char name[32];
        vs_status st;
        if (k == OP_DELETE) {
            record_id(name, sizeof name, round, id);
            st = vs_store_delete(s, name, NULL);
        } else if (k == OP_UPSERT) {
            float v[DIM];
            char meta[64];
            record_id(name, sizeof name, round, id);
            vector_for(v, round, id, i);
            snprintf(meta, sizeof meta, "{\"op\":%d}", i);
            st = vs_store_upsert(s, name, v, DIM, meta, NULL);
        } else {
            char names[10][32];
            const char *ids[10];
            float vecs[10 * DIM];
            for (int j = 0; j < 10; j++) {
                int t = (id + j * 3) % IDS_PER_ROUND;
                record_id(names[j], sizeof names[j], round, t);
                ids[j] = names[j];
                vector_for(vecs + j * DIM, round, t, i);
            }
            st = vs_store_upsert_many(s, 10, ids, vecs, DIM, NULL, NULL);
        }
        if (st != VS_OK)
            _exit(5);
        model_apply(m, round, i);
        if (write(ack_fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(6);
    }
    /* Finished before the kill came: wait for it without closing the store. */
    for (;;)
        pause();
}

/* Whether the store's records of `round` equal the model. */
static int store_matches(const vs_store *s, int round, const model_rec *m, char *why, size_t why_size) {
    for (int id = 0; id < IDS_PER_ROUND; id++) {
        char name[32];
        vs_results *r = NULL;
        vs_status st;
        record_id(name, sizeof name, round, id);
        st = vs_store_get(s, name, &r, NULL);
        if (!m[id].present) {
            if (st != VS_ERR_NOT_FOUND) {
                snprintf(why, why_size, "%s should be absent, get gave status %d", name, (int)st);
                vs_results_free(r);
                return 0;
            }
            continue;
        }
        if (st != VS_OK) {
            snprintf(why, why_size, "%s (version %d) is missing: status %d", name, m[id].version, (int)st);
            return 0;
        }
        {
            size_t dim = 0;
            const float *v = vs_results_vector(r, 0, &dim);
            float want[DIM];
            vector_for(want, round, id, m[id].version);
            /* Compare directions: the store keeps cosine vectors normalised. */
            float ratio_have = v ? v[1] / v[0] : -1.0f;
            float ratio_want = want[1] / want[0];
            if (v == NULL || dim != DIM || fabsf(ratio_have - ratio_want) > 1e-3f * ratio_want) {
                snprintf(why, why_size, "%s: found version %.1f, want version %d", name, ratio_have - 1.0f,
                         m[id].version);
                vs_results_free(r);
                return 0;
            }
        }
        vs_results_free(r);
    }
    return 1;
}

static void test_acknowledged_operations_survive_random_sigkills(void) {
    model_rec outcome[ROUNDS][IDS_PER_ROUND];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int mid_kills = 0;
    const char *fixed = getenv("VS_CRASH_SEED");
    if (fixed)
        seed = (unsigned)strtoul(fixed, NULL, 10);
    fprintf(stderr, "  crash test seed %u (set VS_CRASH_SEED to repeat)\n", seed);
    srand(seed);
    tmpdir_make(dir, sizeof dir);

    for (int round = 0; round < ROUNDS; round++) {
        vs_durability durability = round % 4 == 3 ? VS_DURABILITY_SYNC : VS_DURABILITY_PROCESS;
        int fds[2];
        pid_t pid;
        int status = 0, last = -1, got, first;
        CHECK(pipe(fds) == 0);
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            close(fds[0]);
            writer(round, durability, fds[1]);
            _exit(7);
        }
        close(fds[1]);
        /* Wait for the first acknowledgement (the store is open), then kill at a random moment. */
        got = (int)read(fds[0], &first, sizeof first);
        CHECK_MSG(got == (int)sizeof first, "round %d: the writer acknowledged nothing", round);
        if (got == (int)sizeof first)
            last = first;
        {
            struct timespec ts = {0, (long)(rand() % 40000) * 1000L};
            nanosleep(&ts, NULL);
        }
        CHECK(kill(pid, SIGKILL) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: writer status %d", round,
                  status);
        {
            int i;
            while (read(fds[0], &i, sizeof i) == (ssize_t)sizeof i)
                last = i;
        }
        close(fds[0]);
        if (last + 1 < OPS_PER_ROUND)
            mid_kills++;

        {
            model_rec acked[IDS_PER_ROUND] = {{0, 0}}, in_flight[IDS_PER_ROUND];
            char why_a[256] = "", why_b[256] = "";
            vs_store *s = open_store(dir, DIM, VS_METRIC_COSINE);
            int ok_a, ok_b = 0;
            for (int i = 0; i <= last; i++)
                model_apply(acked, round, i);
            memcpy(in_flight, acked, sizeof acked);
            if (last + 1 < OPS_PER_ROUND)
                model_apply(in_flight, round, last + 1);
            ok_a = s && store_matches(s, round, acked, why_a, sizeof why_a);
            if (!ok_a && last + 1 < OPS_PER_ROUND)
                ok_b = s && store_matches(s, round, in_flight, why_b, sizeof why_b);
            CHECK_MSG(ok_a || ok_b, "round %d (%d ops acknowledged, seed %u): %s / with the in-flight op: %s",
                      round, last + 1, seed, why_a, why_b);
            memcpy(outcome[round], ok_a ? acked : in_flight, sizeof acked);
            /* Earlier rounds are untouched by later ones. */
            for (int r = 0; r < round; r++) {
                char why[256] = "";
                CHECK_MSG(s && store_matches(s, r, outcome[r], why, sizeof why), "round %d after round %d: %s",
                          r, round, why);
            }
            /* The parent's handle is closed cleanly (releasing the lock for the next writer), so each
             * round recovers from one kill on top of a store that was checkpointed by this close. */
            vs_store_close(s);
        }
    }
    CHECK_MSG(mid_kills >= ROUNDS / 2, "only %d of %d kills landed while the writer was busy", mid_kills,
              ROUNDS);
    fprintf(stderr, "  %d rounds, %d killed mid-sequence\n", ROUNDS, mid_kills);
    tmpdir_remove(dir);
}

int main(void) {
    (void)SENTINEL_PTR(char);
    check_abi_or_die();
    RUN(test_acknowledged_operations_survive_random_sigkills);
    return check_summary();
}
