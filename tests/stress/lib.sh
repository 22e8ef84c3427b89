# lib.sh: the fixture of the stress tests. Source it after
# tests/integration/lib.sh. Makes, under $T_TMP: an issuer and a register
# key, two SSH keys (A, B), nhi.conf governing "deploy" on host "stress"
# (state in $S_STATE), an account "nhi-stress" with its group, and PAM
# service files in $S_PAMD for the module built in $top_builddir.
#
#   s_size SMALL LARGE       prints SMALL, or LARGE when NHI_STRESS=large
#   s_register V FILE        writes register version V: binding "b-vV"
#                            for deploy and key A when V is even, key B
#                            when V is odd, and the account

S_PAM_SO=$top_builddir/pam_nhi/.libs/pam_nhi.so
S_NSS_SO=$top_builddir/nss_nhi/.libs/libnss_nhi.so.2
S_STATE=$T_TMP/state
S_CONF=$T_TMP/nhi.conf
S_PAMD=$T_TMP/pam.d

s_size() {
	if [ "${NHI_STRESS:-small}" = large ]; then echo "$2"; else echo "$1"; fi
}

s_setup() {
	umask 022
	mkdir -p "$S_STATE" "$S_PAMD"
	"$NHICTL" keygen "$T_TMP/ops" >/dev/null &&
	"$NHICTL" keygen "$T_TMP/reg" >/dev/null || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$T_TMP/key_a" -C a || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$T_TMP/key_b" -C b || return 1
	S_KEY_A=$(cut -d' ' -f1,2 "$T_TMP/key_a.pub")
	cat >"$S_CONF" <<CONF
host_name = stress
govern_users = deploy
state_dir = $S_STATE
register_url = file://$T_TMP/register.json
register_key = $(cut -d' ' -f2 "$T_TMP/reg.pub")
[issuer ops]
key = $(cut -d' ' -f2 "$T_TMP/ops.pub")
accounts = deploy, nhi-*
services = *
max_window = 8h
CONF
	# The module in every stage; an ignore falls through to pam_permit.
	cat >"$S_PAMD/sshd" <<PAMD
auth [success=done ignore=ignore default=die] $S_PAM_SO config=$S_CONF
auth required pam_permit.so
account [success=done ignore=ignore default=die] $S_PAM_SO config=$S_CONF
account required pam_permit.so
session required $S_PAM_SO config=$S_CONF
PAMD
	"$NHICTL" issue account --key "$T_TMP/ops.key" --name nhi-stress \
	    --uid 70001 --gid 70001 --owner alice >"$T_TMP/account" ||
		return 1
}

s_register() {
	_k=$T_TMP/key_b.pub
	[ $(($1 % 2)) -eq 0 ] && _k=$T_TMP/key_a.pub
	"$NHICTL" issue binding --key "$T_TMP/ops.key" --id "b-v$1" \
	    --account deploy --owner alice --approver bob --ticket T-$1 \
	    --ssh-key "$_k" --hosts stress --services sshd --valid-for 8h \
	    >"$T_TMP/b-$1" &&
	cat "$T_TMP/b-$1" "$T_TMP/account" |
	    "$NHICTL" publish --key "$T_TMP/reg.key" --version "$1" \
	    --expires-in 8h - >"$2"
}
