#!/bin/sh
# rpm.sh: packaging/rpm/nhi.spec parses with rpmspec -P and builds with
# rpmbuild (Debian's rpm package, so without BuildRequires checks and
# without %check, whose tests run in this tree already); each package
# holds its files where Fedora and RHEL expect them.
. "$top_srcdir/tests/pam/lib.sh"

if [ -n "${NHI_PACKAGE_BUILD:-}" ]; then
	echo "1..0 # SKIP run from inside a package build of nhi"
	exit 0
fi
for c in rpmspec rpmbuild; do
	if ! command -v $c >/dev/null 2>&1; then
		echo "1..0 # SKIP missing: $c (scripts/deps test installs rpm)"
		exit 0
	fi
done

W=$(mktemp -d /tmp/nhi-rpm.XXXXXX)
trap '[ -n "${NHI_TEST_KEEP:-}" ] || rm -rf --one-file-system "$W"' EXIT
trap 'exit 1' INT TERM
spec="$top_srcdir/packaging/rpm/nhi.spec"

rpmspec -P "$spec" >"$W/parsed" 2>"$W/parsed.err"
check "rpmspec -P parses the spec" test $? -eq 0
diag_file "$W/parsed.err" 5
check "no macro is left unexpanded in the build and install steps" \
    sh -c '! sed -n "/^%build/,/^%files/p" "$1" | grep -q "%{"' - "$W/parsed"
ver=$(rpmspec -q --qf '%{version}\n' "$spec" 2>/dev/null | head -n1)
check "the spec's version is the tree's" \
    sh -c 'grep -q "^PACKAGE_VERSION = $1\$" "$2/Makefile"' - "$ver" \
    "$top_builddir"

t0=$(date +%s)
mkdir -p "$W/top/SOURCES"
t_src="$W/nhi-$ver"
make -C "$top_builddir" distdir distdir="$t_src" >"$W/build.log" 2>&1 &&
    tar -C "$W" -czf "$W/top/SOURCES/nhi-$ver.tar.gz" "nhi-$ver" &&
    rpmbuild --define "_topdir $W/top" --nodeps --nocheck -bb "$spec" \
    >>"$W/build.log" 2>&1
rc=$?
check "rpmbuild builds the packages" test $rc -eq 0
[ $rc -eq 0 ] || diag_file "$W/build.log" 30
echo "# rpmbuild took $(($(date +%s) - t0))s"

# has PACKAGE PATH [MODE]: the built package holds PATH (with MODE).
has() {
	t_r=$(ls "$W"/top/RPMS/*/"$1"-"$ver"-*.rpm 2>/dev/null | head -n1)
	[ -n "$t_r" ] || return 1
	rpm -qlvp "$t_r" 2>/dev/null | awk '{ print $1, $NF }' >"$W/list"
	if [ -n "${3:-}" ]; then
		grep -qx "$3 $2" "$W/list"
	else
		grep -q " $2\$" "$W/list"
	fi
}
check "pam_nhi: pam_nhi.so in %{_libdir}/security" \
    has pam_nhi /usr/lib64/security/pam_nhi.so
check "nss_nhi: libnss_nhi.so.2 in %{_libdir}" \
    has nss_nhi /usr/lib64/libnss_nhi.so.2
check "nhi-tools: nhictl, the units, nhi.conf" sh -c '
    for f in /usr/sbin/nhictl /usr/lib/systemd/system/nhi-sync.timer \
	/usr/lib/systemd/system/nhi-sync.service /etc/nhi/nhi.conf; do
	rpm -qlp "$1"/top/RPMS/*/nhi-tools-*.rpm 2>/dev/null | grep -qx "$f" ||
	    exit 1
    done' - "$W"
check "nhi-tools: /var/lib/nhi 0755 and /var/log/nhi 0750" sh -c '
    l=$(rpm -qlvp "$1"/top/RPMS/*/nhi-tools-*.rpm 2>/dev/null)
    echo "$l" | grep -q "^drwxr-xr-x .* /var/lib/nhi\$" &&
    echo "$l" | grep -q "^drwxr-x--- .* /var/log/nhi\$"' - "$W"
# As Fedora builds them: no PIC archive is linked in (its tinycdb-devel
# ships none), so the modules load the shared libraries.
check "nss_nhi: libnss_nhi.so.2 links the shared libcdb" sh -c '
    mkdir -p "$1/x" &&
    rpm2archive - <"$(ls "$1"/top/RPMS/*/nss_nhi-[0-9]*.rpm)" |
    tar -xzf - -C "$1/x" &&
    readelf -d "$1/x/usr/lib64/libnss_nhi.so.2" |
    grep -q "NEEDED.*libcdb.so"' \
    - "$W"
check "nhi-tools: nhi.conf is a config file that an edit survives" sh -c '
    rpm -qp --qf "[%{FILENAMES} %{FILEFLAGS:fflags}\n]" \
	"$1"/top/RPMS/*/nhi-tools-*.rpm 2>/dev/null |
    grep -qx "/etc/nhi/nhi.conf cn"' - "$W"
done_testing
