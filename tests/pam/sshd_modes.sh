#!/bin/sh
# sshd_modes.sh: integrations (b) and (c) of DESIGN.md §4 in a real sshd.
# (b) nhictl authorized-keys as AuthorizedKeysCommand: sshd itself refuses
#     a key without a binding, before any PAM stage.
# (c) a Match block chaining publickey,keyboard-interactive with pam_nhi
#     in the auth stack: the key is checked there and no question is asked.
. "$top_srcdir/tests/pam/lib.sh"
ns_enter "$@"
ns_setup
PORT=$(free_port)

add_user deploy 2301
for k in alice mallory; do
	make_key $k
	cat "$T/keys/$k.pub" >>"$T/home/deploy/.ssh/authorized_keys"
done
nhi_init deploy
nhi_bind alice deploy alice --ssh-key "$T/keys/alice.pub" \
    --services sshd --valid-for 15m --source 127.0.0.0/8
nhi_publish
write_sshd_pam

# (b) The helper's own output.
"$NHICTL" authorized-keys --config "$CONF" deploy >"$T/ak" 2>"$T/ak.err"
check "authorized-keys: exit 0" test $? -eq 0
# The key's base64 may hold '+' and '/': match it as a fixed string.
check "authorized-keys: prints the bound key with expiry-time and from" \
    sh -c 'grep -Eq "^expiry-time=\"[0-9]{14}Z\",from=\"127\.0\.0\.0/8\" " "$1" &&
	grep -Fq " $2 nhi:b-" "$1"' - "$T/ak" "$(cut -d' ' -f1,2 "$T/keys/alice.pub")"
check "authorized-keys: prints nothing else" test "$(wc -l <"$T/ak")" -eq 1
"$NHICTL" authorized-keys --config "$CONF" root >"$T/ak"
check "authorized-keys: nothing for an ungoverned account" test ! -s "$T/ak"
"$NHICTL" authorized-keys --config "$CONF" --service su deploy >"$T/ak"
check "authorized-keys: nothing for another service" test ! -s "$T/ak"

# sshd runs an AuthorizedKeysCommand only from a path whose every
# directory is root-owned and not writable by others; the checkout may be
# under /tmp, so the helper runs from this namespace's private /run.
mkdir -p /run/nhi-bin
cp "$NHICTL" /run/nhi-bin/nhictl
chmod 755 /run/nhi-bin /run/nhi-bin/nhictl
write_sshd_config $PORT \
    "AuthorizedKeysCommand /run/nhi-bin/nhictl authorized-keys --config $CONF %u" \
    "AuthorizedKeysCommandUser root" \
    "Match User deploy" \
    "	AuthorizedKeysFile none"
check "(b) sshd starts with AuthorizedKeysCommand" start_sshd
log_mark
ssh_run alice deploy $PORT -- echo shell-ran
check "(b) bound key: the command runs" grep -qx shell-ran "$T/out"
check "(b) bound key: the session line names the owner" \
    log_has 'pam_nhi\(sshd:session\): result=allow' 'owner=alice'
log_mark
ssh_run mallory deploy $PORT -- echo shell-ran
rc=$?
check "(b) unbound key: refused by sshd (exit 255)" \
    sh -c '[ "$1" -eq 255 ] && grep -q "Permission denied" "$2"' \
    - $rc "$T/out"
check "(b) unbound key: sshd never accepted it" \
    sh -c '! grep -q "Accepted publickey for deploy.*$1" "$2"' \
    - "$(key_fp "$T/keys/mallory.pub")" "$T/sshd.log"
stop_sshd

# (c) publickey then keyboard-interactive: the auth stage sees the key.
cat >/etc/pam.d/sshd <<EOF
auth     [success=done ignore=ignore default=die] $PAM_NHI_SO config=$CONF
auth     required pam_deny.so
account  required $PAM_NHI_SO config=$CONF
account  required pam_permit.so
session  required $PAM_NHI_SO config=$CONF
session  required pam_permit.so
password required pam_deny.so
EOF
write_sshd_config $PORT "Match User deploy" \
    "	AuthenticationMethods publickey,keyboard-interactive"
# sshd takes the first value of a keyword: turn the base one around.
sed -i 's/^KbdInteractiveAuthentication no$/KbdInteractiveAuthentication yes/' \
    "$T/sshd_config"
check "(c) sshd starts with the Match block" start_sshd
kbd_run() {
	ssh -i "$T/keys/$1" -p $PORT -o BatchMode=no \
	    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o LogLevel=ERROR -o ConnectTimeout=5 deploy@127.0.0.1 \
	    echo shell-ran >"$T/out" 2>&1 </dev/null
}
log_mark
kbd_run alice
check "(c) bound key: the command runs without a question" \
    grep -qx shell-ran "$T/out"
check "(c) bound key: the auth stage decided with the key" \
    log_has 'pam_nhi\(sshd:auth\): result=allow' \
    "key=$(key_fp "$T/keys/alice.pub")" 'owner=alice'
log_mark
kbd_run mallory
check "(c) unbound key: refused at authentication" \
    sh -c '! grep -q shell-ran "$1"' - "$T/out"
check "(c) unbound key: the auth stage logged wrong-key" \
    log_has 'pam_nhi\(sshd:auth\): result=deny' 'reason=wrong-key'
check "(c) unbound key: sshd logs the failed keyboard-interactive step" \
    grep -q 'Failed keyboard-interactive/pam for deploy' "$T/sshd.log"
stop_sshd

done_testing
