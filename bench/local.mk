# Benchmarks: built by `make bench`, run by hand (never timed in tests).
EXTRA_PROGRAMS += bench/bench_core
bench_bench_core_SOURCES = bench/bench_core.c bench/benchgen.h
bench_bench_core_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS)
bench_bench_core_LDADD = common/libnhisync.la common/libnhicore.la $(SODIUM_LIBS)
EXTRA_PROGRAMS += bench/bench_pam
bench_bench_pam_SOURCES = bench/bench_pam.c
bench_bench_pam_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(SODIUM_CFLAGS) \
	$(PAM_CFLAGS) -DPAM_NHI_SO='"$(abs_top_builddir)/pam_nhi/.libs/pam_nhi.so"'
bench_bench_pam_LDADD = common/libnhisync.la common/libnhicore.la \
	$(SODIUM_LIBS) $(PAM_LIBS)
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
bench_bench_sync_LDADD = common/libnhisync.la common/libnhicore.la \
	$(SODIUM_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)

bench: $(EXTRA_PROGRAMS)
.PHONY: bench
