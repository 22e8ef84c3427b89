#!/bin/sh
# sshd.sh: pam_nhi in a real sshd, integration (a) of DESIGN.md §4: the
# account stage with the key still pending, the session stage checking the
# exact key. Each scenario asserts what the client got and the syslog line.
. "$top_srcdir/tests/pam/lib.sh"
ns_enter "$@"
ns_setup
PORT=$(free_port)
FWD_PORT=$(free_port)

# deploy has alice's binding; each svc-* account has one binding that
# fails in one way, so the reason logged is that binding's.
add_user deploy 2101
add_user carol 2102
uid=2110
for k in expired early far othersvc revoked; do
	add_user "svc-$k" $uid
	uid=$((uid + 1))
done
for k in alice mallory expired early far othersvc revoked carol; do
	make_key $k
	for a in deploy svc-expired svc-early svc-far svc-othersvc svc-revoked
	do
		[ $k = carol ] && continue
		cat "$T/keys/$k.pub" >>"$T/home/$a/.ssh/authorized_keys"
	done
done
cat "$T/keys/carol.pub" >"$T/home/carol/.ssh/authorized_keys"

nhi_init deploy 'svc-*'
now=$(date +%s)
nhi_bind alice deploy alice --ssh-key "$T/keys/alice.pub" \
    --services sshd --valid-for 15m
nhi_bind expired svc-expired erin --ssh-key "$T/keys/expired.pub" \
    --services sshd --not-before "@$((now - 7200))" \
    --not-after "@$((now - 3600))"
nhi_bind early svc-early erin --ssh-key "$T/keys/early.pub" \
    --services sshd --not-before "@$((now + 3600))" \
    --not-after "@$((now + 7200))"
nhi_bind far svc-far erin --ssh-key "$T/keys/far.pub" --services sshd \
    --valid-for 15m --hosts otherhost
nhi_bind othersvc svc-othersvc erin --ssh-key "$T/keys/othersvc.pub" \
    --services su --valid-for 15m
nhi_bind revoked svc-revoked rita --ssh-key "$T/keys/revoked.pub" \
    --services sshd --valid-for 15m
nhi_publish
check "the register is installed" \
    sh -c '"$1" status --config "$2" >/dev/null' - "$NHICTL" "$CONF"

write_sshd_pam
write_sshd_config $PORT "ExposeAuthInfo yes"
check "sshd starts" start_sshd

# Bound key: the shell runs, with the binding in its environment.
log_mark
ssh_run alice deploy $PORT -- 'echo shell-ran; echo "owner=$NHI_OWNER ticket=$NHI_TICKET"'
check "bound key: the command runs" grep -qx shell-ran "$T/out"
check "bound key: NHI_OWNER and NHI_TICKET reach the session" \
    grep -qx "owner=alice ticket=CHG-alice" "$T/out"
check "bound key: account stage logged allow with the key pending" \
    log_has 'pam_nhi\(sshd:account\)' 'result=allow' 'key=pending'
check "bound key: session line names key, binding, owner and ticket" \
    log_has 'pam_nhi\(sshd:session\): result=allow service=sshd account=deploy invoker=- rhost=127.0.0.1' \
    "key=$(key_fp "$T/keys/alice.pub")" 'binding=b-' 'owner=alice' \
    'ticket=CHG-alice' 'not_after=20' 'register=[0-9]+' 'reason=ok$'

# Unbound key: accepted by sshd, stopped at the session stage.
log_mark
ssh_run mallory deploy $PORT -- echo shell-ran
rc=$?
check "unbound key: no command, client exit 254" \
    sh -c '[ "$1" -eq 254 ] && ! grep -q shell-ran "$2"' - $rc "$T/out"
check "unbound key: session line says wrong-key with its fingerprint" \
    log_has 'pam_nhi\(sshd:session\): result=deny' \
    "key=$(key_fp "$T/keys/mallory.pub")" 'reason=wrong-key'
ssh_run mallory deploy $PORT -tt -- echo shell-ran
check "unbound key: no shell with a pty either" \
    sh -c '! grep -q shell-ran "$1"' - "$T/out"
echo 'pwd' >"$T/sftp.batch"
sftp -b "$T/sftp.batch" -i "$T/keys/mallory" -P $PORT -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    deploy@127.0.0.1 >"$T/out" 2>&1 </dev/null
rc=$?
check "unbound key: no sftp" \
    sh -c '[ "$1" -ne 0 ] && ! grep -q "Remote working directory" "$2"' \
    - $rc "$T/out"
sftp -b "$T/sftp.batch" -i "$T/keys/alice" -P $PORT -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    deploy@127.0.0.1 >"$T/out" 2>&1 </dev/null
check "bound key: sftp works (the check above can fail)" \
    grep -q "Remote working directory" "$T/out"
