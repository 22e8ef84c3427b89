#!/bin/sh
# The command-line story of the core: keygen, issue, publish, sync, check,
# then a tampered register and an older one are refused while the
# installed register stays.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

d=$T_TMP
cd "$d" || exit 1
umask 022

t_ok "keygen issuer" "$NHICTL" keygen "$d/ops"
t_ok "keygen register" "$NHICTL" keygen "$d/reg"
t_grep "secret key is private" '^-rw-------' "$(ls -l "$d/ops.key" >"$d/ls"; echo "$d/ls")"
t_fails "keygen refuses to overwrite" "$NHICTL" keygen "$d/ops"
ssh-keygen -q -t ed25519 -N '' -f "$d/alice_key" -C alice
ssh-keygen -q -t ed25519 -N '' -f "$d/bob_key" -C bob

cat >"$d/nhi.conf" <<CONF
# test host
host_name = web-01
host_groups = prod
clock_skew = 60s
govern_users = deploy, root
state_dir = $d/state
register_url = file://$d/register.json
register_key = $(cut -d' ' -f2 "$d/reg.pub")

[issuer ops]
key = $(cut -d' ' -f2 "$d/ops.pub")
accounts = deploy, nhi-*
services = *
max_window = 8h
CONF
mkdir -p "$d/state"
export NHI_CONFIG="$d/nhi.conf"

t_ok "issue a binding" sh -c "'$NHICTL' issue binding --key '$d/ops.key' \
    --account deploy --owner alice@example.com --approver bob@example.com \
    --ticket OPS-1 --ssh-key '$d/alice_key.pub' --hosts 'web-*' \
    --services sshd --valid-for 15m >'$d/b1.json'"
t_ok "issue an account" sh -c "'$NHICTL' issue account --key '$d/ops.key' \
    --name nhi-7f3a2c --uid 70001 --gid 70001 --owner alice@example.com \
    --description 'nightly backup' >'$d/a1.json'"
t_fails "issue refuses approver == owner" "$NHICTL" issue binding \
    --key "$d/ops.key" --account deploy --owner alice --approver alice \
    --ticket T --checkout --hosts '*' --services sshd --valid-for 1h
t_fails "issue refuses a bad account name" "$NHICTL" issue binding \
    --key "$d/ops.key" --account 'de:ploy' --owner alice --approver bob \
    --ticket T --checkout --hosts '*' --services sshd --valid-for 1h
t_fails "issue refuses a public key as the signing key" "$NHICTL" issue \
    binding --key "$d/ops.pub" --account deploy --owner alice \
    --approver bob --ticket T --checkout --hosts '*' --services sshd \
    --valid-for 1h
t_grep "a public key is named as such" 'ops.pub: not a secret key' "$T_OUT"
t_nogrep "not blamed on its mode" 'too open' "$T_OUT"
cp "$d/ops.key" "$d/open.key"; chmod 644 "$d/open.key"
t_fails "issue refuses a readable secret key" "$NHICTL" issue binding \
    --key "$d/open.key" --account deploy --owner alice --approver bob \
    --ticket T --checkout --hosts '*' --services sshd --valid-for 1h
t_grep "its mode is named" 'permissions 0644 are too open' "$T_OUT"
t_ok "verify a statement" "$NHICTL" verify "$d/b1.json"
t_grep "verify prints the owner" 'alice@example.com' "$T_OUT"

t_ok "publish version 1" sh -c "'$NHICTL' publish --key '$d/reg.key' \
    --version 5 --expires-in 1h '$d/b1.json' '$d/a1.json' >'$d/register.json'"
t_ok "sync installs it" "$NHICTL" sync
t_grep "sync reports the version" 'installed: version 5' "$T_OUT"
"$NHICTL" status >"$d/status.out" 2>&1
t_grep "a moment ago is just now" '^installed: .*\((just now|0m [12]s ago)\)$' \
    "$d/status.out"
t_nogrep "never 0m 0s" '0m 0s' "$d/status.out"
t_fails "publish names the file and line of a bad statement" "$NHICTL" \
    publish --key "$d/reg.key" --version 99 --expires-in 1h \
    "$d/b1.json" /etc/passwd
t_grep "file and line named" '^nhictl: /etc/passwd:1: not a signed statement' \
    "$T_OUT"
# An empty statement file (a failed "nhictl issue ... > FILE") or one of
# blank lines is refused, not published as nothing.
: >"$d/empty.json"
printf '\n\n' >"$d/blank.json"
t_fails "publish refuses an empty statement file" "$NHICTL" publish \
    --key "$d/reg.key" --version 99 --expires-in 1h "$d/b1.json" \
    "$d/empty.json"
t_grep "the empty file is named" "empty.json: no signed statement in it" \
    "$T_OUT"
t_fails "publish refuses a file of blank lines" "$NHICTL" publish \
    --key "$d/reg.key" --version 99 --expires-in 1h "$d/blank.json"
