#!/bin/sh
# auditd.sh: the audit trail with a real auditd (private config and log
# file) and a real sshd in a mount namespace. A login to a governed
# account with a bound key runs a command; one `ausearch --session N`
# returns the nhi record naming owner and ticket together with the
# command's execve. A refused login is in `aureport --anomaly`, a sync is a
# USYS_CONFIG record, the decision log holds and verifies it all, and with
# auditd stopped a login is still allowed unless require_audit = yes.
# The kernel's audit flag is restored and auditd stopped by its pid.
. "$top_srcdir/tests/pam/lib.sh"
for p in auditd auditctl ausearch aureport; do
	command -v $p >/dev/null 2>&1 || [ -x /usr/sbin/$p ] || {
		echo "1..0 # SKIP $p is not installed"
		exit 0
	}
done
PATH=$PATH:/usr/sbin:/sbin
ns_enter "$@"
if [ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" != 0 ]; then
	echo "1..0 # SKIP an audit daemon is already running; not replacing it"
	exit 0
fi
ns_setup
PORT=2241
A="$T/audit"
AL="$A/audit.log"
RULE="always,exit -F arch=b64 -S execve -F auid=2141 -k nhi-test"
# Other programs on the machine may send records to our auditd too: ours
# are told apart by the account and binding names, unique to this run.
U=svc-aud$$
B=aud$$
was_enabled=$(auditctl -s | awk '$1 == "enabled" { print $2 }')

# Stops auditd by its pid, takes the rule out and puts the kernel's audit
# flag back as it was, whatever way the test ends.
audit_stop() {
	# shellcheck disable=SC2086
	[ -n "${rule_added:-}" ] && auditctl -d $RULE >/dev/null 2>&1
	rule_added=
	if [ -n "${auditd_pid:-}" ]; then
		bg_stop "$auditd_pid"
		auditd_pid=
	fi
	auditctl -e "${was_enabled:-0}" >/dev/null 2>&1
}
trap 'audit_stop; ns_cleanup' EXIT

audit_start() {
	mkdir -p "$A/etc/plugins.d"
	sed -e "s|^log_file = .*|log_file = $AL|" \
	    -e 's|^log_group = .*|log_group = root|' \
	    -e 's|^flush = .*|flush = SYNC|' \
	    -e "s|^plugin_dir = .*|plugin_dir = $A/etc/plugins.d|" \
	    -e 's|^use_libwrap = .*|use_libwrap = no|' \
	    -e 's|^verify_email = .*|verify_email = no|' \
	    -e 's|_action = .*|_action = IGNORE|' \
	    /etc/audit/auditd.conf >"$A/etc/auditd.conf"
	chmod 0640 "$A/etc/auditd.conf"
	bg_start auditd -n -c "$A/etc"
	auditd_pid=$t_last_pid
	i=0
	while [ "$(auditctl -s | awk '$1 == "pid" { print $2 }')" != \
	    "$auditd_pid" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.05
	done
}

# wait_audit PATTERN ARGS...: waits up to 3 s for ausearch ARGS to find
# records matching PATTERN, leaving them (interpreted) in $T/as.
wait_audit() {
	t_pat=$1
	shift
	i=0
	while ! { ausearch -if "$AL" "$@" -i 2>/dev/null |
	    grep -E -- "$t_pat" >"$T/as"; }; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}

add_user $U 2141
make_key alice
make_key mallory
cat "$T/keys/alice.pub" "$T/keys/mallory.pub" \
    >"$T/home/$U/.ssh/authorized_keys"

check "auditd starts with a private config and log" audit_start
check "the kernel reports our auditd" \
    sh -c 'auditctl -s | grep -qx "pid $1"' - "$auditd_pid"

nhi_init $U
nhi_bind $B $U alice --ssh-key "$T/keys/alice.pub" \
    --services sshd --valid-for 15m
nhi_publish
check "sync: a USYS_CONFIG record names the register installed" \
    wait_audit "nhi_register=$nhi_version .*nhi_source=\"?file://$N/register.json" \
    -m USYS_CONFIG -x "$NHICTL"
check "sync: the record carries version, hash and res=success" \
    grep -Eq "op=nhi-register nhi_register=$nhi_version nhi_sha256=\"?[0-9a-f]{64}\"? .*res=success" \
    "$T/as"
check "sync: the log key was made" test -s "$N/state/dlog.key"

# nhi-sync.service bounds the sync's capabilities (setpriv gives root no
# more at exec than the bounding set): with the unit's set its record
# arrives; with none, the kernel refuses it and the sync says so.
unit="$top_srcdir/packaging/systemd/nhi-sync.service.in"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' |
    sed 's/cap_//g')
check "the unit keeps the capability that writes audit records" \
    test "$caps" = audit_write
check "the unit lets the sync open a netlink socket" \
    grep -Eq '^RestrictAddressFamilies=.* AF_NETLINK( |$)' "$unit"
# bounded_sync CAPS: publishes the next version and syncs it with only
# CAPS (setpriv --bounding-set syntax) in the bounding set.
bounded_sync() {
	nhi_version=$((nhi_version + 1))
	# shellcheck disable=SC2046
	"$NHICTL" publish --key "$N/register.key" --version "$nhi_version" \
	    --expires-in 1h $(find "$N/stmt" -type f | sort) \
	    >"$N/register.json" 2>/dev/null
	setpriv --bounding-set "$1" "$NHICTL" sync --config "$CONF" \
	    >/dev/null 2>&1
}
check "sync within the unit's bounding set succeeds" \
    bounded_sync "-all,+$caps"
check "... and its USYS_CONFIG record arrives" \
    wait_audit "nhi_register=$nhi_version .*res=success" \
    -m USYS_CONFIG -x "$NHICTL"
log_mark
check "sync with no capability at all still succeeds" bounded_sync -all
check "... but the kernel refuses its record, and the sync says so" \
    log_has 'audit: the kernel refused a USYS_CONFIG'
# shellcheck disable=SC2046
"$NHICTL" publish --key "$N/register.key" --version 1 --expires-in 1h \
    $(find "$N/stmt" -type f | sort) >"$N/register.json" 2>/dev/null
check "sync: an older register is refused" \
    sh -c '! "$1" sync --config "$2" >/dev/null 2>&1' - "$NHICTL" "$CONF"
check "sync: the refusal is a USYS_CONFIG record with its reason" \
    wait_audit "op=nhi-register nhi_register=\\? .*nhi_reason=\"?rollback\"? .*res=failed" \
    -m USYS_CONFIG -x "$NHICTL"

cat >/etc/pam.d/sshd <<EOF
auth     required pam_deny.so
account  required $PAM_NHI_SO config=$CONF
account  required pam_permit.so
session  required pam_loginuid.so
session  required $PAM_NHI_SO config=$CONF
session  required pam_permit.so
password required pam_deny.so
EOF
write_sshd_config $PORT
check "sshd starts" start_sshd
# shellcheck disable=SC2086
check "an execve rule for the account's sessions" auditctl -a $RULE
rule_added=1

ssh_run alice $U $PORT -- /bin/echo nhi-probe-$$
check "bound key: the command runs" grep -qx "nhi-probe-$$" "$T/out"
check "bound key: a session record ties ses= to binding and owner" \
    wait_audit "op=nhi-session .*nhi_binding=\"?b-$B\"?" -m USER_START \
    -x /usr/sbin/sshd
ses=$(sed -n 's/.* ses=\([0-9]*\) .*/\1/p' "$T/as" | tail -n 1)
check "bound key: the session has a kernel session id" \
    test -n "$ses" -a "$ses" != 4294967295
# The EXECVE record itself, not just its event's first lines.
wait_audit "type=EXECVE .*a1=\"?nhi-probe-$$" --session "${ses:-0}" -k nhi-test
ausearch -if "$AL" --session "${ses:-0}" -i >"$T/session" 2>&1
check "ausearch --session: the nhi record names owner, ticket, binding" \
    grep -Eq "type=USER_START .*auid=$U ses=$ses .*op=nhi-session .*nhi_binding=\"?b-$B\"? nhi_owner=\"?alice\"? nhi_approver=\"?approver\"? nhi_ticket=\"?CHG-$B\"?" \
    "$T/session"
check "ausearch --session: the same search has the command's execve" \
    grep -Eq "type=EXECVE .*a0=/bin/echo a1=nhi-probe-$$" "$T/session"
check "ausearch --session: the execve belongs to the account's session" \
    grep -Eq "type=SYSCALL .*auid=$U .*ses=$ses .*key=nhi-test" \
    "$T/session"
ausearch -if "$AL" -m USER_ACCT -x /usr/sbin/sshd -i >"$T/acct" 2>&1
check "USER_ACCT: the allow has acct, addr, terminal and res" \
    grep -Eq "op=nhi-authz nhi_stage=\"?session\"? .*nhi_result=\"?allow\"? .*nhi_key=\"?SHA256:.*nhi_binding=\"?b-$B\"? .*nhi_register=$nhi_version acct=$U exe=/usr/sbin/sshd hostname=127.0.0.1 addr=127.0.0.1 terminal=ssh res=success" \
    "$T/acct"
[ "$t_failed" -eq 0 ] || diag_file "$T/session" 30

log_mark
ssh_run mallory $U $PORT -- /bin/echo nhi-probe-$$
check "unbound key: refused" sh -c '! grep -q nhi-probe "$1"' - "$T/out"
check "unbound key: an ANOM_LOGIN_SERVICE record" \
    wait_audit "acct=$U " -m ANOM_LOGIN_SERVICE -x /usr/sbin/sshd
check "unbound key: it says wrong-key and failed" \
    grep -Eq "nhi_result=\"?deny\"? nhi_reason=\"?wrong-key\"? .*acct=$U .*addr=127.0.0.1 .*res=failed" \
    "$T/as"
ausearch -if "$AL" -m ANOM_LOGIN_SERVICE -x /usr/sbin/sshd --raw 2>/dev/null |
    grep "acct=\"$U\"" | aureport --anomaly -i >"$T/anom" 2>&1
check "aureport --anomaly lists the refused login" \
    grep -Eq "ANOM_LOGIN_SERVICE /usr/sbin/sshd .*127\.0\.0\.1" "$T/anom"
[ "$t_failed" -eq 0 ] || diag_file "$T/anom" 10

"$NHICTL" log verify --config "$CONF" >"$T/verify" 2>&1
check "decision log: intact after the logins and the sync" \
    grep -q 'decisions.log: intact' "$T/verify"
"$NHICTL" log show --config "$CONF" --owner alice >"$T/show" 2>&1
check "decision log: the session record has owner, ticket and ses" \
    grep -Eq "decision allow sshd/session account=$U owner=alice binding=b-$B approver=approver ticket=CHG-$B .*ses=$ses " \
    "$T/show"
"$NHICTL" log show --config "$CONF" --kind sync >"$T/show" 2>&1
check "decision log: the sync is recorded" \
    grep -Eq "sync installed register=$nhi_version sha256=[0-9a-f]{64}" \
    "$T/show"
"$NHICTL" log show --config "$CONF" --account $U >"$T/show" 2>&1
check "decision log: the refusal is recorded" \
    grep -Eq "decision deny sshd/session account=$U .*\(wrong-key\)" \
    "$T/show"
[ "$t_failed" -eq 0 ] || diag_file "$T/verify" 10

# Without an audit daemon: the decision stands, unless require_audit.
audit_stop
check "auditd stopped, kernel flag restored" \
    sh -c 'auditctl -s | grep -qx "pid 0"'
ssh_run alice $U $PORT -- /bin/echo still-$$
check "no auditd: a bound key still logs in" grep -qx "still-$$" "$T/out"
sed -i "1i require_audit = yes" "$CONF"
log_mark
ssh_run alice $U $PORT -- /bin/echo required-$$
check "no auditd, require_audit = yes: refused" \
    sh -c '! grep -q "required-" "$1"' - "$T/out"
check "no auditd, require_audit = yes: the reason is logged" \
    log_has "pam_nhi\\(sshd:account\\).*require_audit is set: refusing $U"
check "no auditd, require_audit = yes: the decision line says deny" \
    log_has "pam_nhi\\(sshd:account\\): result=deny service=sshd" \
    "account=$U .*reason=audit-unavailable\$"
no_allow_logged() {
	! log_match "pam_nhi\\(sshd:[a-z]+\\): result=allow .*account=$U "
}
check "no auditd, require_audit = yes: no decision line says allow" \
    no_allow_logged
"$NHICTL" log show --config "$CONF" --account $U >"$T/show" 2>&1
check "no auditd, require_audit = yes: the log says audit-unavailable" \
    grep -Eq "decision deny sshd/account .*\(audit-unavailable\)" \
    "$T/show"
check "the kernel's audit flag is back as it was" \
    sh -c 'auditctl -s | grep -qx "enabled $1"' - "$was_enabled"
done_testing
