#!/bin/sh
# deb.sh: the Debian packages end to end.
#
# Builds libpam-nhi, libnss-nhi and nhi-tools from a distribution tree with
# dpkg-buildpackage, runs lintian and checks what each package holds. Then,
# as root, installs them in a private mount namespace whose /etc, /usr and
# /var are overlays with private upper directories, so that dpkg,
# pam-auth-update and the maintainer scripts change copies only: enables
# the PAM profile, logs in through a real sshd using the installed module
# and the distribution's /etc/pam.d/sshd, resolves a pseudonymous account
# through the installed nsswitch.conf, upgrades, removes, reinstalls and
# purges, and checks that nothing is left. Outside the namespace the
# machine's nsswitch.conf, pam.d and dpkg database are compared before and
# after.
. "$top_srcdir/tests/pam/lib.sh"
. "$top_srcdir/tests/packaging/lib.sh"

if [ -n "${NHI_PACKAGE_BUILD:-}" ]; then
	echo "1..0 # SKIP run from inside a package build of nhi"
	exit 0
fi
if [ -n "${NHI_IN_NS:-}" ]; then
	pkg_inner
	exit $?
fi
pkg_need_tools

W=$(mktemp -d /tmp/nhi-deb.XXXXXX)
chmod 755 "$W"
trap 'pkg_rm_work' EXIT
trap 'exit 1' INT TERM

# --- build ---------------------------------------------------------------
t0=$(date +%s)
check "dpkg-buildpackage builds the packages from the distribution tree" \
    pkg_build "$W"
t1=$(date +%s)
echo "# build took $((t1 - t0))s"
for p in libpam-nhi libnss-nhi nhi-tools; do
	check "$p was built" pkg_deb "$W" "$p"
done
if [ "$t_failed" -gt 0 ]; then
	diag_file "$W/build.log" 40
	done_testing
	exit 1
fi

# lintian: errors fail the test; warnings are printed as diagnostics.
lintian --fail-on error "$W"/nhi_*.changes >"$W/lintian.out" 2>&1
rc=$?
check "lintian reports no errors" test "$rc" -eq 0
sed 's/^/# lintian: /' "$W/lintian.out"
echo "# lintian took $(($(date +%s) - t1))s"

# --- contents ------------------------------------------------------------
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "libpam-nhi: pam_nhi.so in the multiarch security directory" \
    pkg_has "$W" libpam-nhi "./lib/$ma/security/pam_nhi.so"
check "libpam-nhi: the pam-auth-update profile" \
    pkg_has "$W" libpam-nhi ./usr/share/pam-configs/nhi
check "libpam-nhi: pam_nhi(8)" \
    pkg_has "$W" libpam-nhi ./usr/share/man/man8/pam_nhi.8.gz
check "libnss-nhi: libnss_nhi.so.2 beside libc" \
    pkg_has "$W" libnss-nhi "./lib/$ma/libnss_nhi.so.2"
check "libnss-nhi: libnss_nhi(8)" \
    pkg_has "$W" libnss-nhi ./usr/share/man/man8/libnss_nhi.8.gz
check "nhi-tools: nhictl in /usr/sbin" \
    pkg_has "$W" nhi-tools ./usr/sbin/nhictl
check "nhi-tools: nhictl(8) and nhi.conf(5)" pkg_has_all "$W" nhi-tools \
    ./usr/share/man/man8/nhictl.8.gz ./usr/share/man/man5/nhi.conf.5.gz
check "nhi-tools: /etc/nhi/nhi.conf is a conffile" \
    sh -c 'dpkg-deb -I "$1" conffiles | grep -qx /etc/nhi/nhi.conf' - \
    "$(pkg_deb "$W" nhi-tools)"
check "nhi-tools: /var/lib/nhi and /var/log/nhi" pkg_has_all "$W" \
    nhi-tools ./var/lib/nhi/ ./var/log/nhi/
