# pam_nhi.so: a libtool module exporting only its pam_sm_* entry points.
pammod_LTLIBRARIES += pam_nhi/pam_nhi.la
pam_nhi_pam_nhi_la_SOURCES = pam_nhi/pam_nhi.c
pam_nhi_pam_nhi_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
pam_nhi_pam_nhi_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-no-undefined -Wl,--version-script=$(srcdir)/pam_nhi/pam_nhi.map \
	-Wl,--gc-sections $(PAM_DEPS_LDFLAGS)
pam_nhi_pam_nhi_la_LIBADD = common/libnhicore.la $(PAM_DEPS_LIBS) \
	$(AUDIT_LIBS) $(PAM_LIBS)
EXTRA_pam_nhi_pam_nhi_la_DEPENDENCIES = pam_nhi/pam_nhi.map
EXTRA_DIST += pam_nhi/pam_nhi.map

# Tests of the module and of its parts in common/.
PAM_UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests/unit
PAM_UNIT_TESTS = \
	tests/pam/check_authinfo \
	tests/pam/check_logline \
	tests/pam/check_pam
check_PROGRAMS += $(PAM_UNIT_TESTS) tests/pam/logsink
TESTS += $(PAM_UNIT_TESTS)

# Real sshd, su and sudo in mount namespaces (root; skipped otherwise).
PAM_SHELL_TESTS = \
	tests/pam/harness.sh \
	tests/pam/sshd.sh \
	tests/pam/sshd_modes.sh \
	tests/pam/su_sudo.sh
TESTS += $(PAM_SHELL_TESTS)
EXTRA_DIST += $(PAM_SHELL_TESTS) tests/pam/lib.sh

tests_pam_check_authinfo_SOURCES = tests/pam/check_authinfo.c
tests_pam_check_authinfo_CFLAGS = $(PAM_UNIT_CFLAGS)
tests_pam_check_authinfo_LDADD = $(NHICORE_LIBS) $(CHECK_LIBS)
tests_pam_check_logline_SOURCES = tests/pam/check_logline.c
tests_pam_check_logline_CFLAGS = $(PAM_UNIT_CFLAGS)
tests_pam_check_logline_LDADD = $(NHICORE_LIBS) $(CHECK_LIBS)
tests_pam_logsink_SOURCES = tests/pam/logsink.c
tests_pam_check_pam_SOURCES = tests/pam/check_pam.c
tests_pam_check_pam_CFLAGS = $(PAM_UNIT_CFLAGS) $(PAM_CFLAGS) \
	-DPAM_NHI_SO='"$(abs_top_builddir)/pam_nhi/.libs/pam_nhi.so"'
tests_pam_check_pam_LDADD = $(NHICORE_LIBS) $(CHECK_LIBS) $(PAM_LIBS)

# A PAM module directory holds modules only: no libtool archive. The
# uninstall rule removes the module itself, which libtool would find
# through the archive.
install-data-hook: install-pam-nhi
install-pam-nhi:
	rm -f $(DESTDIR)$(pammoddir)/pam_nhi.la
uninstall-hook: uninstall-pam-nhi
uninstall-pam-nhi:
	rm -f $(DESTDIR)$(pammoddir)/pam_nhi.so
.PHONY: install-pam-nhi uninstall-pam-nhi
