/* check_util.c: character sets, times, files, buffers and lists. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include "testutil.h"
#include "util.h"

struct valid_case {
	const char *s;
	bool ok;
};

static const struct valid_case name_cases[] = {
	{ "deploy", true }, { "nhi-7f3a2c", true }, { "a.b_c-d", true },
	{ "A9", true }, { "-deploy", false }, { "", false },
	{ "de ploy", false }, { "root:x", false }, { "user$", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },	/* 32 bytes */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },	/* 33 bytes */
	{ "caf\xc3\xa9", false }, { "a/b", false },
};

START_TEST(name_follows_posix_portable_set)
{
	const struct valid_case *c = &name_cases[_i];

	ck_assert_msg(nhi_valid_name(c->s) == c->ok, "\"%s\"", c->s);
	ck_assert_msg(nhi_valid_service(c->s) == c->ok, "\"%s\"", c->s);
	ck_assert_msg(nhi_valid_service_or_all(c->s) == c->ok, "\"%s\"",
	    c->s);
}
END_TEST

static const struct valid_case text_cases[] = {
	{ "alice@example.org", true }, { "CHG-1234", true },
	{ "a+b=c/d", true }, { "-x", false }, { "", false },
	{ "alice smith", false }, { "a:b", false }, { "a,b", false },
	{ "a\"b", false }, { "a\\b", false }, { "a\nb", false },
	{ "a'b", false },
};

START_TEST(text_uses_safe_charset)
{
	const struct valid_case *c = &text_cases[_i];

	ck_assert_msg(nhi_valid_text(c->s) == c->ok, "\"%s\"", c->s);
}
END_TEST

START_TEST(text_length_is_capped)
{
	char s[NHI_MAX_FIELD + 2];

	memset(s, 'a', sizeof(s));
	s[NHI_MAX_FIELD] = '\0';
	ck_assert(nhi_valid_text(s));
	ck_assert(nhi_valid_glob(s));
	s[NHI_MAX_FIELD] = 'a';
	s[NHI_MAX_FIELD + 1] = '\0';
	ck_assert(!nhi_valid_text(s));
	ck_assert(!nhi_valid_glob(s));
}
END_TEST

static const struct valid_case glob_cases[] = {
	{ "web-*", true }, { "db[0-9].example", true }, { "@prod", true },
	{ "h?st", true }, { "[!a]x", true }, { "", false }, { "a b", false },
	{ "a/b", false }, { "-x", false },
};

START_TEST(glob_charset)
{
	const struct valid_case *c = &glob_cases[_i];

	ck_assert_msg(nhi_valid_glob(c->s) == c->ok, "\"%s\"", c->s);
}
END_TEST

static const struct valid_case desc_cases[] = {
	{ "", true }, { "Build robot, team X", true },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", true },
	{ "a:b", false }, { "tab\there", false }, { "del\x7f", false },
	{ "bad \xc3", false }, { "overlong \xc0\xaf", false },
	{ "surrogate \xed\xa0\x80", false }, { "c1 \xc2\x85", false },
	{ "too big \xf4\x90\x80\x80", false }, { "latin1 \xe9", false },
};

START_TEST(description_is_printable_utf8)
{
	const struct valid_case *c = &desc_cases[_i];

	ck_assert_msg(nhi_valid_description(c->s) == c->ok, "case %d", _i);
}
END_TEST

START_TEST(path_must_be_absolute_and_clean)
{
	ck_assert(nhi_valid_path("/home/x"));
	ck_assert(nhi_valid_path("/"));
	ck_assert(!nhi_valid_path("home/x"));
	ck_assert(!nhi_valid_path(""));
	ck_assert(!nhi_valid_path(NULL));
	ck_assert(!nhi_valid_path("/a\nb"));
	ck_assert(!nhi_valid_path("/a\x7f"));
	ck_assert(nhi_valid_service_or_all("*"));
	ck_assert(!nhi_valid_service_or_all("**"));
	ck_assert(!nhi_valid_service_or_all(NULL));
	ck_assert(nhi_valid_plain("any text: \"even\" this"));
	ck_assert(nhi_valid_plain(""));
	ck_assert(!nhi_valid_plain("tab\t"));
	ck_assert(!nhi_valid_plain(NULL));
}
END_TEST

