# tests/packaging/lib.sh: sourced by deb.sh after tests/pam/lib.sh.

PKGS="libpam-nhi libnss-nhi nhi-tools"

pkg_need_tools() {
	t_missing=
	for c in dpkg-buildpackage dh dh_installnss lintian unshare; do
		command -v "$c" >/dev/null 2>&1 || t_missing="$t_missing $c"
	done
	[ -z "$t_missing" ] && return 0
	echo "1..0 # SKIP missing:$t_missing (scripts/deps test installs them)"
	exit 0
}

pkg_rm_work() {
	[ -n "${NHI_TEST_KEEP:-}" ] && return
	case "${W:-}" in
	/tmp/nhi-deb.*) rm -rf --one-file-system "$W" ;;
	esac
}

# pkg_build DIR: a distribution tree of the build directory in DIR, its
# packaging/debian as debian/, and the binary packages built from it into
# DIR. The tests of the tree run elsewhere, so nocheck.
pkg_build() {
	t_ver=$(dpkg-parsechangelog -l "$top_srcdir/packaging/debian/changelog" \
	    -S Version) || return 1
	t_src="$1/nhi-$t_ver"
	make -C "$top_builddir" distdir distdir="$t_src" >"$1/build.log" 2>&1 ||
		return 1
	cp -R "$t_src/packaging/debian" "$t_src/debian" || return 1
	(cd "$t_src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	    dpkg-buildpackage -us -uc -b) >>"$1/build.log" 2>&1
}

# pkg_deb DIR NAME: prints the path of package NAME built in DIR.
pkg_deb() {
	t_f=$(ls "$1/$2"_*.deb 2>/dev/null | head -n1)
	[ -n "$t_f" ] && echo "$t_f"
}

# Several paths in one package.
pkg_has_all() {
	t_d=$1 t_p=$2
	shift 2
	for t_f in "$@"; do
		pkg_has "$t_d" "$t_p" "$t_f" || return 1
	done
}

# pkg_has DIR NAME PATH: package NAME holds PATH (as dpkg-deb -c shows it).
pkg_has() {
	dpkg-deb -c "$(pkg_deb "$1" "$2")" | awk '{ print $6 }' | grep -qxF "$3"
}

# The profile adds pam_nhi to the account and session stacks and to no
# other, and with nothing but the module's name: it reads /etc/nhi/nhi.conf.
pkg_profile_ok() {
	t_p=$(dpkg-deb --fsys-tarfile "$(pkg_deb "$1" libpam-nhi)" |
	    tar -xO ./usr/share/pam-configs/nhi) || return 1
	printf '%s\n' "$t_p" | grep -qx 'Account-Type: Additional' &&
	printf '%s\n' "$t_p" | grep -qx 'Session-Type: Additional' &&
	! printf '%s\n' "$t_p" | grep -qE '^(Auth|Password)' &&
	[ "$(printf '%s\n' "$t_p" | grep -cE '^[[:space:]]+required[[:space:]]+pam_nhi\.so$')" -eq 2 ]
}

pkg_nss_scripts_ok() {
	rm -rf "$1/nss.ctl"
	dpkg-deb -e "$(pkg_deb "$1" libnss-nhi)" "$1/nss.ctl" || return 1
	grep -q 'passwd:' "$1/nss.ctl/postinst" &&
	grep -q 'group:' "$1/nss.ctl/postinst" &&
	grep -q 'passwd:' "$1/nss.ctl/postrm" &&
	grep -q 'group:' "$1/nss.ctl/postrm" &&
	grep -q nsswitch.conf "$1/nss.ctl/preinst"
}

# What the install scenario must leave alone on the machine: checksums of
# nsswitch.conf, every file under /etc/pam.d, the dpkg status lines of
# the packages, and every path the packages would create.
host_state() {
	t_ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	sha256sum /etc/nsswitch.conf /etc/ld.so.cache
	find /etc/pam.d -type f | sort | xargs sha256sum
	ls -la /etc/pam.d
	for p in $PKGS; do
		dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n' \
		    "$p" 2>&1
	done
	for f in /etc/nhi /var/lib/nhi /var/log/nhi \
	    /usr/share/pam-configs/nhi "/lib/$t_ma/security/pam_nhi.so" \
	    "/lib/$t_ma/libnss_nhi.so.2" /usr/sbin/nhictl \
	    /lib/systemd/system/nhi-sync.timer; do
		[ -e "$f" ] && echo "present: $f"
	done
	grep -l nhi /var/lib/pam/* 2>/dev/null
	return 0
}

# sd_fake: what the maintainer scripts take for a running systemd, in
# this namespace only: a /run/systemd/system on the namespace's own /run
# (ns_setup mounts one; the machine's /run has a /run/systemd of its own
# that this one hides), and systemctl and deb-systemd-invoke in /usr/bin
# (the private overlay; dpkg runs the scripts with a PATH of its own)
# replaced by stand-ins that append their arguments to $T/sd.log.
sd_fake() {
	mountpoint -q /usr && mountpoint -q /run && [ ! -e /run/systemd ] ||
		return 1
	for t_c in systemctl deb-systemd-invoke; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$t_c" "$T/sd.log" \
		    >"/usr/bin/$t_c" || return 1
		chmod 755 "/usr/bin/$t_c"
	done
	: >"$T/sd.log"
	mkdir -p /run/systemd/system
}

# ovl_mount DIR...: each DIR becomes an overlay of itself with a private
# upper directory under $O, so writes land there and the machine's files
# stay as they are.
ovl_mount() {
	for d in "$@"; do
		mkdir -p "$O/up$d" "$O/work$d"
		mount -t overlay overlay \
		    -o "lowerdir=$d,upperdir=$O/up$d,workdir=$O/work$d" "$d" ||
			return 1
	done
}

ovl_umount() {
	for d in /var /usr /etc; do
		mountpoint -q "$d" && umount -l "$d" 2>/dev/null
	done
	return 0
}

pkg_inner_exit() {
	echo "$t_n $t_failed ${pkg_done:-0}" >"$NHI_DEB_DIR/tap"
	ns_cleanup
	ovl_umount
}

# pam.d line counts of pam_nhi in common-account and common-session.
pamd_count() {
	cat /etc/pam.d/common-account /etc/pam.d/common-session |
	    grep -c 'pam_nhi\.so'
}

# The passwd and group lines name nhi right after files, once.
nss_lines_ok() {
	[ "$(grep -cE '^(passwd|group):[[:space:]]+files nhi( |$)' \
	    /etc/nsswitch.conf)" -eq 2 ] &&
	[ "$(grep -E '^(passwd|group):' /etc/nsswitch.conf |
	    grep -o '\bnhi\b' | wc -l)" -eq 2 ]
}

stacks_ok() {
	[ "$(pamd_count)" -eq 2 ] && nss_lines_ok
}

# No decision line logged since the mark.
no_nhi_line() {
	[ "$(log_since | grep -c 'pam_nhi(')" -eq 0 ]
}

# A login that goes through the common stacks with no pam_nhi in them.
sshd_plain_login() {
	start_sshd && ssh_run carol carol "$PORT" -- echo shell-ran &&
	    grep -qx shell-ran "$T/out"
}

session_order_ok() {
	grep -E 'pam_(nhi|unix)\.so' /etc/pam.d/common-session | head -n1 |
	    grep -q pam_nhi
}

pkg_status() {
	dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null
}

# Every path the packages own or make, none of them left.
nothing_left() {
	t_ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	t_left=
	for f in /etc/nhi /var/lib/nhi /var/log/nhi \
	    /usr/share/pam-configs/nhi "/lib/$t_ma/security/pam_nhi.so" \
	    "/lib/$t_ma/libnss_nhi.so.2" /usr/sbin/nhictl \
	    /lib/systemd/system/nhi-sync.service \
	    /lib/systemd/system/nhi-sync.timer \
	    /etc/systemd/system/timers.target.wants/nhi-sync.timer \
	    /usr/share/doc/nhi-tools /usr/share/doc/libpam-nhi \
	    /usr/share/doc/libnss-nhi /etc/nsswitch.conf.nss.libnss-nhi-will-install; do
		[ -e "$f" ] || [ -L "$f" ] && t_left="$t_left $f"
	done
	for p in $PKGS; do
		[ -n "$(pkg_status "$p")" ] && t_left="$t_left dpkg:$p"
		ls /var/lib/dpkg/info/"$p".* /var/lib/dpkg/info/"$p":* \
		    >/dev/null 2>&1 && t_left="$t_left info:$p"
	done
	[ -z "$t_left" ] && return 0
	echo "# left behind:$t_left"
	return 1
}

# Names with "nhi" in the overlays' upper directories: all that dpkg and
# the maintainer scripts wrote is there, so this is what they left.
upper_left() {
	t_l=$(find "$O/up" \( -name '*nhi*' -o -path '*/nhi/*' \) 2>/dev/null)
	t_l2=$(grep -rlw nhi "$O/up/etc" 2>/dev/null | grep -v '/etc/ld.so.cache$')
	[ -z "$t_l$t_l2" ] && return 0
	printf '%s\n%s\n' "$t_l" "$t_l2" | sed '/^$/d; s/^/# left: /'
	return 1
}

debs() {
	for p in $PKGS; do
		pkg_deb "$NHI_DEB_DIR" "$p"
	done
}

# The part in the namespace. Its TAP lines continue the outer numbering;
# the count goes back through $NHI_DEB_DIR/tap.
pkg_inner() {
	t_n=$NHI_TAP_N
	O="$NHI_DEB_DIR/ovl"
	trap pkg_inner_exit EXIT
	trap 'exit 1' INT TERM
	check "/etc, /usr and /var are private overlays" ovl_mount /etc /usr /var
	mountpoint -q /var || return 1
	ns_setup
	trap pkg_inner_exit EXIT
	cp /etc/nsswitch.conf "$T/nsswitch.before"
	(cd /etc/pam.d && sha256sum ./*) >"$T/pamd.before"
	export DEBIAN_FRONTEND=noninteractive

	# Install: the maintainer scripts enable the profile and the NSS lines.
	# shellcheck disable=SC2046
	dpkg -i $(debs) >"$T/dpkg.out" 2>&1
	check "dpkg -i installs the three packages" test $? -eq 0
	diag_file "$T/dpkg.out" 10
	for p in $PKGS; do
		check "$p is installed" test "$(pkg_status "$p")" = "ii "
	done
	check "postinst put pam_nhi in common-account and common-session" \
	    test "$(pamd_count)" -eq 2
	pam-auth-update --package >"$T/pau.out" 2>&1
	check "pam-auth-update --package: enabled once, no duplicate line" \
	    test "$(pamd_count)" -eq 2
	check "account: pam_nhi after the primary block, required" \
	    grep -qE '^account[[:space:]]+required[[:space:]]+pam_nhi\.so' \
	    /etc/pam.d/common-account
	check "session: pam_nhi before pam_unix" session_order_ok
	check "nsswitch.conf: nhi right after files in passwd and group" \
	    nss_lines_ok
	check "/var/log/nhi is root:adm 2750, /var/lib/nhi root:root 0755" \
	    sh -c '[ "$(stat -c "%U:%G %a" /var/log/nhi)" = "root:adm 2750" ] &&
	    [ "$(stat -c "%U:%G %a" /var/lib/nhi)" = "root:root 755" ]'
	check "/etc/nhi/nhi.conf is root's, 0644" \
	    test "$(stat -c '%U %a' /etc/nhi/nhi.conf)" = "root 644"
	check "the sync timer is installed but not enabled before nhi.conf is" \
	    sh -c '[ -f /lib/systemd/system/nhi-sync.timer ] &&
	    [ ! -e /etc/systemd/system/timers.target.wants/nhi-sync.timer ]'

	# The sshd scenario with the installed module and tools.
	NHICTL=/usr/sbin/nhictl
	add_user deploy 2301
	add_user carol 2302
	for k in alice mallory carol; do
		make_key $k
	done
	cat "$T/keys/alice.pub" "$T/keys/mallory.pub" \
	    >"$T/home/deploy/.ssh/authorized_keys"
	cat "$T/keys/carol.pub" >"$T/home/carol/.ssh/authorized_keys"
	nhi_init deploy
	# The admin edits the conffile: the indexes go to /var/lib/nhi,
	# where the installed NSS module reads them.
	grep -v -e '^state_dir' -e '^log_dir' "$CONF" >/etc/nhi/nhi.conf
	CONF=/etc/nhi/nhi.conf
	nhi_bind alice deploy alice --ssh-key "$T/keys/alice.pub" \
	    --services sshd --valid-for 15m
	"$NHICTL" issue account --key "$N/issuer.key" --name nhi-7f3a2c \
	    --uid 70001 --gid 70001 --owner alice \
	    --description "build robot" >"$N/stmt/account" ||
		echo "# nhictl issue account failed"
	nhi_publish
	diag_file "$N/sync.out" 5
	check "nhictl sync installs the indexes in /var/lib/nhi" \
	    test -f /var/lib/nhi/pam.cdb -a -f /var/lib/nhi/nss.cdb
	check "nhictl status with the default config" \
	    sh -c '/usr/sbin/nhictl status >/dev/null'
	check "getent through nsswitch.conf names the owner" \
	    sh -c 'getent passwd nhi-7f3a2c | grep -q "^nhi-7f3a2c:x:70001:70001:.*alice"'
	check "the distribution's /etc/pam.d/sshd includes the common stacks" \
	    grep -q '^@include common-account' /etc/pam.d/sshd
	PORT=$(free_port)
	write_sshd_config $PORT
	check "sshd starts with the installed stack" start_sshd

	log_mark
	ssh_run alice deploy $PORT -- 'echo shell-ran; echo "owner=$NHI_OWNER"'
	check "bound key: the command runs, owner in the session" \
	    sh -c 'grep -qx shell-ran "$1" && grep -qx owner=alice "$1"' \
	    - "$T/out"
	check "bound key: session line from the installed module" \
	    log_has 'pam_nhi\(sshd:session\): result=allow' 'account=deploy' \
	    'owner=alice' 'reason=ok$'
	log_mark
	ssh_run mallory deploy $PORT -- echo shell-ran
	rc=$?
	check "unbound key: refused, client exit 254" \
	    sh -c '[ "$1" -eq 254 ] && ! grep -q shell-ran "$2"' - $rc "$T/out"
	check "unbound key: logged wrong-key" \
	    log_has 'pam_nhi\(sshd:session\): result=deny' 'reason=wrong-key'
	log_mark
	ssh_run carol carol $PORT -- echo shell-ran
	check "human account: login works" grep -qx shell-ran "$T/out"
	check "human account: no pam_nhi line" no_nhi_line
	stop_sshd
	check "the decision log is the adm group's to read, not to write" \
	    sh -c '[ "$(stat -c "%U:%G %a" /var/log/nhi/decisions.log)" = \
	    "root:adm 640" ]'

	# Upgrade in place (the same version again runs every upgrade path of
	# the maintainer scripts), with systemd as the scripts see it: a
	# /run/systemd/system of this namespace's own, and systemctl and
	# deb-systemd-invoke stand-ins that record their calls.
	check "systemd stand-ins in this namespace's /usr and /run" sd_fake
	# shellcheck disable=SC2046
	dpkg -i $(debs) >"$T/dpkg.out" 2>&1
	check "reinstalling over itself works" test $? -eq 0
	check "upgrade: the timer is restarted, not left stopped" \
	    grep -Eq "^deb-systemd-invoke restart .*nhi-sync.timer" "$T/sd.log"
	check "upgrade: nothing stops it without starting it again" \
	    sh -c '! grep -q "^deb-systemd-invoke stop" "$1"' - "$T/sd.log"
	check "after the upgrade: one line per stack, nhi once per database" \
	    stacks_ok
	check "after the upgrade: the edited nhi.conf is kept" \
	    grep -q '^govern_users = deploy' /etc/nhi/nhi.conf

	# Remove: no stack line, no NSS entry, logins still work.
	: >"$T/sd.log"
	dpkg -r $PKGS >"$T/dpkg.out" 2>&1
	check "dpkg -r removes the three packages" test $? -eq 0
	check "remove: the timer is stopped" \
	    grep -Eq "^deb-systemd-invoke stop .*nhi-sync.timer" "$T/sd.log"
	rm -rf /run/systemd
	check "after remove: no pam_nhi line in any stack" \
	    sh -c '! grep -rq pam_nhi /etc/pam.d'
	check "after remove: nsswitch.conf is as before the install" \
	    cmp -s "$T/nsswitch.before" /etc/nsswitch.conf
	check "after remove: the conffile and the state stay until purge" \
	    test -f /etc/nhi/nhi.conf -a -f /var/lib/nhi/pam.cdb
	check "after remove: sshd with the common stacks still logs in" \
	    sshd_plain_login
	stop_sshd

	# Reinstall over the removed-not-purged state, then purge.
	# shellcheck disable=SC2046
	dpkg -i $(debs) >"$T/dpkg.out" 2>&1
	check "reinstall after remove enables the profile and NSS again" \
	    stacks_ok
	dpkg -P $PKGS >"$T/dpkg.out" 2>&1
	check "dpkg -P purges the three packages" test $? -eq 0
	diag_file "$T/dpkg.out" 10
	check "after purge: pam.d is byte for byte as before the install" \
	    sh -c 'cd /etc/pam.d && sha256sum -c --quiet "$1"' - "$T/pamd.before"
	check "after purge: nsswitch.conf is as before the install" \
	    cmp -s "$T/nsswitch.before" /etc/nsswitch.conf
	check "after purge: no file, directory, link or dpkg record is left" \
	    nothing_left
	check "after purge: nothing named nhi is left in the overlays" \
	    upper_left
	pkg_done=1
}
