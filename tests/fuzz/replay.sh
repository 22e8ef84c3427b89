#!/bin/sh
# replay.sh: every fuzz target over its committed corpus, through the
# replay driver (no libFuzzer), one TAP line per target. A crash, a
# sanitizer report or a broken invariant fails the target's line.
set -u

: "${top_srcdir:?}" "${top_builddir:?}"
targets="dsse binding account statement register conf authinfo pamidx authkeys \
    nss"

n=0
for t in $targets; do n=$((n + 1)); done
echo "1..$n"
i=0
for t in $targets; do
	i=$((i + 1))
	corpus=$top_srcdir/tests/fuzz/corpus/$t
	out=$("$top_builddir/tests/fuzz/fuzz_$t" "$corpus" 2>&1)
	rc=$?
	inputs=$(printf '%s\n' "$out" | sed -n 's/^\([0-9][0-9]*\) inputs$/\1/p')
	if [ "$rc" -eq 0 ] && [ "${inputs:-0}" -gt 0 ]; then
		echo "ok $i - fuzz_$t replays its corpus ($inputs inputs)"
	else
		echo "not ok $i - fuzz_$t replays its corpus (exit $rc)"
		printf '%s\n' "$out" | tail -n 30 | sed 's/^/# /'
	fi
done