check "nhi-tools: the sync service and timer" pkg_has_all "$W" \
    nhi-tools ./lib/systemd/system/nhi-sync.service \
    ./lib/systemd/system/nhi-sync.timer
check "libpam-nhi: the profile has account and session lines only" \
    pkg_profile_ok "$W"
check "libnss-nhi: postinst and postrm edit the passwd and group lines" \
    pkg_nss_scripts_ok "$W"

# The archives built into the modules are named with their source
# versions, so a security update of one shows which package to rebuild.
built_using() {
	dpkg-query -W -f='${source:Package} (= ${source:Version})\n' "$@" |
	    sort | tr '\n' ';'
}
field_sorted() {
	dpkg-deb -f "$(pkg_deb "$W" "$1")" Built-Using | sed 's/, /\n/g' |
	    sort | tr '\n' ';'
}
is "libpam-nhi: Built-Using names json-c, libsodium and tinycdb" \
    "$(built_using libjson-c-dev libsodium-dev libcdb-dev)" \
    "$(field_sorted libpam-nhi)"
is "libnss-nhi: Built-Using names tinycdb" "$(built_using libcdb-dev)" \
    "$(field_sorted libnss-nhi)"
mkdir -p "$W/pam"
dpkg-deb -x "$(pkg_deb "$W" libpam-nhi)" "$W/pam"
is "libpam-nhi: pam_nhi.so needs no shared json-c, libsodium or tinycdb" \
    "" "$(readelf -d "$W/pam/lib/$ma/security/pam_nhi.so" |
    grep -e 'NEEDED.*json' -e 'NEEDED.*sodium' -e 'NEEDED.*libcdb')"

# The shipped nhi.conf goes through the real parser of the packaged
# nhictl, which refuses an unknown key or a bad value.
mkdir -p "$W/x"
dpkg-deb -x "$(pkg_deb "$W" nhi-tools)" "$W/x"
if [ "$(id -u)" -eq 0 ]; then
	"$W/x/usr/sbin/nhictl" check --config "$W/x/etc/nhi/nhi.conf" \
	    --service sshd --user root >"$W/conf.out" 2>&1
	rc=$?
	check "the shipped nhi.conf parses and governs no local account" \
	    sh -c '[ "$1" -eq 0 ] && grep -q "reason=not-governed" "$2"' \
	    - $rc "$W/conf.out"
	diag_file "$W/conf.out" 5
	printf 'mode = audit\nbogus_key = 1\n' >"$W/bad.conf"
	chmod 644 "$W/bad.conf"
	"$W/x/usr/sbin/nhictl" check --config "$W/bad.conf" \
	    --service sshd --user root >/dev/null 2>&1
	check "a bad nhi.conf is refused (the check above can fail)" \
	    test $? -eq 2
fi

# --- install, use, upgrade, remove, purge (root, in a namespace) ---------
if [ "$(id -u)" -ne 0 ]; then
	echo "ok $((t_n + 1)) # SKIP installing the packages needs root"
	t_n=$((t_n + 1))
	done_testing
	exit $?
fi

host_state >"$W/host.before"
NHI_IN_NS=1 NHI_DEB_DIR="$W" NHI_TAP_N=$t_n \
    unshare -m --propagation private /bin/sh "$(readlink -f "$0")"
inner_done=0
if [ -f "$W/tap" ]; then
	read -r t_n inner_failed inner_done <"$W/tap"
	t_failed=$((t_failed + inner_failed))
fi
check "the install scenario ran to its end" test "$inner_done" -eq 1
host_state >"$W/host.after"
check "the machine's nsswitch.conf, pam.d, dpkg status and files are untouched" \
    cmp -s "$W/host.before" "$W/host.after"
diff "$W/host.before" "$W/host.after" | sed 's/^/# /' | head -n 20
echo "# whole test took $(($(date +%s) - t0))s"
done_testing