START_TEST(nonempty_treats_null_and_empty_alike)
{
	ck_assert_ptr_null(nhi_nonempty(NULL));
	ck_assert_ptr_null(nhi_nonempty(""));
	ck_assert_str_eq(nhi_nonempty("x"), "x");
}
END_TEST

struct time_case {
	const char *s;
	int rc;
	int64_t t;
};

static const struct time_case time_cases[] = {
	{ "@0", 0, 0 },
	{ "@1700000000", 0, 1700000000 },
	{ "2023-11-14T22:13:20Z", 0, 1700000000 },
	{ "2023-11-14 22:13:20", 0, 1700000000 },
	{ "2024-02-29", 0, 1709164800 },
	{ "1970-01-01", 0, 0 },
	{ "2038-01-19T03:14:08Z", 0, 2147483648LL },
	{ "now", 0, 1234 },
	{ "2023-02-29", -1, 0 },
	{ "2023-13-01", -1, 0 },
	{ "2023-11-14T24:00:00Z", -1, 0 },
	{ "2023-11-14T22:13:20", -1, 0 },
	{ "2023-11-14 22:13:20Z", -1, 0 },
	{ "2023-11-14T22:13Z", -1, 0 },
	{ "2023-1-14", -1, 0 },
	{ "@-5", -1, 0 },
	{ "@ 5", -1, 0 },
	{ "@5x", -1, 0 },
	{ "@99999999999999999999", -1, 0 },
	{ "1969-12-31", -1, 0 },
	{ "", -1, 0 },
	{ "yesterday", -1, 0 },
};

START_TEST(time_formats)
{
	const struct time_case *c = &time_cases[_i];
	int64_t t = -77;

	ck_assert_int_eq(nhi_parse_time(c->s, 1234, &t), c->rc);
	if (c->rc == 0)
		ck_assert_int_eq(t, c->t);
	else
		ck_assert_int_eq(t, -77);
}
END_TEST

START_TEST(time_now_needs_a_clock)
{
	int64_t t = 5;

	ck_assert_int_eq(nhi_parse_time("now", 0, &t), -1);
	ck_assert_int_eq(t, 5);
}
END_TEST

