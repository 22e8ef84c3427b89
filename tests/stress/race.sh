#!/bin/sh
# race.sh: 8 processes make PAM decisions while nhictl sync installs one
# register after another (tests/stress/pam_race.c checks each decision
# against the versions installed around it). CI runs a small size;
# NHI_STRESS=large runs 8 x 10 000 decisions over 100 installs.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/stress/lib.sh"

workers=8
decisions=$(s_size 300 10000)
installs=$(s_size 10 100)
pause=$(s_size 0.1 2)

t_ok "fixture" s_setup
v=1
while [ "$v" -le "$installs" ]; do
	s_register "$v" "$T_TMP/reg-$v" || break
	v=$((v + 1))
done
t_eq "$installs registers published" "$installs" "$((v - 1))"
t_ok "version 1 installed" "$NHICTL" sync --config "$S_CONF" \
    --file "$T_TMP/reg-1"

pids=
i=1
while [ "$i" -le "$workers" ]; do
	"$top_builddir/tests/stress/pam_race" "$S_PAMD" sshd \
	    "$S_STATE/pam.cdb" "$decisions" "$S_KEY_A" \
	    >"$T_TMP/worker-$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
# The installs, spread over the workers' run.
synced=1
failed=0
v=2
while [ "$v" -le "$installs" ]; do
	sleep "$pause"
	if "$NHICTL" sync --config "$S_CONF" --file "$T_TMP/reg-$v" \
	    >"$T_TMP/sync-$v" 2>&1; then
		synced=$((synced + 1))
	else
		failed=$((failed + 1))
		sed 's/^/# /' "$T_TMP/sync-$v"
	fi
	v=$((v + 1))
done
i=1
for p in $pids; do
	if wait "$p"; then st=0; else st=$?; fi
	echo "# worker $i: $(tail -n1 "$T_TMP/worker-$i") (exit $st)"
	t_grep "worker $i: no wrong decision, no crash" \
	    "^$decisions decisions, [0-9]+ allowed, [0-9]+ denied, 0 wrong\$" \
	    "$T_TMP/worker-$i"
	i=$((i + 1))
done
t_eq "every install succeeded" "$installs 0" "$synced $failed"
allowed=$(cat "$T_TMP"/worker-* | sed -n 's/.* \([0-9]*\) allowed, \([0-9]*\) denied.*/\1 \2/p' |
    awk '{ a += $1; d += $2 } END { print (a > 0 && d > 0) ? "both" : a "/" d }')
t_eq "decisions saw both kinds of register" both "$allowed"
t_done
