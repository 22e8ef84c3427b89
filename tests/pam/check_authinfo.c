/*
 * check_authinfo.c: reading the key out of SSH_AUTH_INFO_0, in the shapes
 * sshd writes it and in shapes it might write tomorrow.
 */
#include "config.h"

#include <string.h>

#include "authinfo.h"
#include "testutil.h"

/* ssh-keygen -t ed25519, its certificate (CA-signed), and an ECDSA key. */
#define ED25519 \
	"AAAAC3NzaC1lZDI1NTE5AAAAIDhn78vZx6HtlvEjYowHQQ2j+p6dB5W+tA2h/zYG" \
	"gsFi"
#define ED25519_FP "SHA256:gkzXbvYapgFhjFNqecftIzZcU3S6h1wgdmGD2AmRTOA"
#define ECDSA \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHvgqI2vFodb" \
	"+57xBB47QS0Y6X3UbweC9C0TuMh+9G3MgRHhabKy80ioc5XTilIsfdKv3R9hnNIZ" \
	"wgg6UaMPSQU="
#define ECDSA_FP "SHA256:mnafQj46GSYvVxqF6DTV94jOxrs4ixeQFN0F5GAu2j0"
#define CERT \
	"AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29tAAAAIPHv6OtLjrLE" \
	"PLGDC6BsqZyTDoVrM1JgWKh3LT3npuFfAAAAIDhn78vZx6HtlvEjYowHQQ2j+p6d" \
	"B5W+tA2h/zYGgsFiAAAAAAAAAAAAAAABAAAACG5oaTpjZXJ0AAAACgAAAAZkZXBs" \
	"b3kAAAAAaxGmDQAAAAB93ao5AAAAAAAAAIIAAAAVcGVybWl0LVgxMS1mb3J3YXJk" \
	"aW5nAAAAAAAAABdwZXJtaXQtYWdlbnQtZm9yd2FyZGluZwAAAAAAAAAWcGVybWl0" \
	"LXBvcnQtZm9yd2FyZGluZwAAAAAAAAAKcGVybWl0LXB0eQAAAAAAAAAOcGVybWl0" \
	"LXVzZXItcmMAAAAAAAAAAAAAADMAAAALc3NoLWVkMjU1MTkAAAAgxsu9Jp/sYdvi" \
	"I/ggbOtaDvUhjnD8duaLCsSSJHkqspMAAABTAAAAC3NzaC1lZDI1NTE5AAAAQHKd" \
	"PGKpVSH9HAIWP35BrP9+2m99v+rYZ/M0x4W0h2kMioRlVafe1W2TcpMWgaDf35eP" \
	"yjXLAu47SeYvEi2kOwg="

struct authinfo_case {
	const char *name;
	const char *info;
	int want;		/* nhi_authinfo_key's return value */
	const char *fp;		/* expected fingerprint when want == 1 */
};

static const struct authinfo_case cases[] = {
	{ "absent_is_no_key", NULL, 0, NULL },
	{ "empty_is_no_key", "", 0, NULL },
	{ "only_newline_is_no_key", "\n", 0, NULL },
	{ "plain_publickey_line", "publickey ssh-ed25519 " ED25519 "\n", 1,
	    ED25519_FP },
	{ "without_final_newline", "publickey ssh-ed25519 " ED25519, 1,
	    ED25519_FP },
	{ "crlf_line_ending", "publickey ssh-ed25519 " ED25519 "\r\n", 1,
	    ED25519_FP },
	{ "trailing_spaces_and_tabs",
	    "publickey ssh-ed25519 " ED25519 "  \t \n", 1, ED25519_FP },
	{ "ecdsa_key", "publickey ecdsa-sha2-nistp256 " ECDSA "\n", 1,
	    ECDSA_FP },
	{ "certificate_gives_key_inside",
	    "publickey ssh-ed25519-cert-v01@openssh.com " CERT "\n", 1,
	    ED25519_FP },
	{ "key_then_keyboard_interactive",
	    "publickey ssh-ed25519 " ED25519 "\nkeyboard-interactive/pam\n",
	    1, ED25519_FP },
	{ "keyboard_interactive_then_key",
	    "keyboard-interactive/pam\npublickey ssh-ed25519 " ED25519 "\n",
	    1, ED25519_FP },
	{ "password_only_is_no_key", "password\n", 0, NULL },
	{ "unknown_methods_are_skipped",
	    "gssapi-with-mic\nhostbased ssh-ed25519 " ED25519 "\n"
	    "some-future-method with words\n", 0, NULL },
	{ "two_keys_first_wins",
	    "publickey ssh-ed25519 " ED25519 "\npublickey "
	    "ecdsa-sha2-nistp256 " ECDSA "\n", 1, ED25519_FP },
	{ "bad_key_then_good_key",
	    "publickey ssh-ed25519 AAAAnotbase64!!\npublickey "
	    "ecdsa-sha2-nistp256 " ECDSA "\n", 1, ECDSA_FP },
	{ "only_bad_key_is_an_error", "publickey ssh-ed25519 AAAA!!\n", -1,
	    NULL },
	{ "unknown_key_type_is_an_error", "publickey ssh-foo AAAAAAAA\n", -1,
	    NULL },
	{ "publickey_without_key_is_no_key", "publickey\n", 0, NULL },
	{ "method_prefix_is_not_publickey",
	    "publickeyx ssh-ed25519 " ED25519 "\n", 0, NULL },
};

START_TEST(authinfo_table)
{
	const struct authinfo_case *c = &cases[_i];
	struct nhi_err e = { "" };
	char fp[128] = "unchanged";
	int r;

	r = nhi_authinfo_key(c->info, fp, sizeof(fp), &e);
	ck_assert_msg(r == c->want, "%s: got %d, want %d (%s)", c->name, r,
	    c->want, e.msg);
	if (c->want == 1)
		ck_assert_str_eq(fp, c->fp);
	else
		ck_assert_str_eq(fp, "unchanged");
	if (c->want < 0)
		ck_assert_msg(strstr(e.msg, "SSH_AUTH_INFO_0") != NULL,
		    "%s: error does not name the variable: %s", c->name, e.msg);
}
END_TEST

START_TEST(authinfo_short_buffer_fails)
{
	struct nhi_err e = { "" };
	char fp[8];

	ck_assert_int_eq(nhi_authinfo_key("publickey ssh-ed25519 " ED25519,
	    fp, sizeof(fp), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "buffer"));
}
END_TEST

START_TEST(authinfo_oversized_is_refused)
{
	struct nhi_err e = { "" };
	size_t n = 70 * 1024;
	char fp[128], *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	big[n] = '\0';
	ck_assert_int_eq(nhi_authinfo_key(big, fp, sizeof(fp), &e), -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer"));
	free(big);
}
END_TEST

static Suite *
authinfo_suite(void)
{
	Suite *s = suite_create("authinfo");
	TCase *tc = tcase_create("authinfo");

	tcase_add_loop_test(tc, authinfo_table, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, authinfo_short_buffer_fails);
	tcase_add_test(tc, authinfo_oversized_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(authinfo_suite());
}
