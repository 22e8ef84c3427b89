#!/bin/sh
# sshd_e2e.sh: a pseudonymous account of the register, end to end. The
# register holds the account nhi-7f3a2c (owner alice@example.com, private
# group, supplementary group nhi-ops) and a binding of alice's key; nhictl
# sync installs the NSS index; a real sshd in a mount namespace resolves
# the account through libnss_nhi.so.2 (private nsswitch.conf "passwd:
# files nhi", "group: files nhi") and pam_nhi allows the bound key. In the
# session, id, ls -l and getent name the account and its owner. Nothing
# outside the namespace changes: the module is found through
# LD_LIBRARY_PATH, the index through NHI_NSS_INDEX, both given to sshd
# before it starts and to the session by SetEnv.
. "$top_srcdir/tests/pam/lib.sh"
ns_enter "$@"
ns_setup
PORT=$(free_port)
ACCT=nhi-7f3a2c
NSS_LIB=$(cd "$top_builddir/nss_nhi/.libs" && pwd)

# A sanitizer build of the module needs its runtime loaded first, in sshd
# and in every program of the session.
preload=
if readelf -d "$NSS_LIB/libnss_nhi.so.2" | grep -q 'NEEDED.*libasan'; then
	preload=$(${CC:-cc} -print-file-name=libasan.so)
fi

# The local group the account is a supplementary member of, and the
# people's keys: alice's is bound, mallory's is not.
printf 'nhi-ops:x:3100:\n' >>/etc/group
printf 'nhi-ops:!::\n' >>/etc/gshadow
make_key alice
make_key mallory
mkdir -p "$T/home/$ACCT/.ssh"
cat "$T/keys/alice.pub" "$T/keys/mallory.pub" \
    >"$T/home/$ACCT/.ssh/authorized_keys"
chown -R 70001:70001 "$T/home/$ACCT"

nhi_init 'nhi-*'
# The account's supplementary group must be one the host allows.
sed -i "s|^state_dir = .*|&\naccount_groups = nhi-ops|" "$CONF"
# The state folder is root's alone; the NSS index must be readable by
# every process, the account's own session included.
mkdir -m 755 "$T/nss"
IDX="$T/nss/nss.cdb"
sed -i "s|^state_dir = .*|&\nnss_index = $IDX|" "$CONF"
"$NHICTL" issue account --key "$N/issuer.key" --name "$ACCT" --uid 70001 \
    --gid 70001 --owner alice@example.com --description "build bot" \
    --home "$T/home/$ACCT" --shell /bin/sh --groups nhi-ops \
    >"$N/stmt/account" || echo "# nhictl issue account failed" >&2
nhi_bind alice "$ACCT" alice@example.com --ssh-key "$T/keys/alice.pub" \
    --services sshd --valid-for 15m
nhi_publish
check "nhictl sync installed the NSS index" test -s "$IDX"

# The machine's nsswitch.conf stays as it is; this namespace sees its own.
sed -e 's/^passwd:.*/passwd: files nhi/' -e 's/^group:.*/group: files nhi/' \
    /etc/nsswitch.conf >"$T/etc/nsswitch.conf"
mount --bind "$T/etc/nsswitch.conf" /etc/nsswitch.conf
check "the namespace's nsswitch.conf asks nhi after files" \
    grep -qx 'passwd: files nhi' /etc/nsswitch.conf

envs="LD_LIBRARY_PATH=$NSS_LIB NHI_NSS_INDEX=$IDX"
[ -n "$preload" ] &&
	envs="$envs LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0"

# getent here, with the same environment sshd gets.
out=$(env $envs getent passwd "$ACCT")
check "getent passwd names the owner" test "$out" = \
    "$ACCT:x:70001:70001:nhi owner alice@example.com (build bot):$T/home/$ACCT:/bin/sh"
out=$(getent passwd "$ACCT")
check "without the module's environment the account is unknown" \
    test -z "$out"

write_sshd_pam
write_sshd_config $PORT "SetEnv $envs"
# shellcheck disable=SC2086
export $envs
check "sshd starts" start_sshd
unset LD_LIBRARY_PATH NHI_NSS_INDEX LD_PRELOAD ASAN_OPTIONS

log_mark
ssh_run alice "$ACCT" $PORT -- 'id; touch ~/made-here; ls -l ~/made-here; getent passwd "$(id -un)"; getent group nhi-ops'
rc=$?
check "bound key: the login succeeds" test "$rc" -eq 0
diag_file "$T/out"
check "id shows the name and the private group" \
    grep -q "^uid=70001($ACCT) gid=70001($ACCT) " "$T/out"
check "id shows the supplementary group from the member index" \
    grep -q "^uid=70001.* groups=.*3100(nhi-ops)" "$T/out"
check "ls -l of a file the account made shows its name" \
    grep -Eq "^-.* $ACCT $ACCT .* $T/home/$ACCT/made-here\$" "$T/out"
check "getent passwd in the session names the owner" \
    grep -qx "$ACCT:x:70001:70001:nhi owner alice@example.com (build bot):$T/home/$ACCT:/bin/sh" \
    "$T/out"
check "sshd resolved the account and accepted the key" \
    grep -q "Accepted publickey for $ACCT from 127.0.0.1" "$T/sshd.log"
check "pam_nhi allowed the login under alice's binding" \
    log_has "pam_nhi\\(sshd:session\\): result=allow" "account=$ACCT" \
    'owner=alice@example.com' 'binding=b-alice'
check "the file is owned by uid 70001 on disk" \
    test "$(stat -c %u:%g "$T/home/$ACCT/made-here")" = 70001:70001

# The same account with an unbound key: governed, so refused.
log_mark
ssh_run mallory "$ACCT" $PORT -- echo shell-ran
check "unbound key: no command runs" sh -c '! grep -q shell-ran "$1"' - \
    "$T/out"
check "unbound key: pam_nhi refused it" \
    log_has 'pam_nhi\(sshd:session\): result=deny' "account=$ACCT" \
    'reason=wrong-key'

stop_sshd
done_testing
