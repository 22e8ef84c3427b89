# lib.sh: TAP helpers for the shell tests. Source it; call t_done last.
#
#   t_ok DESC CMD...        passes when CMD exits 0
#   t_fails DESC CMD...     passes when CMD exits non-zero
#   t_grep DESC RE FILE     passes when FILE has a line matching RE
#   t_nogrep DESC RE FILE   passes when FILE has no line matching RE
#   t_eq DESC WANT GOT
# Output of a failing command is shown as TAP comments.

set -u
: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/tap.sh"
NHICTL=${NHICTL:-$top_builddir/nhictl/nhictl}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nhi-t.XXXXXX")
T_OUT=$T_TMP/.out

t_pass() { ok "$*"; }
t_fail() { not_ok "$*"; }
t_show() { sed 's/^/# /' "$T_OUT" | head -n 40; }
t_ok() {
	_t_d=$1; shift
	if "$@" >"$T_OUT" 2>&1; then t_pass "$_t_d"; else t_fail "$_t_d"; t_show; fi
}
t_fails() {
	_t_d=$1; shift
	if "$@" >"$T_OUT" 2>&1; then t_fail "$_t_d"; t_show; else t_pass "$_t_d"; fi
}
t_grep() {
	if grep -qE -- "$2" "$3" 2>/dev/null; then t_pass "$1"
	else t_fail "$1"; echo "# no line matching /$2/ in $3:"
		sed 's/^/#   /' "$3" 2>/dev/null | tail -n 20; fi
}
t_nogrep() {
	if grep -qE -- "$2" "$3" 2>/dev/null; then t_fail "$1"
		echo "# unexpected line matching /$2/ in $3:"
		grep -E -- "$2" "$3" | sed 's/^/#   /' | head -n 5
	else t_pass "$1"; fi
}
t_eq() { is "$@"; }
t_skip_all() { echo "1..0 # SKIP $*"; rm -rf "$T_TMP"; exit 0; }
# The scratch folder goes on exit, after anything a test's own EXIT trap
# stops by the pid files it keeps there (a test that sets its own trap
# removes the folder itself).
trap 'rm -rf "$T_TMP"' EXIT
t_done() { done_testing; }
