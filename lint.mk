# make lint: clang-tidy (checks in .clang-tidy) and cppcheck over the
# project's C sources, every test program included. Findings are errors;
# scripts/test runs both.
LINT_DIRS = common pam_nhi nss_nhi nhictl bench \
	tests/unit tests/pam tests/nss tests/audit tests/https \
	tests/fuzz tests/stress
# The benchmarks and the PAM tests take paths from the build
# (bench/local.mk, pam_nhi/local.mk); any string does for the analysis.
# The tests include tests/unit/testutil.h and build with Check's flags;
# check_audit also includes libaudit's header.
LINT_CPP = $(DEFS) -I$(abs_top_builddir) -I$(abs_top_srcdir)/common \
	-I$(abs_top_srcdir)/tests/unit \
	$(JSONC_CFLAGS) $(SODIUM_CFLAGS) $(CURL_CFLAGS) $(PAM_CFLAGS) \
	$(CHECK_CFLAGS) $(AUDIT_CFLAGS) \
	-DSYSCONFDIR='"$(sysconfdir)"' -DLOCALSTATEDIR='"$(localstatedir)"' \
	-DPAM_NHI_SO='"pam_nhi.so"' -DBENCH_PAM_RUN='"bench_pam_run"' \
	-DTOP_SRCDIR='"."'
EXTRA_DIST += lint.mk .clang-tidy bench/.clang-tidy tests/.clang-tidy \
	tests/fuzz/cppcheck.supp

lint: lint-clang-tidy lint-cppcheck
# One clang-tidy per file: run over several files, clang-tidy 14 keeps
# what its analyzer learnt of va_start in the first one and reports every
# va_list of the later ones as uninitialized (LLVM bug 41311). Only the
# files with findings are shown, without the count of suppressed warnings
# that clang-tidy prints for every file.
lint-clang-tidy:
	@cd $(top_srcdir) && rc=0 && for f in `ls $(LINT_DIRS:=/*.c)`; do \
	    out=`clang-tidy --quiet $$f -- $(LINT_CPP) -D_GNU_SOURCE 2>&1` || \
	    { printf '%s\n' "$$out" | grep -v ' generated\.$$'; rc=1; }; \
	done && exit $$rc
lint-cppcheck:
	@cd $(top_srcdir) && cppcheck --quiet --error-exitcode=1 \
	    --enable=warning,portability --inline-suppr --std=c11 \
	    --suppressions-list=tests/fuzz/cppcheck.supp \
	    -D__GNUC__ -D__linux__ -I common -I tests/unit \
	    -I $(abs_top_builddir) --include=$(abs_top_builddir)/config.h \
	    $(LINT_DIRS)
.PHONY: lint lint-clang-tidy lint-cppcheck