START_TEST(time_format_round_trips)
{
	char buf[32];
	int64_t t;

	ck_assert_str_eq(nhi_format_time(1700000000, buf, sizeof(buf)),
	    "2023-11-14T22:13:20Z");
	ck_assert_int_eq(nhi_parse_time(buf, 0, &t), 0);
	ck_assert_int_eq(t, 1700000000);
	ck_assert_str_eq(nhi_format_time(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00Z");
}
END_TEST

struct dur_case {
	const char *s;
	int rc;
	int64_t v;
};

static const struct dur_case dur_cases[] = {
	{ "90", 0, 90 }, { "90s", 0, 90 }, { "15m", 0, 900 },
	{ "2h", 0, 7200 }, { "7d", 0, 604800 }, { "1h30m", 0, 5400 },
	{ "1d2h3m4s", 0, 93784 }, { "0", 0, 0 }, { "", -1, 0 },
	{ "h", -1, 0 }, { "1h30", -1, 0 }, { "1w", -1, 0 },
	{ "-5s", -1, 0 }, { "1 h", -1, 0 },
	{ "9999999999999999999d", -1, 0 },
	{ "106751991167301d", -1, 0 },
};

START_TEST(duration_formats)
{
	const struct dur_case *c = &dur_cases[_i];
	int64_t v = -77;

	ck_assert_msg(nhi_parse_duration(c->s, &v) == c->rc, "\"%s\"", c->s);
	ck_assert_int_eq(v, c->rc == 0 ? c->v : -77);
}
END_TEST

START_TEST(int_is_strict)
{
	int64_t v = 0;

	ck_assert_int_eq(nhi_parse_int("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(nhi_parse_int("-3", -5, 5, &v), 0);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(nhi_parse_int("101", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("-1", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int(" 4", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("+4", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("4 ", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("0x4", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("", 0, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("-", -9, 100, &v), -1);
	ck_assert_int_eq(nhi_parse_int("9223372036854775808", 0, INT64_MAX,
	    &v), -1);
	ck_assert_int_eq(nhi_parse_int("9223372036854775807", 0, INT64_MAX,
	    &v), 0);
	ck_assert_int_eq(v, INT64_MAX);
}
END_TEST

START_TEST(read_file_whole_and_bounded)
{
	char *dir = tu_tmpdir(), *path, *buf = NULL;
	size_t len = 0;

	ck_assert_int_ge(asprintf(&path, "%s/f", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "hello\n", 6, 0640), 0);
	ck_assert_int_eq(nhi_read_file(path, 6, &buf, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(buf, "hello\n");
	free(buf);
	buf = NULL;

	errno = 0;
	ck_assert_int_eq(nhi_read_file(path, 5, &buf, &len), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_ptr_null(buf);

	errno = 0;
	ck_assert_int_eq(nhi_read_file(dir, 100, &buf, &len), -1);
	ck_assert_int_eq(errno, EISDIR);

	ck_assert_int_eq(nhi_write_atomic(path, "", 0, 0600), 0);
	ck_assert_int_eq(nhi_read_file(path, 100, &buf, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	free(buf);

	errno = 0;
	ck_assert_int_eq(nhi_read_file("/nonexistent/x", 100, &buf, &len), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* "No bound" as SIZE_MAX: max + 1 must not wrap to a zero-sized buffer. */
START_TEST(read_file_without_a_bound)
{
	char *dir = tu_tmpdir(), *path, *buf = NULL;
	size_t len = 0;

	ck_assert_int_ge(asprintf(&path, "%s/f", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "hello\n", 6, 0640), 0);
	ck_assert_int_eq(nhi_read_file(path, SIZE_MAX, &buf, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(buf, "hello\n");
	free(buf);
	free(path);
	tu_rmtree(dir);
}
END_TEST

/* A regular file opens; a FIFO (at once), a directory or nothing do not. */
START_TEST(open_regular_refuses_what_is_not_a_file)
{
	char *dir = tu_tmpdir(), *path, *fifo;
	struct nhi_err e;
	struct stat st;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/f", dir), 0);
	ck_assert_int_ge(asprintf(&fifo, "%s/p", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "x\n", 2, 0640), 0);
	fd = nhi_open_regular(path, &st, &e);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(st.st_size, 2);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(nhi_open_regular(fifo, &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	ck_assert_int_eq(nhi_open_regular(dir, &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "not a regular file"));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(nhi_open_regular(path, &st, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "No such file"));
	free(path);
	free(fifo);
	tu_rmtree(dir);
}
END_TEST

START_TEST(write_atomic_sets_mode_and_leaves_no_temp)
{
	char *dir = tu_tmpdir(), *path, *buf;
	struct stat st;
	size_t len;

	ck_assert_int_ge(asprintf(&path, "%s/idx", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "one", 3, 0644), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(nhi_write_atomic(path, "two!", 4, 0600), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(nhi_read_file(path, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "two!");
	free(buf);

	/* Exactly one entry: no temporary file is left behind. */
	ck_assert_uint_eq(tu_dir_entries(dir), 1);
	free(path);

	/* A directory that does not exist fails and creates nothing. */
	ck_assert_int_ge(asprintf(&path, "%s/no/such", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "x", 1, 0600), -1);
	ck_assert_int_eq(errno, ENOENT);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(atomic_abort_keeps_the_old_file)
{
	char *dir = tu_tmpdir(), *path, *buf, *tmp;
	struct nhi_atomic a;
	size_t len;

	ck_assert_int_ge(asprintf(&path, "%s/idx", dir), 0);
	ck_assert_int_eq(nhi_write_atomic(path, "old", 3, 0600), 0);
	ck_assert_int_eq(nhi_atomic_open(&a, path, 0600), 0);
	ck_assert_int_ge(a.fd, 0);
	ck_assert_int_eq(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(a.fd, "new", 3), 3);
	tmp = strdup(a.tmp);
	nhi_atomic_abort(&a);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	free(tmp);
	ck_assert_int_eq(nhi_read_file(path, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "old");
	free(buf);

	ck_assert_int_eq(nhi_atomic_open(&a, path, 0600), 0);
	ck_assert_int_eq(write(a.fd, "new", 3), 3);
	ck_assert_int_eq(nhi_atomic_commit(&a), 0);
	ck_assert_int_eq(nhi_read_file(path, 100, &buf, &len), 0);
	ck_assert_str_eq(buf, "new");
	free(buf);
	free(path);
	tu_rmtree(dir);
}
END_TEST

START_TEST(escape_hides_controls_and_caps)
{
	char out[64];

	nhi_escape("plain text", 100, out, sizeof(out));
	ck_assert_str_eq(out, "plain text");
	nhi_escape("a\"b\\c\nd\x01\xff", 100, out, sizeof(out));
	ck_assert_str_eq(out, "a\\x22b\\x5cc\\x0ad\\x01\\xff");
	nhi_escape("abcdefgh", 4, out, sizeof(out));
	ck_assert_str_eq(out, "abcd...");
	nhi_escape(NULL, 4, out, sizeof(out));
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(escape_never_overflows_small_buffers)
{
	char out[8];

	memset(out, 'Z', sizeof(out));
	nhi_escape("abcdefghijkl", 100, out, sizeof(out));
	ck_assert_str_eq(out, "abcd...");
	nhi_escape("\n\n\n\n", 100, out, sizeof(out));
	ck_assert_str_eq(out, "\\x0a...");
	nhi_escape("ab\n\n", 100, out, sizeof(out));
	ck_assert_str_eq(out, "ab...");
	nhi_escape("ab\n", 100, out, 3);
	ck_assert_uint_le(strlen(out), 2);
	nhi_escape("abc", 100, out, 1);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(buf_grows)
{
	struct nhi_buf b = { NULL, 0, 0 };
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(nhi_buf_addf(&b, "%d,", i % 10), 0);
	ck_assert_uint_eq(b.len, 2000);
	ck_assert_uint_eq(strlen(b.s), 2000);
	ck_assert_int_eq(strncmp(b.s, "0,1,2,", 6), 0);
	ck_assert_int_eq(nhi_buf_add(&b, "xyz", 2), 0);
	ck_assert_str_eq(b.s + 2000, "xy");
	nhi_buf_free(&b);
	ck_assert_ptr_null(b.s);
	nhi_buf_free(NULL);
}
END_TEST

START_TEST(strv_split_trims_and_validates)
{
	struct nhi_strv sv = { NULL, 0 };
	struct nhi_err e;
	char *j;

	ck_assert_int_eq(nhi_strv_split("a, b ,c", nhi_valid_name, &sv, &e),
	    0);
	ck_assert_uint_eq(sv.n, 3);
	ck_assert_str_eq(sv.v[1], "b");
	ck_assert_ptr_null(sv.v[3]);
	ck_assert(nhi_strv_has(&sv, "c"));
	ck_assert(!nhi_strv_has(&sv, "d"));
	j = nhi_strv_join(&sv, "|");
	ck_assert_str_eq(j, "a|b|c");
	free(j);
	nhi_strv_free(&sv);

	ck_assert_int_eq(nhi_strv_split("a,,b", NULL, &sv, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
	ck_assert_int_eq(nhi_strv_split("", NULL, &sv, &e), -1);
	ck_assert_int_eq(nhi_strv_split("a, ", NULL, &sv, &e), -1);
	ck_assert_int_eq(nhi_strv_split("a,b c", nhi_valid_name, &sv, &e),
	    -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "\"b c\""));
	ck_assert_ptr_null(sv.v);
}
END_TEST

START_TEST(strv_split_limits_items)
{
	struct nhi_strv sv = { NULL, 0 };
	struct nhi_buf b = { NULL, 0, 0 };
	struct nhi_err e;
	int i;

	for (i = 0; i < NHI_MAX_LIST; i++)
		ck_assert_int_eq(nhi_buf_addf(&b, "%sx%d", i ? "," : "", i), 0);
	ck_assert_int_eq(nhi_strv_split(b.s, nhi_valid_name, &sv, &e), 0);
	ck_assert_uint_eq(sv.n, NHI_MAX_LIST);
	nhi_strv_free(&sv);
	ck_assert_int_eq(nhi_buf_adds(&b, ",one-more"), 0);
	ck_assert_int_eq(nhi_strv_split(b.s, nhi_valid_name, &sv, &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "items"));
	nhi_buf_free(&b);
}
END_TEST

START_TEST(strv_match_uses_globs)
{
	struct nhi_strv sv = { NULL, 0 };
	char *j;

	ck_assert(!nhi_strv_match(&sv, "x"));
	j = nhi_strv_join(&sv, ",");
	ck_assert_str_eq(j, "");
	free(j);
	ck_assert_int_eq(nhi_strv_add(&sv, "web-*"), 0);
	ck_assert_int_eq(nhi_strv_add(&sv, "db[0-9]"), 0);
	ck_assert(nhi_strv_match(&sv, "web-01"));
	ck_assert(nhi_strv_match(&sv, "db7"));
	ck_assert(!nhi_strv_match(&sv, "db10"));
	ck_assert(!nhi_strv_match(&sv, "mail"));
	ck_assert(!nhi_strv_match(&sv, NULL));
	nhi_strv_free(&sv);
	nhi_strv_free(NULL);
}
END_TEST

START_TEST(hex_and_wipe)
{
	unsigned char b[4] = { 0x00, 0x7f, 0xab, 0xff };
	char out[9];

	nhi_hex(b, sizeof(b), out);
	ck_assert_str_eq(out, "007fabff");
	nhi_wipe(b, sizeof(b));
	ck_assert_int_eq(b[0] | b[1] | b[2] | b[3], 0);
	nhi_wipe(NULL, 4);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc;

	tc = tcase_create("charsets");
	tcase_add_loop_test(tc, name_follows_posix_portable_set, 0,
	    N(name_cases));
	tcase_add_loop_test(tc, text_uses_safe_charset, 0, N(text_cases));
	tcase_add_test(tc, text_length_is_capped);
	tcase_add_loop_test(tc, glob_charset, 0, N(glob_cases));
	tcase_add_loop_test(tc, description_is_printable_utf8, 0,
	    N(desc_cases));
	tcase_add_test(tc, path_must_be_absolute_and_clean);
	tcase_add_test(tc, nonempty_treats_null_and_empty_alike);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, time_formats, 0, N(time_cases));
	tcase_add_test(tc, time_now_needs_a_clock);
	tcase_add_test(tc, time_format_round_trips);
	tcase_add_loop_test(tc, duration_formats, 0, N(dur_cases));
	tcase_add_test(tc, int_is_strict);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, read_file_whole_and_bounded);
	tcase_add_test(tc, read_file_without_a_bound);
	tcase_add_test(tc, open_regular_refuses_what_is_not_a_file);
	tcase_add_test(tc, write_atomic_sets_mode_and_leaves_no_temp);
	tcase_add_test(tc, atomic_abort_keeps_the_old_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, escape_hides_controls_and_caps);
	tcase_add_test(tc, escape_never_overflows_small_buffers);
	tcase_add_test(tc, buf_grows);
	tcase_add_test(tc, strv_split_trims_and_validates);
	tcase_add_test(tc, strv_split_limits_items);
	tcase_add_test(tc, strv_match_uses_globs);
	tcase_add_test(tc, hex_and_wipe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(util_suite());
}
