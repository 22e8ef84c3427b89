# Unit tests (Check, TAP output) and integration tests (shell, TAP output).
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
UNIT_LDADD = $(NHICORE_LIBS) $(CHECK_LIBS)
UNIT_TESTS = \
	tests/unit/check_util \
	tests/unit/check_conf \
	tests/unit/check_crypto \
	tests/unit/check_sha256 \
	tests/unit/check_statement \
	tests/unit/check_register \
	tests/unit/check_index \
	tests/unit/check_sync \
	tests/unit/check_decide \
	tests/unit/check_authkeys
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_check_util_SOURCES = tests/unit/check_util.c tests/unit/testutil.h
tests_unit_check_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_util_LDADD = $(UNIT_LDADD)
tests_unit_check_conf_SOURCES = tests/unit/check_conf.c tests/unit/testutil.h
tests_unit_check_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_conf_LDADD = $(UNIT_LDADD)
tests_unit_check_crypto_SOURCES = tests/unit/check_crypto.c tests/unit/testutil.h
tests_unit_check_crypto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_crypto_LDADD = $(UNIT_LDADD)
tests_unit_check_sha256_SOURCES = tests/unit/check_sha256.c tests/unit/testutil.h
tests_unit_check_sha256_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sha256_LDADD = common/libnhisync.la $(UNIT_LDADD)
tests_unit_check_statement_SOURCES = tests/unit/check_statement.c tests/unit/testutil.h
tests_unit_check_statement_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_statement_LDADD = $(UNIT_LDADD)
tests_unit_check_register_SOURCES = tests/unit/check_register.c tests/unit/testutil.h
tests_unit_check_register_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_register_LDADD = common/libnhisync.la $(UNIT_LDADD)
tests_unit_check_index_SOURCES = tests/unit/check_index.c tests/unit/testutil.h
tests_unit_check_index_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_index_LDADD = $(UNIT_LDADD)
tests_unit_check_sync_SOURCES = tests/unit/check_sync.c tests/unit/testutil.h
tests_unit_check_sync_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sync_LDADD = common/libnhisync.la $(UNIT_LDADD)
tests_unit_check_decide_SOURCES = tests/unit/check_decide.c tests/unit/testutil.h
tests_unit_check_decide_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_decide_LDADD = common/libnhisync.la $(UNIT_LDADD)
tests_unit_check_authkeys_SOURCES = tests/unit/check_authkeys.c \
	tests/unit/testutil.h
tests_unit_check_authkeys_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_authkeys_LDADD = $(UNIT_LDADD)

# Integration tests: real programs. Those that need root run as root in CI.
INTEGRATION_TESTS = \
	tests/integration/cli.sh \
	tests/integration/manlint.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/tap.sh

# The accountability trail: decision log and audit records (unit), and a
# real auditd with sshd and nhictl sync (root; skipped otherwise).
AUDIT_UNIT_TESTS = \
	tests/audit/check_dlog \
	tests/audit/check_audit
check_PROGRAMS += $(AUDIT_UNIT_TESTS) tests/audit/dlogfill
TESTS += $(AUDIT_UNIT_TESTS)
tests_audit_check_dlog_SOURCES = tests/audit/check_dlog.c tests/unit/testutil.h
tests_audit_check_dlog_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/tests/unit
tests_audit_check_dlog_LDADD = $(UNIT_LDADD)
tests_audit_check_audit_SOURCES = tests/audit/check_audit.c \
	tests/unit/testutil.h
tests_audit_check_audit_CFLAGS = $(UNIT_CFLAGS) $(AUDIT_CFLAGS) \
	-I$(top_srcdir)/tests/unit
tests_audit_check_audit_LDADD = $(UNIT_LDADD) $(AUDIT_LIBS)
tests_audit_dlogfill_SOURCES = tests/audit/dlogfill.c
tests_audit_dlogfill_LDADD = $(NHICORE_LIBS)

AUDIT_SHELL_TESTS = \
	tests/audit/log.sh \
	tests/audit/auditd.sh
TESTS += $(AUDIT_SHELL_TESTS)
EXTRA_DIST += $(AUDIT_SHELL_TESTS)

# The sync over HTTPS: a real nginx with a test CA, misbehaving peers (root).
check_PROGRAMS += tests/https/mkstatements
tests_https_mkstatements_SOURCES = tests/https/mkstatements.c
tests_https_mkstatements_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
tests_https_mkstatements_LDADD = $(NHICORE_LIBS)
TESTS += tests/https/sync.sh
EXTRA_DIST += tests/https/sync.sh tests/https/lib.sh tests/https/peer.py
