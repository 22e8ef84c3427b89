# Packaging: the Debian source package (packaging/debian, used as debian/),
# the RPM spec, the systemd units and the example /etc/nhi/nhi.conf travel
# in the distribution tree. tests/packaging/deb.sh builds the Debian
# packages from that tree and installs them in a private namespace.
EXTRA_DIST += packaging/nhi.conf.example packaging/debian packaging/rpm \
	packaging/systemd

PACKAGING_TESTS = tests/packaging/deb.sh tests/packaging/rpm.sh
TESTS += $(PACKAGING_TESTS)
EXTRA_DIST += $(PACKAGING_TESTS) tests/packaging/lib.sh
