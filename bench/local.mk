# Benchmarks: built by `make bench`, run by hand (never timed in tests).
EXTRA_PROGRAMS += bench/bench_core
bench_bench_core_SOURCES = bench/bench_core.c bench/benchgen.h
bench_bench_core_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
bench_bench_core_LDADD = common/libnhisync.la $(NHICORE_LIBS) $(SODIUM_LIBS)
# bench_pam builds the registers; bench_pam_run, linked with libpam and
# libc only, times the PAM stacks the way sshd would load them.
EXTRA_PROGRAMS += bench/bench_pam bench/bench_pam_run
bench_bench_pam_SOURCES = bench/bench_pam.c
bench_bench_pam_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS) \
	-DPAM_NHI_SO='"$(abs_top_builddir)/pam_nhi/.libs/pam_nhi.so"' \
	-DBENCH_PAM_RUN='"$(abs_top_builddir)/bench/bench_pam_run"'
bench_bench_pam_LDADD = common/libnhisync.la $(NHICORE_LIBS) \
	$(SODIUM_LIBS)
EXTRA_bench_bench_pam_DEPENDENCIES = bench/bench_pam_run \
	pam_nhi/pam_nhi.la
bench_bench_pam_run_SOURCES = bench/bench_pam_run.c
bench_bench_pam_run_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
bench_bench_pam_run_LDADD = $(PAM_LIBS)
# bench_nss times libnss_nhi.so.2 through glibc beside nss_files,
# libnss-db and libnss-cache; it runs tests/nss/mkidx for its entries.
EXTRA_PROGRAMS += bench/bench_nss
bench_bench_nss_SOURCES = bench/bench_nss.c
bench_bench_nss_LDADD = -ldl
EXTRA_bench_bench_nss_DEPENDENCIES = tests/nss/mkidx nss_nhi/libnss_nhi.la
EXTRA_PROGRAMS += bench/bench_sync
bench_bench_sync_SOURCES = bench/bench_sync.c bench/benchgen.h
bench_bench_sync_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS) \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"'
bench_bench_sync_LDADD = common/libnhisync.la $(NHICORE_LIBS) \
	$(SODIUM_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)

bench: $(EXTRA_PROGRAMS)
.PHONY: bench
