# Fuzz targets (tests/fuzz/fuzz_<target>.c). make check links each with
# replay.c and replays its corpus (tests/fuzz/corpus/<target>/), so a past
# crash stays fixed; scripts/fuzz builds the same sources with clang and
# libFuzzer by setting FUZZ_DEFS and FUZZ_LINK.
FUZZ_DEFS =
FUZZ_LINK =
FUZZ_TARGETS = \
	tests/fuzz/fuzz_dsse \
	tests/fuzz/fuzz_binding \
	tests/fuzz/fuzz_account \
	tests/fuzz/fuzz_statement \
	tests/fuzz/fuzz_register \
	tests/fuzz/fuzz_conf \
	tests/fuzz/fuzz_authinfo \
	tests/fuzz/fuzz_pamidx \
	tests/fuzz/fuzz_authkeys \
	tests/fuzz/fuzz_nss
check_PROGRAMS += $(FUZZ_TARGETS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/corpus tests/fuzz/dict \
	scripts/fuzz

FUZZ_COMMON_SRC = tests/fuzz/fuzz.h tests/fuzz/fuzz_util.c tests/fuzz/replay.c
FUZZ_CORE_SRC = $(FUZZ_COMMON_SRC) tests/fuzz/fuzz_keys.c
FUZZ_CORE_CPP = $(AM_CPPFLAGS) $(FUZZ_DEFS)
FUZZ_CORE_CC = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
FUZZ_CORE_LINK = $(AM_LDFLAGS) $(FUZZ_LINK)
FUZZ_CORE_LIBS = $(NHICORE_LIBS) $(SODIUM_LIBS) $(CDB_LIBS)

tests_fuzz_fuzz_dsse_SOURCES = tests/fuzz/fuzz_dsse.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_dsse_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_dsse_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_dsse_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_dsse_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_binding_SOURCES = tests/fuzz/fuzz_binding.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_binding_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_binding_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_binding_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_binding_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_account_SOURCES = tests/fuzz/fuzz_account.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_account_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_account_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_account_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_account_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_statement_SOURCES = tests/fuzz/fuzz_statement.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_statement_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_statement_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_statement_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_statement_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_register_SOURCES = tests/fuzz/fuzz_register.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_register_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_register_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_register_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_register_LDADD = common/libnhisync.la $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_conf_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_conf_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_conf_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_authinfo_SOURCES = tests/fuzz/fuzz_authinfo.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_authinfo_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_authinfo_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_authinfo_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_authinfo_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_pamidx_SOURCES = tests/fuzz/fuzz_pamidx.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_pamidx_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_pamidx_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_pamidx_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_pamidx_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_authkeys_SOURCES = tests/fuzz/fuzz_authkeys.c $(FUZZ_CORE_SRC)
tests_fuzz_fuzz_authkeys_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_authkeys_CFLAGS = $(FUZZ_CORE_CC)
tests_fuzz_fuzz_authkeys_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_authkeys_LDADD = $(FUZZ_CORE_LIBS)
# The NSS target compiles the module's sources in, as the module links
# nothing but libc and tinycdb.
tests_fuzz_fuzz_nss_SOURCES = tests/fuzz/fuzz_nss.c $(FUZZ_COMMON_SRC) \
	nss_nhi/nss_nhi.c nss_nhi/nssmap.c nss_nhi/nssmap.h
tests_fuzz_fuzz_nss_CPPFLAGS = $(FUZZ_CORE_CPP)
tests_fuzz_fuzz_nss_CFLAGS = $(AM_CFLAGS) -pthread
tests_fuzz_fuzz_nss_LDFLAGS = $(FUZZ_CORE_LINK)
tests_fuzz_fuzz_nss_LDADD = $(CDB_LIBS) -lpthread

include $(top_srcdir)/tests/stress/local.mk
include $(top_srcdir)/lint.mk
