#!/bin/sh
# harness.sh: proves the namespace harness of lib.sh with Linux-PAM's own
# pam_permit, pam_deny and pam_warn before pam_nhi relies on it: a real
# sshd, su and sudo use the private PAM files, users exist only in the
# namespace, /dev/log is captured, and the machine's files stay as they were.
. "$top_srcdir/tests/pam/lib.sh"
ns_enter "$@"
host_passwd_sum=$(md5sum </etc/passwd)
ns_setup

add_user hdeploy 2901
add_user halice 2902
make_key halice
cat "$T/keys/halice.pub" >"$T/home/hdeploy/.ssh/authorized_keys"
cat "$T/keys/halice.pub" >"$T/home/halice/.ssh/authorized_keys"

check "users exist only in the namespace copy" \
    sh -c 'getent passwd hdeploy >/dev/null && [ "$(md5sum </etc/passwd)" != "$1" ]' \
    - "$host_passwd_sum"

cat >/etc/pam.d/sshd <<PAM
auth     required pam_deny.so
account  required pam_warn.so
account  required pam_permit.so
session  [success=ok default=die user_unknown=ignore] pam_succeed_if.so user != hdeploy quiet
session  required pam_permit.so
password required pam_deny.so
PAM
write_sshd_config 2291
check "sshd starts in the namespace" start_sshd

log_mark
ssh_run halice halice 2291 -- echo shell-ran
check "permitted user's command runs" grep -qx shell-ran "$T/out"
check "pam_warn's line reaches the captured /dev/log" \
    log_has 'pam_warn\(sshd:account\)' 'user=\[halice\]'

ssh_run halice hdeploy 2291 -- echo shell-ran
rc=$?
check "a failing session stage stops the command (exit 254)" \
    sh -c '[ "$1" -eq 254 ] && ! grep -q shell-ran "$2"' - "$rc" "$T/out"
stop_sshd

cat >/etc/pam.d/su <<PAM
auth     required pam_permit.so
account  required pam_warn.so
account  [success=ok default=die] pam_succeed_if.so ruser != halice quiet
account  required pam_permit.so
session  required pam_permit.so
PAM
log_mark
as halice su hdeploy -c 'echo su-ran' >"$T/out" 2>&1
check "su as halice is refused by the private stack" \
    sh -c '! grep -q su-ran "$1"' - "$T/out"
check "su's account stage saw the invoker as ruser" \
    log_has 'pam_warn\(su:account\)' 'user=\[hdeploy\]' 'ruser=\[halice\]'

cat >/etc/pam.d/sudo <<PAM
auth     required pam_permit.so
account  required pam_permit.so
session  required pam_warn.so
session  required pam_permit.so
PAM
printf 'halice ALL=(hdeploy) NOPASSWD: ALL\nDefaults !syslog\n' >>/etc/sudoers
log_mark
as halice sudo -n -u hdeploy id -un >"$T/out" 2>&1
check "sudo -u runs the command as the target" grep -qx hdeploy "$T/out"
check "sudo's session stage sees the target as user" \
    log_has 'pam_warn\(sudo:session\)' 'user=\[hdeploy\]' 'ruser=\[halice\]'
as halice script -qec "sudo -n -u hdeploy id -un" /dev/null >"$T/out" 2>&1
check "sudo with a tty (script) works too" grep -q hdeploy "$T/out"

done_testing
