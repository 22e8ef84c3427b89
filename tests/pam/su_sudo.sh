#!/bin/sh
# su_sudo.sh: pam_nhi in real su and sudo, run by ordinary users (setpriv,
# so no other PAM service is involved), with and without a tty. su decides
# at the account stage with the real uid's name; sudo at session open.
. "$top_srcdir/tests/pam/lib.sh"
ns_enter "$@"
ns_setup
# su and sudo are setuid: in a sanitizer build they get the runtime
# through the namespace's /etc/ld.so.preload (san_as), so the same cases
# run against the module built either way.
if ! san_setuid_init; then
	not_ok "sanitizer build: /etc/ld.so.preload of this namespace's own"
	done_testing
	exit
fi

add_user deploy 2201
add_user alice 2202
add_user bob 2203
add_user carol 2204
nhi_init deploy
nhi_bind alice deploy alice --user alice --services su,sudo --valid-for 15m
nhi_publish

cat >/etc/pam.d/su <<EOF
auth     sufficient pam_rootok.so
auth     required pam_permit.so
account  required $PAM_NHI_SO config=$CONF
account  required pam_permit.so
session  required $PAM_NHI_SO config=$CONF
session  required pam_permit.so
EOF
cat >/etc/pam.d/sudo <<EOF
auth     required pam_permit.so
account  required $PAM_NHI_SO config=$CONF
account  required pam_permit.so
session  required $PAM_NHI_SO config=$CONF
session  required pam_permit.so
EOF
cat >>/etc/sudoers <<EOF
Defaults !syslog
Defaults lecture=never
alice ALL=(deploy) NOPASSWD: ALL
bob   ALL=(deploy) NOPASSWD: ALL
carol ALL=(deploy) ALL
alice ALL=(carol) NOPASSWD: ALL
EOF
# What san_as preloads reaches the command sudo runs, and so must the
# sanitizer settings, which env_reset would drop.
if [ -n "${san:-}" ]; then
	echo 'Defaults env_keep += "ASAN_OPTIONS UBSAN_OPTIONS"' >>/etc/sudoers
fi

# su: the bound invoker gets in, with the binding in the environment.
log_mark
san_as alice su deploy -c 'id -un; echo "owner=$NHI_OWNER"' >"$T/out" 2>&1
check "su: bound invoker runs as deploy" grep -qx deploy "$T/out"
check "su: NHI_OWNER reaches the command" grep -qx owner=alice "$T/out"
check "su: account line names invoker, owner and ticket" \
    log_has 'pam_nhi\(su:account\): result=allow service=su account=deploy invoker=alice' \
    'owner=alice' 'ticket=CHG-alice' 'reason=ok$'

log_mark
san_as bob su deploy -c 'echo su-ran' >"$T/out" 2>&1
check "su: other invoker refused" sh -c '! grep -q su-ran "$1"' - "$T/out"
check "su: other invoker told why" \
    grep -q 'access to account deploy refused (wrong-invoker)' "$T/out"
check "su: refusal logged with invoker bob" \
    log_has 'pam_nhi\(su:account\): result=deny' 'invoker=bob' \
    'reason=wrong-invoker'

san_as alice script -qec "su deploy -c 'id -un'" /dev/null >"$T/out" 2>&1
check "su with a tty: bound invoker runs as deploy" grep -q deploy "$T/out"
san_as bob script -qec "su deploy -c 'echo su-ran'" /dev/null >"$T/out" 2>&1
check "su with a tty: other invoker refused" \
    sh -c '! grep -q su-ran "$1" && grep -q "(wrong-invoker)" "$1"' - "$T/out"

log_mark
san_as alice su carol -c 'id -un' >"$T/out" 2>&1
check "su to a human account: untouched" grep -qx carol "$T/out"
n=$(log_since | grep -c 'pam_nhi(')
check "su to a human account: no pam_nhi line" test "$n" -eq 0

# sudo: account sees only the invoker, the session stage decides.
log_mark
san_as alice sudo -n -u deploy id -un >"$T/out" 2>&1
check "sudo NOPASSWD, no tty: bound invoker runs as deploy" \
    grep -qx deploy "$T/out"
check "sudo: session line names invoker and owner" \
    log_has 'pam_nhi\(sudo:session\): result=allow service=sudo account=deploy invoker=alice' \
    'owner=alice' 'reason=ok$'
n=$(log_since | grep -c 'pam_nhi(sudo:account)')
check "sudo: the account stage does not decide" test "$n" -eq 0

san_as alice script -qec "sudo -n -u deploy id -un" /dev/null >"$T/out" 2>&1
check "sudo NOPASSWD, with a tty: bound invoker runs" grep -q deploy "$T/out"

log_mark
san_as bob sudo -n -u deploy sh -c 'echo sudo-ran' >"$T/out" 2>&1
check "sudo NOPASSWD: other invoker refused, command not run" \
    sh -c '! grep -q sudo-ran "$1"' - "$T/out"
# sudo opens the session with PAM_SILENT, so the user sees sudo's words.
check "sudo: other invoker sees the session refused" \
    grep -q 'pam_open_session: Permission denied' "$T/out"
check "sudo: refusal logged at session" \
    log_has 'pam_nhi\(sudo:session\): result=deny' 'invoker=bob' \
    'reason=wrong-invoker'
san_as bob script -qec "sudo -n -u deploy sh -c 'echo sudo-ran'" /dev/null \
    >"$T/out" 2>&1
