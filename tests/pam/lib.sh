# tests/pam/lib.sh: sourced by the integration tests of pam_nhi.
#
# Each test script calls ns_enter "$@" first: as root it re-runs itself in
# a private mount namespace (unshare -m) where it gets its own copies of
# /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow, /etc/pam.d and
# /etc/sudoers, its own /run and its own /dev with a /dev/log socket whose
# messages land in $T/syslog. The machine's files are never written: users
# are added to the copies, PAM files are written into the copied pam.d.
# Every process a test starts is stopped by its pid on exit.
#
# Output is TAP: ok/not_ok print one line each; the plan comes last.

. "$top_srcdir/tests/tap.sh"
t_pids=

# Prints a file into the TAP stream as diagnostics (after a failure).
diag_file() {
	[ -f "$1" ] || return 0
	sed 's/^/# /' "$1" | tail -n "${2:-20}"
}

ns_enter() {
	if [ -n "${NHI_IN_NS:-}" ]; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "1..0 # SKIP needs root: mount namespaces, sshd, su and sudo"
		exit 0
	fi
	NHI_IN_NS=1 exec unshare -m --propagation private /bin/sh \
	    "${NHI_SELF:-$(readlink -f "$0")}" "$@"
}

# Starts a command in the background and remembers its pid for cleanup.
bg_start() {
	"$@" &
	t_pids="$t_pids $!"
	t_last_pid=$!
}

bg_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	t_pids=$(echo "$t_pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

ns_cleanup() {
	for p in $t_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	t_pids=
	# The namespace's mounts go with its last process; unmount the ones
	# under $T first so that rm does not walk into the real /dev.
	umount -R "$T/hostdev" 2>/dev/null
	if mountpoint -q "$T/hostdev" 2>/dev/null; then
		echo "# $T/hostdev still mounted; leaving $T" >&2
		return
	fi
	[ -n "${NHI_TEST_KEEP:-}" ] && return
	case "$T" in /tmp/nhi-pam.*) rm -rf --one-file-system "$T" ;; esac
}

