#!/bin/sh
# log.sh: nhictl log verify and show over a decision log written by many
# processes at once, then each kind of tampering, found and reported with
# the right line. Runs as any user.
. "$top_srcdir/tests/integration/lib.sh"
FILL="$top_builddir/tests/audit/dlogfill"
d=$T_TMP
mkdir -p "$d/log" "$d/state"
chmod 700 "$d/state"
cat >"$d/nhi.conf" <<CONF
host_name = testhost
state_dir = $d/state
log_dir = $d/log
CONF
chmod 644 "$d/nhi.conf"
export NHI_CONFIG="$d/nhi.conf"
L="$d/log/decisions.log"

# 50 appenders at once, two owners; then a few records per account.
i=0 pids=
while [ $i -lt 50 ]; do
	o=alice b=b-alice
	[ $((i % 2)) -eq 1 ] && o=carol b=b-carol
	"$FILL" "$d/log" "$d/state" 4 16 deploy $o $b 2>>"$d/fill.err" &
	pids="$pids $!"
	i=$((i + 1))
done
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
t_eq "50 concurrent appenders all succeed" 0 "$failed"
"$FILL" "$d/log" "$d/state" 3 16 web mallory b-web
t_eq "every decision is in the log, none torn" 203 \
    "$(grep -c '"kind":"decision"' "$L")"
t_ok "the log key was made on first use" test -s "$d/state/dlog.key"
t_ok "verify: the chain is intact" "$NHICTL" log verify
t_grep "verify says intact, with verified checkpoints" \
    'intact: .*records.*' "$T_OUT"
t_grep "verify counts the checkpoints it verified" \
    'checkpoints verified, the last at seq' "$T_OUT"
t_grep "verify finds the host's newest checkpoint" \
    'tail is whole' "$T_OUT"

t_ok "show: by owner" sh -c '"$1" log show --owner mallory >"$2"' - \
    "$NHICTL" "$d/show"
t_eq "show --owner prints only that owner's records" 3 \
    "$(grep -c 'owner=mallory' "$d/show")"
t_nogrep "show --owner leaves the others out" 'owner=alice' "$d/show"
t_grep "show is readable: result, service/stage, account, ticket" \
    '^20[0-9-]+T[0-9:]+Z #[0-9]+ decision allow sshd/session account=web .*binding=b-web .*ticket=CHG-1 .*\(ok\)$' \
    "$d/show"
"$NHICTL" log show --account deploy --binding b-carol >"$d/show"
t_eq "show: by account and binding" 100 "$(grep -c 'binding=b-carol' "$d/show")"
"$NHICTL" log show --since "@$(( $(date +%s) + 3600 ))" >"$d/show"
t_eq "show: nothing since an hour from now" 0 "$(wc -l <"$d/show")"
"$NHICTL" log show --until "@$(( $(date +%s) + 3600 ))" --kind checkpoint \
    >"$d/show"
t_grep "show: checkpoints name their key" ' checkpoint key=[0-9a-f]{16}$' \
    "$d/show"
t_fails "show: a bad time is a usage error" "$NHICTL" log show --since never
t_fails "show: an unknown kind is a usage error, not an empty answer" \
    "$NHICTL" log show --kind decisions
t_grep "show: the error names the kinds" "unknown --kind 'decisions'" \
    "$T_OUT"

cp "$L" "$d/good"
# line_of SEQ: the line number holding seq SEQ of the pristine copy.
line_of() { grep -n "^{\"seq\":$1," "$d/good" | cut -d: -f1; }
# seq 100 and 101 are decisions: checkpoints come every 16 records.
n=$(line_of 100)
t_grep "seq 100 is a decision" '"kind":"decision"' \
    "$(sed -n "${n}p" "$d/good" >"$d/l"; echo "$d/l")"

# tamper NAME FAULT LINE: verify exits 1 and names the fault and line.
tamper() {
	t_fails "$1: verify fails" "$NHICTL" log verify
	t_grep "$1: reported as $2 at line $3" "decisions.log: $2 at line $3 " \
	    "$T_OUT"
	cp "$d/good" "$L"
}
sed "${n}s/\"owner\":\"alice\"/\"owner\":\"alicf\"/;${n}s/\"owner\":\"carol\"/\"owner\":\"carom\"/" "$d/good" >"$L"
tamper "a byte edited" edited "$n"
sed "${n}d" "$d/good" >"$L"
tamper "a line deleted" dropped "$n"
awk -v n="$n" 'NR == n { keep = $0; next } { print } NR == n + 1 { print keep }' \
    "$d/good" >"$L"
tamper "two lines swapped" reordered "$n"
awk -v n="$n" '{ print } NR == n { sub(/"owner":"[a-z]+"/, "\"owner\":\"mallory\""); print }' \
    "$d/good" >"$L"
tamper "a line inserted" inserted "$((n + 1))"
head -n "$n" "$d/good" >"$L"
tamper "the tail cut" tail-cut "$((n + 1))"
t_grep "the tail cut: the missing seq is named" \
    'records from seq 101 on were cut off' "$T_OUT"
: >"$L"
tamper "the log emptied" tail-cut 1
t_grep "the log emptied: said so" 'the log is empty' "$T_OUT"
# The next decision moves the head on; the cut it found stays in the log.
head -n "$n" "$d/good" >"$L"
cp "$d/state/dlog.head" "$d/head.good"
"$FILL" "$d/log" "$d/state" 1 16 deploy alice b-alice
t_fails "cut, then a decision: verify still fails" "$NHICTL" log verify
t_grep "cut, then a decision: the cut record is named" \
    "decisions.log: tail-cut at line $((n + 1)) .*it ended at seq 100" \
    "$T_OUT"
t_fails "the same without the head" "$NHICTL" log verify --no-head
cp "$d/good" "$L"
cp "$d/head.good" "$d/state/dlog.head"

# A damaged head cannot vouch for the tail: said, and verify fails.
printf 'garbage' >"$d/state/dlog.head"
t_fails "a damaged head: verify fails" "$NHICTL" log verify
t_grep "a damaged head: said so" 'dlog.head) is damaged' "$T_OUT"
: >"$d/state/dlog.head"
t_fails "an empty head: verify fails" "$NHICTL" log verify
cp "$d/head.good" "$d/state/dlog.head"

t_ok "restored: intact again" "$NHICTL" log verify
t_fails "a FILE that does not exist" "$NHICTL" log verify "$d/nope"
t_done