check "sudo with a tty: other invoker refused" \
    sh -c '! grep -q sudo-ran "$1"' - "$T/out"

san_as carol sudo -u deploy sh -c 'echo sudo-ran' >"$T/out" 2>&1
check "sudo password rule: unbound invoker refused" \
    sh -c '! grep -q sudo-ran "$1" && grep -q "pam_open_session: Permission denied" "$1"' \
    - "$T/out"

log_mark
san_as alice sudo -n -u carol id -un >"$T/out" 2>&1
check "sudo to a human account: untouched" grep -qx carol "$T/out"

# Another name for a governed uid is the governed account: deploy2 has
# deploy's uid, so su to it is decided (and refused) as deploy.
printf 'deploy2:x:2201:2201::/:/bin/sh\n' >>/etc/passwd
log_mark
san_as bob su deploy2 -c 'echo su-ran' >"$T/out" 2>&1
check "su to an alias of a governed uid: refused" \
    sh -c '! grep -q su-ran "$1"' - "$T/out"
check "su to an alias: decided and logged as deploy" \
    log_has 'pam_nhi\(su:account\): result=deny service=su account=deploy ' \
    'invoker=bob'
log_mark
san_as alice su deploy2 -c 'echo su-ran' >"$T/out" 2>&1
check "su to an alias: the bound invoker gets in" grep -qx su-ran "$T/out"

# govern_groups: a member of a governing group is governed, however long
# the group's line and however many groups the member is in.
add_user grpuser 2210
i=0
members=
while [ $i -lt 3000 ]; do
	members="${members}m$i,"
	i=$((i + 1))
done
printf 'shared:x:2400:%sgrpuser\n' "$members" >>/etc/group
i=0
while [ $i -lt 80 ]; do
	printf 'many%d:x:%d:grpuser\n' $i $((2500 + i)) >>/etc/group
	i=$((i + 1))
done
printf 'shared2:x:2600:grpuser\n' >>/etc/group
# (Top-level keys go before the first [issuer] section.)
sed -i '1i govern_groups = shared, shared2' "$CONF"
log_mark
san_as bob su grpuser -c 'echo su-ran' >"$T/out" 2>&1
check "govern_groups: member of a 3000-member group is governed" \
    sh -c '! grep -q su-ran "$1"' - "$T/out"
check "govern_groups: refusal logged" \
    log_has 'pam_nhi\(su:account\): result=deny service=su account=grpuser' \
    'reason=no-binding'
# /etc/group is a bind mount here: rewrite it in place (sed -i would
# make a temporary file beside it in /etc and fail to rename it over).
sed 's/^shared:x:2400:.*/shared:x:2400:/' /etc/group >"$T/group.new"
cat "$T/group.new" >/etc/group
log_mark
san_as bob su grpuser -c 'echo su-ran' >"$T/out" 2>&1
check "govern_groups: the 82nd group still governs" \
    log_has 'pam_nhi\(su:account\): result=deny service=su account=grpuser'
san_as bob su carol -c 'echo su-ran' >"$T/out" 2>&1
check "govern_groups: a non-member stays ungoverned" \
    sh -c '! grep -q "pam_nhi(su:account).*account=carol" "$1"' - "$T/syslog"

# The Debian layout: pam-auth-update puts pam_nhi into common-account and
# common-session-noninteractive, which cron, atd and systemd-user include
# as well as sudo. Their jobs are the account's own, never a person's
# login: the default ignore_services leaves them alone, while any other
# service on the same stacks is still decided. pamtester is a real
# Linux-PAM application run under the service name given.
printf 'account  required %s config=%s\naccount  required pam_permit.so\n' \
    "$PAM_NHI_SO" "$CONF" >/etc/pam.d/common-account
printf 'session  required %s config=%s\nsession  required pam_permit.so\n' \
    "$PAM_NHI_SO" "$CONF" >/etc/pam.d/common-session-noninteractive
for t_s in cron crond; do
	printf '@include common-account\n@include common-session-noninteractive\n' \
	    >"/etc/pam.d/$t_s"
done
log_mark
san_as root pamtester cron deploy acct_mgmt open_session close_session \
    >"$T/out" 2>&1
check "cron: a governed account's job is left alone (ignore_services)" \
    grep -q 'successfully' "$T/out"
check "cron: no decision is logged for it" \
    sh -c '! grep -q "pam_nhi(cron" "$1"' - "$T/syslog"
san_as root pamtester crond deploy acct_mgmt >"$T/out" 2>&1
check "crond, not in the list: the same stack refuses" \
    sh -c '! grep -q successfully "$1"' - "$T/out"
check "crond: the refusal is logged" \
    log_has 'pam_nhi\(crond:account\): result=deny service=crond account=deploy'
# PAM_RUSER is the caller's to set: a newline in it must not forge a line.
log_mark
san_as root pamtester -I "ruser=$(printf 'alice\nforged=1')" crond deploy \
    acct_mgmt >"$T/out" 2>&1
check "PAM_RUSER with a newline: noted, escaped" \
    log_has 'PAM_RUSER "alice\\x0aforged=1" is not the real uid'
check "PAM_RUSER with a newline: no forged line" \
    sh -c '! grep -q "^forged=1" "$1"' - "$T/syslog"

san_check "su and sudo: no sanitizer report from the module" "$T/san/log"
done_testing