t_ok "publish streams several files and standard input" sh -c "'$NHICTL' \
    publish --key '$d/reg.key' --version 99 --expires-in 1h '$d/b1.json' - \
    <'$d/a1.json' >'$d/multi.json' 2>'$d/multi.err'"
t_grep "both statements published" 'published version 99: 2 statements' \
    "$d/multi.err"
t_ok "the streamed register verifies" "$NHICTL" verify --pub "$d/reg.pub" \
    "$d/multi.json"
t_grep "verify counts the statements against the header" \
    '^statements: 2, matching statements_sha256' "$T_OUT"
# verify reads a register whole: a file cut short, missing a statement or
# with one changed fails, as it would on every host.
head -n 2 "$d/multi.json" >"$d/short.json"
t_fails "verify: a statement missing" "$NHICTL" verify --pub "$d/reg.pub" \
    "$d/short.json"
t_grep "named as truncated" 'the header declares 2 statements, the file holds 1' \
    "$T_OUT"
head -c -10 "$d/multi.json" >"$d/cut.json"
t_fails "verify: a file cut inside a line" "$NHICTL" verify \
    --pub "$d/reg.pub" "$d/cut.json"
t_grep "named as cut" 'no newline at the end' "$T_OUT"
sed '3s/"payload":"./"payload":"A/' "$d/multi.json" >"$d/changed.json"
t_fails "verify: a statement changed" "$NHICTL" verify --pub "$d/reg.pub" \
    "$d/changed.json"
t_grep "named by the body hash" "statements_sha256" "$T_OUT"
# Only a regular file is read: a FIFO is refused at once, not waited on.
mkfifo "$d/fifo.json"
t_fails "verify: a FIFO is refused" timeout 10 "$NHICTL" verify \
    --pub "$d/reg.pub" "$d/fifo.json"
t_grep "verify: the FIFO is named as no file" \
    'fifo.json: not a regular file' "$T_OUT"
t_fails "verify: a directory is refused" "$NHICTL" verify \
    --pub "$d/reg.pub" "$d"
t_grep "verify: the directory is named as no file" 'not a regular file' \
    "$T_OUT"
t_ok "second sync is unchanged" "$NHICTL" sync
t_grep "unchanged reported" '^unchanged: version 5' "$T_OUT"
t_ok "status is fresh" "$NHICTL" status
t_grep "status shows version" '^version: +5$' "$T_OUT"
# A register given by a relative path is recorded by its absolute one:
# status, run from anywhere later, names the file that was read.
t_ok "sync --file with a relative path" sh -c \
    'cd "$1" && "$2" sync --file register.json' - "$d" "$NHICTL"
"$NHICTL" status >"$d/status.rel" 2>&1
t_grep "status names that file by its absolute path" \
    "^source: +$d/register.json\$" "$d/status.rel"

# A damaged index is named by status and repaired by the next sync.
cp "$d/state/pam.cdb" "$d/pam.good"
printf 'garbage' >"$d/state/pam.cdb"
"$NHICTL" status >"$d/status.out" 2>&1; rc=$?
t_eq "status exit 2 on a corrupt PAM index" 2 "$rc"
t_grep "status says the index is corrupt" '^register: +PAM index corrupt: ' \
    "$d/status.out"
t_nogrep "status does not say none installed" 'none installed' \
    "$d/status.out"
t_ok "sync repairs the PAM index" "$NHICTL" sync
t_grep "repaired reported" '^repaired: version 5' "$T_OUT"
t_grep "repaired in the log line" 'reason=repaired' "$T_OUT"
printf 'garbage' >"$d/state/nss.cdb"
"$NHICTL" status >"$d/status.out" 2>&1; rc=$?
t_eq "status exit 1 on a corrupt NSS index" 1 "$rc"
t_grep "status names the NSS damage" '^nss index: +corrupt: ' "$d/status.out"
t_ok "sync repairs the NSS index" "$NHICTL" sync
t_grep "NSS repair reported" '^repaired: version 5' "$T_OUT"
t_ok "status is fresh again" "$NHICTL" status
t_ok "then unchanged again" "$NHICTL" sync
t_grep "unchanged after the repair" '^unchanged: version 5' "$T_OUT"
# A damaged state file (the version ratchet) is a broken host to
# monitoring, and no sync runs over it.
cp "$d/state/state" "$d/state.good"
head -c 20 "$d/state.good" >"$d/state/state"
"$NHICTL" status >"$d/status.out" 2>&1; rc=$?
t_eq "status exit 2 on a damaged state file" 2 "$rc"
t_grep "status says the state is broken" '^state: +BROKEN: ' "$d/status.out"
t_fails "sync refuses to run over it" "$NHICTL" sync
cp "$d/state.good" "$d/state/state"
t_ok "restored: status is fresh" "$NHICTL" status

