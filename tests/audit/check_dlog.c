/*
 * check_dlog.c: the decision log. Records chain and verify; checkpoints
 * are signed; fifty processes appending at once leave an intact chain;
 * each kind of tampering (a byte edited, a line deleted, two lines
 * swapped, a line inserted, the tail cut) is reported with its kind and
 * the right line; rotation links the files; failures leave the log as it
 * was and a held lock is waited for a bounded time only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "dlog.h"
#include "keys.h"
#include "testutil.h"
#include "util.h"

#define APPENDERS 50
#define PER_APPENDER 10

static char *dir, *logdir, *statedir, *logpath, *headpath;
static unsigned char pk[NHI_PK_LEN];

static char b_id[] = "b-alice", b_owner[] = "alice", b_approver[] = "bob",
    b_ticket[] = "CHG-7";
static struct nhi_binding binding = {
	.id = b_id, .owner = b_owner, .approver = b_approver,
	.ticket = b_ticket, .not_after = 1767225600,
};

static void
setup(void)
{
	struct nhi_err e;
	char *pub;

	ck_assert_int_eq(nhi_crypto_init(), 0);
	dir = tu_tmpdir();
	ck_assert_int_ge(asprintf(&logdir, "%s/log", dir), 0);
	ck_assert_int_ge(asprintf(&statedir, "%s/state", dir), 0);
	ck_assert_int_ge(asprintf(&logpath, "%s/%s", logdir, NHI_DLOG_FILE),
	    0);
	ck_assert_int_ge(asprintf(&headpath, "%s/%s", statedir,
	    NHI_DLOG_HEAD), 0);
	ck_assert_int_eq(mkdir(logdir, 0750), 0);
	ck_assert_int_eq(mkdir(statedir, 0700), 0);
	ck_assert_msg(nhi_dlog_key_ensure(statedir, "testhost", &e) == 0,
	    "%s", e.msg);
	ck_assert_int_ge(asprintf(&pub, "%s/%s.pub", statedir, NHI_DLOG_KEY),
	    0);
	ck_assert_msg(nhi_pubkey_load(pub, pk, &e) == 0, "%s", e.msg);
	free(pub);
}

static void
teardown(void)
{
	tu_rmtree(dir);
	free(logdir);
	free(statedir);
	free(logpath);
	free(headpath);
}

static struct nhi_dlog
opts(unsigned every)
{
	struct nhi_dlog o = { logdir, statedir, "testhost", every, 0, 0,
		false };

	return o;
}

/* Appends one allowed sshd decision for account, numbered by n. */
static int
append(const struct nhi_dlog *o, const char *account, int n)
{
	struct nhi_request r;
	struct nhi_decision d = { NHI_ALLOW, NHI_R_OK, &binding, false };
	struct nhi_audit_login l = { &r, &d, NULL, "session", NULL, NULL,
		false };
	struct nhi_err e;
	char tty[16];

	memset(&r, 0, sizeof(r));
	(void)snprintf(tty, sizeof(tty), "pts/%d", n);
	r.service = "sshd";
	r.account = account;
	r.rhost = "127.0.0.1";
	r.tty = tty;
	r.cred = NHI_SEEN_SSH_KEY;
	r.key_fp = "SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA";
	if (nhi_dlog_decision(o, &l, (uint32_t)n, &e) != 0) {
		fprintf(stderr, "append: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* The log as an array of lines (without their newlines). */
struct lines {
	char **v;
	size_t n;
};

static void
lines_read(const char *path, struct lines *l)
{
	char *buf, *p, *nl;
	size_t len;

	ck_assert_int_eq(nhi_read_file(path, 1 << 26, &buf, &len), 0);
	l->v = NULL;
	l->n = 0;
	for (p = buf; p < buf + len; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_ptr_nonnull(nl);
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		ck_assert_ptr_nonnull(l->v);
		l->v[l->n++] = strndup(p, (size_t)(nl - p));
	}
	free(buf);
}

static void
lines_write(const char *path, const struct lines *l)
{
	FILE *f = fopen(path, "we");
	size_t i;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < l->n; i++)
		if (l->v[i] != NULL)
			fprintf(f, "%s\n", l->v[i]);
	ck_assert_int_eq(fclose(f), 0);
}

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
verify(const char *head, struct nhi_dlog_report *r)
{
	struct nhi_err e;

	ck_assert_msg(nhi_dlog_verify_file(logpath, pk, head, r, &e) == 0,
	    "%s", e.msg);
}

static void
assert_intact(const struct nhi_dlog_report *r)
{
	ck_assert_msg(r->fault == NHI_DLOG_OK, "%s at line %zu: %s",
	    nhi_dlog_fault_name(r->fault), r->line, r->detail);
}

/* A log of 40 decisions with a checkpoint every 8 records. */
static void
make_log(void)
{
	struct nhi_dlog o = opts(8);
	int i;

	for (i = 0; i < 40; i++)
		ck_assert_int_eq(append(&o, "deploy", i), 0);
}

/* The 1-based line holding seq. */
static size_t
line_of(const struct lines *l, int64_t seq)
{
	char want[32];
	size_t i;

	(void)snprintf(want, sizeof(want), "{\"seq\":%lld,", (long long)seq);
	for (i = 0; i < l->n; i++)
		if (strncmp(l->v[i], want, strlen(want)) == 0)
			return i + 1;
	ck_abort_msg("no seq %lld", (long long)seq);
	return 0;
}

/*
 * Keeps the records up to seq (the last checkpoints go); returns the line
 * that holds it.
 */
static size_t
cut_after(int64_t seq)
{
	struct lines l;
	size_t keep, i;

	lines_read(logpath, &l);
	keep = line_of(&l, seq);
	for (i = keep; i < l.n; i++) {
		free(l.v[i]);
		l.v[i] = NULL;
	}
	lines_write(logpath, &l);
	lines_free(&l);
	return keep;
}

START_TEST(fresh_log_starts_chains_and_verifies)
{
	struct nhi_dlog o = opts(0);
	struct nhi_dlog_report r;
	struct lines l;

	ck_assert_int_eq(append(&o, "deploy", 1), 0);
	ck_assert_int_eq(append(&o, "deploy", 2), 0);
	lines_read(logpath, &l);
	/* start, decision, checkpoint (no head yet), decision */
	ck_assert_uint_eq(l.n, 4);
	ck_assert_ptr_nonnull(strstr(l.v[0], "\"kind\":\"start\""));
	ck_assert_ptr_nonnull(strstr(l.v[1], "\"owner\":\"alice\""));
	ck_assert_ptr_nonnull(strstr(l.v[1], "\"ticket\":\"CHG-7\""));
	ck_assert_ptr_nonnull(strstr(l.v[1], "\"ses\":1"));
	ck_assert_ptr_nonnull(strstr(l.v[2], "\"kind\":\"checkpoint\""));
	lines_free(&l);
	verify(headpath, &r);
	assert_intact(&r);
	ck_assert_uint_eq(r.n_records, 4);
	ck_assert_int_eq(r.last_seq, 3);
	ck_assert_uint_eq(r.n_checkpoints, 1);
	ck_assert_uint_eq(r.after_checkpoint, 1);
	ck_assert_str_eq(r.first_kind, "start");
}
END_TEST

START_TEST(checkpoints_come_every_n_records_and_verify)
{
	struct nhi_dlog_report r;

	make_log();
	verify(headpath, &r);
	assert_intact(&r);
	ck_assert_uint_ge(r.n_checkpoints, 5);
	ck_assert(r.signatures_checked);
	ck_assert_int_eq(r.head_seq, r.last_checkpoint);
}
END_TEST

START_TEST(another_key_fails_the_checkpoints)
{
	struct nhi_dlog_report r;
	struct nhi_err e;
	unsigned char other[NHI_PK_LEN];

	make_log();
	memcpy(other, pk, sizeof(other));
	other[0] ^= 1;
	ck_assert_int_eq(nhi_dlog_verify_file(logpath, other, NULL, &r, &e),
	    0);
	ck_assert_int_eq(r.fault, NHI_DLOG_BAD_SIGNATURE);
}
END_TEST

START_TEST(fifty_concurrent_appenders_leave_an_intact_chain)
{
	struct nhi_dlog o = opts(16);
	struct nhi_dlog_report r;
	pid_t pids[APPENDERS];
	struct lines l;
	size_t i, decisions = 0, failed = 0;
	int j, st;

	/* Correctness, not the bound, is tested here: valgrind is slow. */
	o.lock_wait_ms = 60000;
	for (i = 0; i < APPENDERS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			for (j = 0; j < PER_APPENDER; j++)
				if (append(&o, "deploy", (int)i) != 0)
					_exit(1);
			_exit(0);
		}
	}
	/* Every child is waited for before any assertion can end the test. */
	for (i = 0; i < APPENDERS; i++)
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed++;
	ck_assert_uint_eq(failed, 0);
	verify(headpath, &r);
	assert_intact(&r);
	lines_read(logpath, &l);
	for (i = 0; i < l.n; i++)
		if (strstr(l.v[i], "\"kind\":\"decision\"") != NULL)
			decisions++;
	lines_free(&l);
	ck_assert_uint_eq(decisions, APPENDERS * PER_APPENDER);
	ck_assert_uint_ge(r.n_checkpoints, APPENDERS * PER_APPENDER / 16);
}
END_TEST

START_TEST(edited_byte_is_reported_at_its_line)
{
	struct nhi_dlog_report r;
	struct lines l;
	size_t at;
	char *p;

	make_log();
	lines_read(logpath, &l);
	at = line_of(&l, 17);
	p = strstr(l.v[at - 1], "\"owner\":\"alice\"");
	ck_assert_ptr_nonnull(p);
	p[10] = 'A';
	lines_write(logpath, &l);
	lines_free(&l);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_EDITED);
	ck_assert_uint_eq(r.line, at);
	ck_assert_int_eq(r.seq, 17);
}
END_TEST