# Replaces /dev with a tmpfs holding only what the tests need, plus the
# syslog socket, so nothing is created in the machine's /dev.
ns_private_dev() {
	mkdir -p "$T/hostdev"
	mount --rbind /dev "$T/hostdev"
	mount -t tmpfs -o mode=755 tmpfs /dev
	for n in null zero full random urandom tty; do
		[ -e "$T/hostdev/$n" ] || continue
		: >"/dev/$n"
		mount --bind "$T/hostdev/$n" "/dev/$n"
	done
	# A devpts instance of our own: ptys for script(1) and ssh -t.
	mkdir /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
	ln -s pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777 tmpfs /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	: >"$T/syslog"
	bg_start "$top_builddir/tests/pam/logsink" /dev/log "$T/syslog"
	i=0
	while [ ! -S /dev/log ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

ns_setup() {
	: "${top_builddir:?}" "${top_srcdir:?}"
	T=$(mktemp -d /tmp/nhi-pam.XXXXXX)
	chmod 755 "$T"
	trap ns_cleanup EXIT
	trap 'exit 1' INT TERM
	mkdir -p "$T/etc" "$T/home" "$T/pam.d"
	for f in passwd group shadow gshadow; do
		cp -p "/etc/$f" "$T/etc/$f"
		mount --bind "$T/etc/$f" "/etc/$f"
	done
	cp -p /etc/pam.d/* "$T/pam.d/"
	mount --bind "$T/pam.d" /etc/pam.d
	if [ -f /etc/sudoers ]; then
		printf 'root ALL=(ALL:ALL) ALL\n' >"$T/etc/sudoers"
		chmod 0440 "$T/etc/sudoers"
		mount --bind "$T/etc/sudoers" /etc/sudoers
	fi
	mount -t tmpfs -o mode=755 tmpfs /run
	mkdir -m 755 /run/sshd
	mkdir -m 711 /run/sudo
	[ -d /var/lib/sudo ] && mount -t tmpfs -o mode=700 tmpfs /var/lib/sudo
	ns_private_dev
	PAM_NHI_SO="$top_builddir/pam_nhi/.libs/pam_nhi.so"
	NHICTL="$top_builddir/nhictl/nhictl"
}

# add_user NAME UID: a local user in the namespace's copies only.
add_user() {
	printf '%s:x:%s:%s:test user %s:%s:/bin/sh\n' "$1" "$2" "$2" "$1" \
	    "$T/home/$1" >>/etc/passwd
	printf '%s:x:%s:\n' "$1" "$2" >>/etc/group
	printf '%s:*:19000:0:99999:7:::\n' "$1" >>/etc/shadow
	printf '%s:!::\n' "$1" >>/etc/gshadow
	mkdir -p "$T/home/$1/.ssh"
	chown -R "$2:$2" "$T/home/$1"
	chmod 700 "$T/home/$1/.ssh"
}

# as USER CMD...: runs CMD as USER with no PAM service of its own.
as() {
	t_u=$1
	shift
	setpriv --reuid="$t_u" --regid="$t_u" --init-groups --reset-env "$@"
}

# A user's key pair in $T/keys/NAME (private) and NAME.pub.
make_key() {
	mkdir -p "$T/keys"
	ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$T/keys/$1"
}

# write_sshd_config PORT [EXTRA LINES]: a private sshd on 127.0.0.1.
write_sshd_config() {
	[ -f "$T/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key"
	cat >"$T/sshd_config" <<EOF
Port $1
ListenAddress 127.0.0.1
HostKey $T/ssh_host_ed25519_key
PidFile none
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $T/home/%u/.ssh/authorized_keys
StrictModes no
PrintMotd no
UseDNS no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
	shift
	for l in "$@"; do
		printf '%s\n' "$l" >>"$T/sshd_config"
	done
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, so tests that
# run at the same time (make -j) never meet each other's servers.
free_port() {
	while :; do
		t_p=$(( $(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000 ))
		if [ -z "$(ss -Htln "sport = :$t_p" 2>/dev/null)" ]; then
			echo "$t_p"
			return 0
		fi
	done
}

# The ASan runtime, when the module under test is a sanitizer build: the
# program loading it must have the runtime first. sshd gets it through
# LD_PRELOAD; the loader ignores that in setuid su and sudo, which get it
# through this namespace's own /etc/ld.so.preload instead (san_as).
san_preload() {
	if readelf -d "$PAM_NHI_SO" 2>/dev/null | grep -q 'NEEDED.*libasan'
	then
		${CC:-cc} -print-file-name=libasan.so
	fi
}

# san_env LOG: the sanitizer settings, as env arguments, for a program
# that loads the module. Leaks are the program's own business; errors in
# the module are reported for san_check to turn into a failed test point:
# ASan's in LOG.PID, UBSan's in syslog (see san_check). sshd overwrites
# the memory that /proc/self/environ shows (setproctitle) before UBSan's
# runtime, which starts at its first report, reads it from there, so in
# sshd UBSan keeps its defaults and writes to sshd's stderr only, which
# start_sshd sends to a file for stop_sshd to look through.
san_env() {
	echo "ASAN_OPTIONS=detect_leaks=0:log_path=$1" \
	    "UBSAN_OPTIONS=print_stacktrace=1:log_to_syslog=1:log_path=$1"
}

# san_check DESC LOG: in a sanitizer build, one test point that fails
# when a sanitizer reported an error since the last san_check, showing
# the head of each report (the error, where, in which program). ASan's
# reports are in LOG.PID, removed here. UBSan beside ASan writes to
# stderr whatever its log_path says (GCC PR 94328: the call that sets it
# is bound to libasan's copy), so its reports are taken from the test's
# syslog, where log_to_syslog sends them too.
san_check() {
	[ -n "${san:-}" ] || return 0
	t_ub=
	if [ -f "$T/syslog" ]; then
		t_ub=$(tail -n +"$((${san_mark:-0} + 1))" "$T/syslog" |
		    grep -E -A8 ': runtime error: ')
		san_mark=$(wc -l <"$T/syslog")
	fi
	if ! ls "$2".* >/dev/null 2>&1 && [ -z "$t_ub" ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1" "sanitizer reports:"
	for t_f in "$2".*; do
		[ -f "$t_f" ] && head -n 12 "$t_f" | sed 's/^/# /'
	done
	printf '%s\n' "$t_ub" | head -n 40 | sed 's/^/# /'
	rm -f "$2".*
}

# san_setuid_init: prepares san_as in a sanitizer build (nothing to do
# in a normal one). glibc's loader ignores LD_PRELOAD in setuid programs
# but reads /etc/ld.so.preload in them too; the machine has none, and a
# test must not write one there. So /etc becomes an overlay of itself
# whose changes land in $T/etc.upper and go with the namespace; the
# mounts ns_setup put on files under /etc are bound on top again.
san_setuid_init() {
	san=$(san_preload)
	[ -n "$san" ] || return 0
	mkdir -p "$T/etc.upper" "$T/etc.work" /run/nhi-etc || return 1
	mount -t overlay -o \
	    "lowerdir=/etc,upperdir=$T/etc.upper,workdir=$T/etc.work" \
	    overlay /run/nhi-etc || return 1
	for t_m in $(findmnt -rn -o TARGET); do
		case $t_m in
		/etc/*)
			mount --bind "$t_m" "/run/nhi-etc/${t_m#/etc/}" ||
				return 1
			;;
		esac
	done
	mount --move /run/nhi-etc /etc || return 1
	mkdir -m 1777 "$T/san"
	san_etc_is_private
}

# Whether /etc is the overlay san_setuid_init made, in a namespace of our
# own: the one condition under which /etc/ld.so.preload may be written.
san_etc_is_private() {
	[ -n "${NHI_IN_NS:-}" ] &&
	    [ "$(findmnt -n -o FSTYPE --mountpoint /etc)" = overlay ] &&
	    findmnt -n -o OPTIONS --mountpoint /etc |
	    grep -qF "upperdir=$T/etc.upper,"
}

# san_as USER CMD...: as, for a CMD that runs su or sudo. In a sanitizer
# build the runtime is named in /etc/ld.so.preload only while CMD runs
# (the test's own tools have no use for it), so that it comes first in
# su, sudo and what they start; the settings go into CMD's environment,
# as setpriv clears the caller's (a setuid program's secure mode drops
# LD_* variables, not these). Reports land in $T/san/log.PID, a folder
# open to all as su and sudo switch users, and in syslog (san_check).
san_as() {
	if [ -z "${san:-}" ]; then
		as "$@"
		return
	fi
	if ! san_etc_is_private; then
		echo "san_as: /etc is not this namespace's own" >&2
		return 125
	fi
	t_u=$1
	shift
	printf '%s\n' "$san" >/etc/ld.so.preload
	# shellcheck disable=SC2046
	as "$t_u" env $(san_env "$T/san/log") "$@"
	t_rc=$?
	rm -f /etc/ld.so.preload
	return $t_rc
}

start_sshd() {
	/usr/sbin/sshd -t -f "$T/sshd_config" || return 1
	: >"$T/sshd.log"
	san=$(san_preload)
	# UBSan in sshd writes to sshd's stderr only (see san_env): in a
	# sanitizer build that goes to a file stop_sshd looks through.
	t_err=${san:+$T/sshd.stderr}
	# shellcheck disable=SC2046
	bg_start env ${san:+LD_PRELOAD="$san"} ${san:+$(san_env "$T/asan")} \
	    /usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" \
	    2>>"${t_err:-/dev/stderr}"
	sshd_pid=$t_last_pid
	i=0
	while ! grep -q 'Server listening' "$T/sshd.log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.05
	done
}

stop_sshd() {
	[ -n "${sshd_pid:-}" ] && bg_stop "$sshd_pid"
	sshd_pid=
	# A UBSan report on sshd's stderr becomes one of san_check's reports.
	if [ -f "$T/sshd.stderr" ]; then
		if grep -q ': runtime error: ' "$T/sshd.stderr"; then
			mv "$T/sshd.stderr" "$T/asan.sshd-stderr"
		else
			rm -f "$T/sshd.stderr"
		fi
	fi
	san_check "sshd: no sanitizer report from the module" "$T/asan"
}

# ssh_run KEY USER PORT [ssh options...] -- CMD...: the client's output
# goes to $T/out, its status is returned.
ssh_run() {
	t_key=$1 t_user=$2 t_port=$3
	shift 3
	t_opts=
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		t_opts="$t_opts $1"
		shift
	done
	[ $# -gt 0 ] && shift
	# With no sshd of ours there is nothing to refuse a login: answer with
	# a status no check expects, so a refusal cannot pass by default.
	if [ -z "${sshd_pid:-}" ] || ! kill -0 "$sshd_pid" 2>/dev/null; then
		echo "ssh_run: this test's sshd is not running" >"$T/out"
		return 200
	fi
	# shellcheck disable=SC2086
	ssh -i "$T/keys/$t_key" -p "$t_port" -o BatchMode=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o LogLevel=ERROR -o ConnectTimeout=5 $t_opts \
	    "$t_user@127.0.0.1" "$@" >"$T/out" 2>&1 </dev/null
}

# Syslog lines logged since the last mark.
log_mark() {
	t_mark=$(wc -l <"$T/syslog")
}

log_since() {
	tail -n +"$((t_mark + 1))" "$T/syslog"
}

# log_has PATTERN...: every pattern (grep -E) matches one line logged
# since the mark. Messages reach the log through a socket, so a line may
# land a moment after the program that caused it has exited: wait up to
# two seconds for it.
log_has() {
	t_try=0
	while ! log_match "$@"; do
		t_try=$((t_try + 1))
		[ $t_try -ge 20 ] && return 1
		sleep 0.1
	done
}

log_match() {
	t_lines=$(log_since)
	for t_p in "$@"; do
		t_lines=$(printf '%s\n' "$t_lines" | grep -E -- "$t_p") ||
			return 1
	done
}

# --- nhi: keys, config, register, sync ------------------------------------

# nhi_init: an issuer key, a register key, $T/nhi/nhi.conf governing the
# accounts given as arguments, and an empty register installed.
nhi_init() {
	N="$T/nhi"
	mkdir -p "$N/state" "$N/stmt" "$N/log"
	chmod 700 "$N/state" "$N/log"
	"$NHICTL" keygen "$N/issuer" >/dev/null
	"$NHICTL" keygen "$N/register" >/dev/null
	CONF="$N/nhi.conf"
	cat >"$CONF" <<EOF2
register_url = file://$N/register.json
register_key = $(cut -d' ' -f2 "$N/register.pub")
host_name = testhost
govern_users = $(echo "$*" | sed 's/ /, /g')
clock_skew = 1s
state_dir = $N/state
log_dir = $N/log
passwd_file = $T/etc/passwd
group_file = $T/etc/group

[issuer ops]
key = $(cut -d' ' -f2 "$N/issuer.pub")
accounts = *
services = *
max_window = 1d
EOF2
	chmod 644 "$CONF"
	nhi_version=0
	nhi_publish
}

# nhi_bind NAME ACCOUNT OWNER (--ssh-key F | --user U) [issue options]:
# a signed binding "b-NAME" in $N/stmt/NAME, for host testhost unless
# --hosts is given, with ticket CHG-NAME.
nhi_bind() {
	t_name=$1 t_acct=$2 t_owner=$3
	shift 3
	case " $* " in
	*" --hosts "*) t_hosts= ;;
	*) t_hosts="--hosts testhost" ;;
	esac
	# shellcheck disable=SC2086
	"$NHICTL" issue binding --key "$N/issuer.key" --account "$t_acct" \
	    --owner "$t_owner" --approver approver --ticket "CHG-$t_name" \
	    --id "b-$t_name" $t_hosts "$@" >"$N/stmt/$t_name" ||
		echo "# nhictl issue $t_name failed" >&2
}

# nhi_publish [publish options]: every statement in $N/stmt, a new version,
# synced into the host's indexes.
nhi_publish() {
	nhi_version=$((nhi_version + 1))
	# shellcheck disable=SC2046
	"$NHICTL" publish --key "$N/register.key" --version "$nhi_version" \
	    --expires-in "${nhi_expires:-1h}" "$@" 2>"$N/publish.err" \
	    $(find "$N/stmt" -type f | sort) >"$N/register.json" ||
		echo "# nhictl publish failed" >&2
	"$NHICTL" sync --config "$CONF" >"$N/sync.out" 2>&1 ||
		{ echo "# nhictl sync failed:" >&2; diag_file "$N/sync.out" >&2; }
}

# The SHA256 fingerprint of a key file, as ssh-keygen prints it, with
# '+' bracketed so that it can be a grep -E pattern.
key_fp() {
	ssh-keygen -lf "$1" | cut -d' ' -f2 | sed 's/+/[+]/g'
}

# write_sshd_pam [MODULE ARGS]: integration (a): pam_nhi in the account
# and session stacks, first in each so no other module acts before it.
write_sshd_pam() {
	cat >/etc/pam.d/sshd <<EOF
auth     required $PAM_NHI_SO config=$CONF $*
auth     required pam_deny.so
account  required $PAM_NHI_SO config=$CONF $*
account  required pam_permit.so
session  required $PAM_NHI_SO config=$CONF $*
session  required pam_permit.so
password required pam_deny.so
EOF
}