t_ok "check: bound key allowed" "$NHICTL" check --service sshd \
    --user deploy --ssh-key "$d/alice_key.pub" --rhost 127.0.0.1
t_grep "check names the owner" 'owner=alice@example.com' "$T_OUT"
t_fails "check: other key denied" "$NHICTL" check --service sshd \
    --user deploy --ssh-key "$d/bob_key.pub"
t_grep "check says wrong-key" 'decision: deny \(wrong-key\)' "$T_OUT"
t_fails "check: other service denied" "$NHICTL" check --service sudo \
    --user deploy --invoker alice
t_grep "check says wrong-service" 'wrong-service' "$T_OUT"
t_fails "check: after the window" "$NHICTL" check --service sshd \
    --user deploy --ssh-key "$d/alice_key.pub" --at "@$(( $(date +%s) + 7200 ))"
t_grep "check says stale or expired" 'stale-register|expired' "$T_OUT"
t_ok "check: ungoverned ignored" "$NHICTL" check --service sshd \
    --user nobody --ssh-key "$d/bob_key.pub"
t_grep "check says ignore" 'decision: ignore' "$T_OUT"
t_ok "check: a governed account's cron job is ignored" "$NHICTL" check \
    --service cron --user deploy --invoker root
t_grep "check explains ignore_services" \
    'note: deploy is governed, but cron is in ignore_services' "$T_OUT"
t_ok "whois by name" "$NHICTL" whois nhi-7f3a2c
t_grep "whois names the owner" '^owner +alice@example.com' "$T_OUT"
t_ok "whois by uid" "$NHICTL" whois 70001

cp "$d/state/pam.cdb" "$d/pam.before"
cp "$d/register.json" "$d/good.json"
# Flip one byte inside the statements (after the header line).
off=$(( $(head -n1 "$d/register.json" | wc -c) + 40 ))
printf 'Z' | dd of="$d/register.json" bs=1 seek="$off" conv=notrunc 2>/dev/null
t_fails "sync refuses a tampered register" "$NHICTL" sync
t_ok "the installed index is unchanged" cmp "$d/pam.before" "$d/state/pam.cdb"
t_ok "check still allows after the failed sync" "$NHICTL" check \
    --service sshd --user deploy --ssh-key "$d/alice_key.pub"
"$NHICTL" status >"$d/status.out" 2>&1; rc=$?
t_eq "status exit 1 after a failed sync" 1 "$rc"
t_grep "status shows the last error" '^last error: ' "$d/status.out"

t_ok "publish an older version" sh -c "'$NHICTL' publish --key '$d/reg.key' \
    --version 4 --expires-in 1h '$d/b1.json' >'$d/register.json'"
t_fails "sync refuses the rollback" "$NHICTL" sync
t_grep "rollback is named" 'rollback' "$T_OUT"
t_ok "index still unchanged" cmp "$d/pam.before" "$d/state/pam.cdb"

t_ok "publish --previous numbers the next version" sh -c "'$NHICTL' publish \
    --key '$d/reg.key' --previous '$d/good.json' --expires-in 1h \
    --deny owner:alice@example.com '$d/b1.json' >'$d/register.json'"
t_ok "sync installs version 6" "$NHICTL" sync
t_grep "version 6" 'installed: version 6' "$T_OUT"
t_fails "check: revoked by owner" "$NHICTL" check --service sshd \
    --user deploy --ssh-key "$d/alice_key.pub"
t_grep "check says revoked" 'decision: deny \(revoked\)' "$T_OUT"

# A key on the deny list loses a checkout too, and is not attributed to
# the checkout's owner.
t_ok "issue a checkout" sh -c "'$NHICTL' issue binding --key '$d/ops.key' \
    --account deploy --owner carol@example.com --approver bob@example.com \
    --ticket OPS-2 --checkout --hosts 'web-*' --services sshd \
    --valid-for 15m >'$d/c1.json'"
t_ok "publish the checkout, bob's key denied" sh -c "'$NHICTL' publish \
    --key '$d/reg.key' --version 7 --expires-in 1h \
    --deny key:$(ssh-keygen -lf "$d/bob_key.pub" | cut -d' ' -f2) \
    '$d/c1.json' >'$d/register.json'"
t_ok "sync installs version 7" "$NHICTL" sync
t_ok "check: checkout lets another key in" "$NHICTL" check --service sshd \
    --user deploy --ssh-key "$d/alice_key.pub"
t_grep "under the checkout's owner" 'owner=carol@example.com' "$T_OUT"
t_fails "check: denied key refused despite the checkout" "$NHICTL" check \
    --service sshd --user deploy --ssh-key "$d/bob_key.pub"
t_grep "check says revoked for the denied key" 'decision: deny \(revoked\)' \
    "$T_OUT"

t_fails "unknown command" "$NHICTL" frobnicate
t_ok "help" "$NHICTL" --help
t_done