START_TEST(deleted_line_is_reported_as_dropped)
{
	struct nhi_dlog_report r;
	struct lines l;
	size_t at;

	make_log();
	lines_read(logpath, &l);
	at = line_of(&l, 17);
	free(l.v[at - 1]);
	l.v[at - 1] = NULL;
	lines_write(logpath, &l);
	lines_free(&l);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_DROPPED);
	ck_assert_uint_eq(r.line, at);
	ck_assert_int_eq(r.seq, 17);
}
END_TEST

START_TEST(swapped_lines_are_reported_as_reordered)
{
	struct nhi_dlog_report r;
	struct lines l;
	size_t at;
	char *t;

	make_log();
	lines_read(logpath, &l);
	at = line_of(&l, 17);
	t = l.v[at - 1];
	l.v[at - 1] = l.v[at];
	l.v[at] = t;
	lines_write(logpath, &l);
	lines_free(&l);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_REORDERED);
	ck_assert_uint_eq(r.line, at);
	ck_assert_int_eq(r.seq, 18);
}
END_TEST

START_TEST(inserted_line_is_reported_as_inserted)
{
	struct nhi_dlog_report r;
	struct lines l;
	size_t at, i;
	char *forged, *p;

	make_log();
	lines_read(logpath, &l);
	at = line_of(&l, 17);
	/* A copy of record 17 claiming another owner, placed after it. */
	forged = strdup(l.v[at - 1]);
	p = strstr(forged, "\"owner\":\"alice\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 9, "mallo", 5);
	l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
	for (i = l.n; i > at; i--)
		l.v[i] = l.v[i - 1];
	l.v[at] = forged;
	l.n++;
	lines_write(logpath, &l);
	lines_free(&l);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_INSERTED);
	ck_assert_uint_eq(r.line, at + 1);
}
END_TEST

