#!/bin/sh
# The manual pages format without a single groff warning, and each page in
# doc/ is installed. man(1) prints warnings on standard error and still
# exits 0, so a page passes only when that output is empty.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

# lint FILE: man's warnings for FILE, on standard output.
lint() {
	man --warnings -E UTF-8 -l -Tutf8 -Z "$1" 2>&1 >/dev/null
}

if ! command -v man >/dev/null 2>&1; then
	t_fail "man(1) is installed (scripts/deps test installs man-db)"
	t_done
	exit 1
fi

# The linter itself must catch a broken page, or the checks below prove
# nothing.
printf '.TH BROKEN 8\n.SH NAME\nbroken \\- a page\n.Zz undefined\n' \
    >"$T_TMP/broken.8"
lint "$T_TMP/broken.8" >"$T_OUT"
if [ -s "$T_OUT" ]; then
	t_pass "a page with an undefined macro draws a warning"
else
	t_fail "a page with an undefined macro draws a warning"
fi

n=0
for page in "$top_srcdir"/doc/*.[58]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	name=${page##*/}
	lint "$page" >"$T_OUT"
	if [ -s "$T_OUT" ]; then
		t_fail "$name formats without warnings"
		t_show
	else
		t_pass "$name formats without warnings"
	fi
	t_grep "$name is in dist_man_MANS" "doc/$name" \
	    "$top_srcdir/doc/local.mk"
done
t_eq "doc/ holds the manual pages" yes "$([ $n -ge 3 ] && echo yes)"
t_done
