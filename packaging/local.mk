# Packaging: the Debian source package (packaging/debian, used as debian/),
# the RPM spec, the systemd units and the example /etc/nhi/nhi.conf travel
# in the distribution tree. tests/packaging/deb.sh builds the Debian
# packages from that tree and installs them in a private namespace.
EXTRA_DIST += packaging/nhi.conf.example packaging/debian packaging/rpm \
	packaging/systemd/nhi-sync.service.in packaging/systemd/nhi-sync.timer

# The service names nhictl where this build installs it.
if INSTALL_UNITS
systemdsystemunit_DATA = packaging/systemd/nhi-sync.service \
	packaging/systemd/nhi-sync.timer
endif
packaging/systemd/nhi-sync.service: \
		$(srcdir)/packaging/systemd/nhi-sync.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    $(srcdir)/packaging/systemd/nhi-sync.service.in >$@.tmp && \
	mv $@.tmp $@
CLEANFILES += packaging/systemd/nhi-sync.service

PACKAGING_TESTS = tests/packaging/install.sh tests/packaging/deb.sh \
	tests/packaging/rpm.sh
TESTS += $(PACKAGING_TESTS)
EXTRA_DIST += $(PACKAGING_TESTS) tests/packaging/lib.sh
