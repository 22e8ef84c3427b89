# tap.sh: the TAP primitives every shell test prints with. Source it.
#
#   ok DESC / not_ok DESC [DIAG...]   one test point (DIAG lines as comments)
#   check DESC CMD...                 a point from a command's status
#   is DESC WANT GOT                  a point from comparing two strings
#   done_testing                      the plan, last; fails if a point failed

t_n=0
t_failed=0

ok() {
	t_n=$((t_n + 1))
	echo "ok $t_n - $1"
}

not_ok() {
	t_n=$((t_n + 1))
	t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	for t_l in "$@"; do
		echo "# $t_l"
	done
}

check() {
	t_desc=$1
	shift
	if "$@"; then ok "$t_desc"; else not_ok "$t_desc"; fi
}

is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "want: $2" "got:  $3"
	fi
}

done_testing() {
	echo "1..$t_n"
	[ "$t_failed" -eq 0 ]
}