for k in mallory alice; do
	ssh -i "$T/keys/$k" -p $PORT -o BatchMode=yes -o LogLevel=ERROR \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -N -L 127.0.0.1:$FWD_PORT:127.0.0.1:$PORT deploy@127.0.0.1 \
	    >/dev/null 2>&1 </dev/null &
	fwd=$!
	t_pids="$t_pids $fwd"
	sleep 1
	ssh-keyscan -T 2 -p "$FWD_PORT" 127.0.0.1 >"$T/fwd.$k" 2>/dev/null
	bg_stop $fwd
done
check "unbound key: no port forwarding" \
    sh -c '! grep -q ssh-ed25519 "$1"' - "$T/fwd.mallory"
check "bound key: port forwarding works (the check above can fail)" \
    grep -q ssh-ed25519 "$T/fwd.alice"

# Each way a binding can fail, refused with its reason. No binding
# could apply now, so the account stage already refuses.
for c in expired:expired early:not-yet-valid far:wrong-host \
    othersvc:wrong-service; do
	k=${c%%:*} why=${c#*:}
	log_mark
	ssh_run "$k" "svc-$k" $PORT -- echo shell-ran
	check "$k binding: refused" sh -c '! grep -q shell-ran "$1"' - "$T/out"
	check "$k binding: logged reason=$why" \
	    log_has 'pam_nhi\(sshd:account\): result=deny' \
	    "account=svc-$k" "reason=$why"
done

# Revoked by the register's deny list after a sync.
ssh_run revoked svc-revoked $PORT -- echo shell-ran
check "revoked key: works before the deny list" grep -qx shell-ran "$T/out"
nhi_publish --deny b-revoked
log_mark
ssh_run revoked svc-revoked $PORT -- echo shell-ran
check "revoked after a sync: refused" \
    sh -c '! grep -q shell-ran "$1"' - "$T/out"
check "revoked after a sync: logged reason=revoked" \
    log_has 'pam_nhi\(sshd:account\): result=deny' 'reason=revoked'

# A human account is left alone: no decision at all.
log_mark
ssh_run carol carol $PORT -- echo shell-ran
check "human account: login works" grep -qx shell-ran "$T/out"
n=$(log_since | grep -c 'pam_nhi(')
check "human account: no pam_nhi line" test "$n" -eq 0

# Stale register: refused with that reason; the human still logs in.
nhi_expires=2s nhi_publish
sleep 4
log_mark
ssh_run alice deploy $PORT -- echo shell-ran
check "stale register: bound key refused" \
    sh -c '! grep -q shell-ran "$1"' - "$T/out"
check "stale register: logged reason=stale-register" \
    log_has 'pam_nhi\(sshd:account\): result=deny' 'reason=stale-register'
ssh_run carol carol $PORT -- echo shell-ran
check "stale register: human account untouched" grep -qx shell-ran "$T/out"
nhi_publish

# Audit mode: allowed, logged as would-deny.
write_sshd_pam mode=audit
log_mark
ssh_run mallory deploy $PORT -- echo shell-ran
check "audit mode: unbound key is let in" grep -qx shell-ran "$T/out"
check "audit mode: logged as would-deny" \
    log_has 'pam_nhi\(sshd:session\): result=would-deny' 'reason=wrong-key'
write_sshd_pam
stop_sshd

# Certificate login: the key inside the certificate is what is bound.
ssh-keygen -q -t ed25519 -N '' -f "$T/keys/ca"
make_key certuser
ssh-keygen -q -s "$T/keys/ca" -I nhi-test -n deploy -V -5m:+1h \
    "$T/keys/certuser.pub"
nhi_bind certuser deploy carl --ssh-key "$T/keys/certuser.pub" \
    --services sshd --valid-for 15m
nhi_publish
write_sshd_config $PORT "TrustedUserCAKeys $T/keys/ca.pub"
check "sshd restarts with a user CA" start_sshd
log_mark
ssh_run certuser deploy $PORT \
    -o CertificateFile="$T/keys/certuser-cert.pub" -- echo shell-ran
check "certificate login: the command runs" grep -qx shell-ran "$T/out"
check "certificate login: logged owner of the key inside" \
    log_has 'pam_nhi\(sshd:session\): result=allow' 'owner=carl' \
    "key=$(key_fp "$T/keys/certuser.pub")"
stop_sshd

# libpam loads the module on every pam_start: built with its dependencies'
# PIC archives (the default), it brings in nothing libpam has not loaded
# already (a sanitizer runtime aside; thread-local storage in the archives
# asks for ld.so by name, for __tls_get_addr).
if grep -q '^#define NHI_PAM_STATIC_DEPS 1' "$top_builddir/config.h"; then
	needed=$(readelf -d "$PAM_NHI_SO" |
	    sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' |
	    grep -v -e '^libasan' -e '^libubsan' -e '^ld-linux' |
	    sort | tr '\n' ' ')
	is "pam_nhi.so needs only libpam, libaudit, libc and ld.so" \
	    "libaudit.so.1 libc.so.6 libpam.so.0 " "$needed"
fi

done_testing