START_TEST(cut_tail_is_reported_from_the_head_copy)
{
	struct nhi_dlog_report r;
	size_t keep;

	make_log();
	keep = cut_after(30);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_int_eq(r.seq, 31);
	ck_assert_uint_eq(r.line, keep + 1);
	/* Without the host's copy the cut cannot be seen. */
	verify(NULL, &r);
	assert_intact(&r);
}
END_TEST

/*
 * The next record after a cut moves the head on; what the head knew stays
 * in the log as a "cut" record, reported with or without the head, and
 * the same when the log was emptied whole.
 */
START_TEST(a_cut_stays_reported_after_the_next_record)
{
	struct nhi_dlog o = opts(8);
	struct nhi_dlog_report r;
	size_t keep, i;
	int fd;

	make_log();
	keep = cut_after(30);
	ck_assert_int_eq(append(&o, "deploy", 99), 0);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_uint_eq(r.line, keep + 1);
	ck_assert_msg(strstr(r.detail, "it ended at seq 30") != NULL, "%s",
	    r.detail);
	verify(NULL, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_uint_eq(r.line, keep + 1);
	/* Many records later it is still there. */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(append(&o, "deploy", (int)i), 0);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_uint_eq(r.line, keep + 1);

	fd = open(logpath, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(append(&o, "deploy", 100), 0);
	verify(NULL, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_uint_eq(r.line, 2);
	ck_assert_msg(strstr(r.detail, "it ended at seq -1") != NULL, "%s",
	    r.detail);
}
END_TEST

/* Emptied whole, the log still disagrees with the host's copy. */
START_TEST(emptied_log_is_reported_as_cut)
{
	struct nhi_dlog_report r;
	int fd;

	make_log();
	fd = open(logpath, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	verify(headpath, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_TAIL_CUT);
	ck_assert_uint_eq(r.n_records, 0);
	ck_assert_int_eq(r.seq, 0);
	ck_assert_msg(strstr(r.detail, "the log is empty") != NULL, "%s",
	    r.detail);
	verify(NULL, &r);
	assert_intact(&r);
}
END_TEST

START_TEST(cut_after_the_last_checkpoint_is_counted_as_uncovered)
{
	struct nhi_dlog_report r, before;
	struct lines l;

	make_log();
	verify(headpath, &before);
	assert_intact(&before);
	ck_assert_uint_gt(before.after_checkpoint, 0);
	lines_read(logpath, &l);
	free(l.v[l.n - 1]);
	l.v[l.n - 1] = NULL;
	lines_write(logpath, &l);
	lines_free(&l);
	verify(headpath, &r);
	assert_intact(&r);
	ck_assert_uint_eq(r.after_checkpoint, before.after_checkpoint - 1);
}
END_TEST

START_TEST(rotation_links_each_file_to_the_one_before)
{
	struct nhi_dlog o = opts(8);
	struct nhi_dlog_report prev, r;
	struct nhi_err e;
	char *rotated;
	int i;

	o.rotate_size = 3000;
	for (i = 0; i < 12; i++)
		ck_assert_int_eq(append(&o, "deploy", i), 0);
	verify(headpath, &r);
	assert_intact(&r);
	ck_assert_str_eq(r.first_kind, "link");
	ck_assert_int_ge(asprintf(&rotated, "%s/%s", logdir, r.prev_file),
	    0);
	ck_assert_int_eq(nhi_dlog_verify_file(rotated, pk, NULL, &prev, &e),
	    0);
	assert_intact(&prev);
	ck_assert_str_eq(r.first_prev, prev.last_hash);
	ck_assert_int_eq(r.first_seq, prev.last_seq + 1);
	free(rotated);
}
END_TEST

START_TEST(missing_log_dir_fails_and_creates_nothing)
{
	struct nhi_dlog o = opts(0);
	struct nhi_audit_login l;
	struct nhi_request q;
	struct nhi_decision d = { NHI_DENY, NHI_R_WRONG_KEY, NULL, false };
	struct nhi_err e;
	struct stat st;
	char *gone;

	memset(&q, 0, sizeof(q));
	q.account = "deploy";
	memset(&l, 0, sizeof(l));
	l.req = &q;
	l.dec = &d;
	ck_assert_int_ge(asprintf(&gone, "%s/gone", dir), 0);
	o.dir = gone;
	ck_assert_int_eq(nhi_dlog_decision(&o, &l, UINT32_MAX, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "gone"));
	ck_assert_int_ne(stat(gone, &st), 0);
	free(gone);
}
END_TEST

START_TEST(held_lock_is_waited_for_a_bounded_time)
{
	struct nhi_dlog o = opts(0);
	struct timespec t0, t1;
	double secs;
	int fd;

	ck_assert_int_eq(append(&o, "deploy", 1), 0);
	fd = open(logpath, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	o.lock_wait_ms = 200;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(append(&o, "deploy", 2), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(secs >= 0.15 && secs < 2.0, "waited %.2fs", secs);
	close(fd);
	ck_assert_int_eq(append(&o, "deploy", 3), 0);
}
END_TEST

START_TEST(torn_last_line_is_closed_and_reported)
{
	struct nhi_dlog o = opts(0);
	struct nhi_dlog_report r;
	int fd;

	ck_assert_int_eq(append(&o, "deploy", 1), 0);
	fd = open(logpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"seq\":9", 8), 8);
	close(fd);
	ck_assert_int_eq(append(&o, "deploy", 2), 0);
	verify(NULL, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_EDITED);
	ck_assert_uint_eq(r.line, 4);
}
END_TEST

/*
 * A torn line longer than the first tail read: the appender reads further
 * back, chains to the whole line and counts on from the record before.
 */
START_TEST(long_torn_line_is_chained_whole)
{
	struct nhi_dlog o = opts(0);
	struct nhi_dlog_report r;
	struct lines l;
	char junk[6000];
	int fd;

	ck_assert_int_eq(append(&o, "deploy", 1), 0);
	memset(junk, 'A', sizeof(junk));
	memcpy(junk, "{\"seq\":9,\"x\":\"", 14);
	fd = open(logpath, O_WRONLY | O_APPEND | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	ck_assert_int_eq(append(&o, "deploy", 2), 0);
	lines_read(logpath, &l);
	ck_assert_uint_eq(l.n, 5);
	ck_assert_uint_eq(strlen(l.v[3]), sizeof(junk));
	ck_assert_ptr_nonnull(strstr(l.v[4], "{\"seq\":4,"));
	lines_free(&l);
	verify(NULL, &r);
	ck_assert_int_eq(r.fault, NHI_DLOG_EDITED);
	ck_assert_uint_eq(r.line, 4);
}
END_TEST

static Suite *
dlog_suite(void)
{
	Suite *s = suite_create("dlog");
	TCase *tc = tcase_create("dlog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, fresh_log_starts_chains_and_verifies);
	tcase_add_test(tc, checkpoints_come_every_n_records_and_verify);
	tcase_add_test(tc, another_key_fails_the_checkpoints);
	tcase_add_test(tc, fifty_concurrent_appenders_leave_an_intact_chain);
	tcase_add_test(tc, edited_byte_is_reported_at_its_line);
	tcase_add_test(tc, deleted_line_is_reported_as_dropped);
	tcase_add_test(tc, swapped_lines_are_reported_as_reordered);
	tcase_add_test(tc, inserted_line_is_reported_as_inserted);
	tcase_add_test(tc, cut_tail_is_reported_from_the_head_copy);
	tcase_add_test(tc, emptied_log_is_reported_as_cut);
	tcase_add_test(tc, a_cut_stays_reported_after_the_next_record);
	tcase_add_test(tc,
	    cut_after_the_last_checkpoint_is_counted_as_uncovered);
	tcase_add_test(tc, rotation_links_each_file_to_the_one_before);
	tcase_add_test(tc, missing_log_dir_fails_and_creates_nothing);
	tcase_add_test(tc, held_lock_is_waited_for_a_bounded_time);
	tcase_add_test(tc, torn_last_line_is_closed_and_reported);
	tcase_add_test(tc, long_torn_line_is_chained_whole);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(dlog_suite());
}
