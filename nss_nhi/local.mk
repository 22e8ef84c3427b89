# libnss_nhi.so.2: links libc and tinycdb's PIC archive, nothing else, so
# that loading it into every process on the host brings in no other
# library (the shared libcdb where no PIC archive is found: see
# configure.ac). Built as a libtool module and installed under its soname.
nhi_nss_index = /var/lib/nhi/nss.cdb

lib_LTLIBRARIES = nss_nhi/libnss_nhi.la
nss_nhi_libnss_nhi_la_SOURCES = \
	nss_nhi/nss_nhi.c nss_nhi/nssmap.c nss_nhi/nssmap.h common/nssidx.h
nss_nhi_libnss_nhi_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-DNHI_NSS_INDEX_PATH='"$(nhi_nss_index)"'
# -version-info 2:0:0 gives the soname libnss_nhi.so.2. The archive goes
# straight to the linker (libtool would only warn that linking a static
# archive into a shared library is not portable; it is PIC and meant for
# exactly this).
nss_nhi_libnss_nhi_la_LDFLAGS = $(AM_LDFLAGS) -module -shared \
	-version-info 2:0:0 -no-undefined -Wl,-z,defs \
	-Wl,--version-script=$(srcdir)/nss_nhi/nss_nhi.map $(NSS_CDB_LDFLAGS)
nss_nhi_libnss_nhi_la_LIBADD = $(NSS_CDB_LIBS)
nss_nhi_libnss_nhi_la_DEPENDENCIES = $(srcdir)/nss_nhi/nss_nhi.map
EXTRA_DIST += nss_nhi/nss_nhi.map tests/nss/getent.sh

# glibc loads libnss_SERVICE.so.2: install the module under that name and
# drop what libtool installs for linking against it.
install-exec-hook: install-nss-nhi
uninstall-hook: uninstall-nss-nhi
install-nss-nhi:
	cd "$(DESTDIR)$(libdir)" && \
	mv -f libnss_nhi.so.2.0.0 libnss_nhi.so.2 && \
	rm -f libnss_nhi.so libnss_nhi.la
uninstall-nss-nhi:
	rm -f "$(DESTDIR)$(libdir)/libnss_nhi.so.2"
.PHONY: install-nss-nhi uninstall-nss-nhi

# Tests: the fixture writer, the dlopen tests and the getent tests. They
# link the index writer and what it uses, not all of libnhicore.
check_LTLIBRARIES = tests/nss/libnssidx.la
tests_nss_libnssidx_la_SOURCES = common/err.c common/util.c common/cdbw.c \
	common/nssidx.c
tests_nss_libnssidx_la_LIBADD = $(SODIUM_LIBS) $(CDB_LIBS)
check_PROGRAMS += tests/nss/mkidx tests/nss/check_nss
tests_nss_mkidx_SOURCES = tests/nss/mkidx.c
tests_nss_mkidx_LDADD = tests/nss/libnssidx.la
tests_nss_check_nss_SOURCES = tests/nss/check_nss.c tests/unit/testutil.h
tests_nss_check_nss_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
tests_nss_check_nss_LDADD = tests/nss/libnssidx.la $(CDB_LIBS) \
	$(CHECK_LIBS) -ldl -lpthread
NSS_TESTS = tests/nss/check_nss tests/nss/getent.sh
TESTS += $(NSS_TESTS)
# A real sshd resolving a pseudonymous account (root, mount namespace).
TESTS += tests/nss/sshd_e2e.sh
EXTRA_DIST += tests/nss/sshd_e2e.sh
