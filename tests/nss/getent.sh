#!/bin/sh
# libnss_nhi.so.2 from the build tree through glibc: getent -s with
# LD_LIBRARY_PATH, and id under nss_wrapper. Run as an ordinary user: when
# started as root, every lookup runs as nobody (setpriv), so nothing here
# needs or uses privileges. The machine's /etc is never touched.
set -u

: "${top_builddir:=.}"
lib=$(cd "$top_builddir/nss_nhi/.libs" && pwd)
so=$lib/libnss_nhi.so.2
mkidx=$top_builddir/tests/nss/mkidx

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nhi-nss.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

. "${top_srcdir:-$(dirname "$0")/../..}/tests/tap.sh"

# A sanitizer build of the module needs its runtime loaded first.
preload=
if readelf -d "$so" | grep -q 'NEEDED.*libasan'; then
	preload=$(${CC:-cc} -print-file-name=libasan.so)
fi

# as_user CMD...: runs CMD unprivileged, with the module and the index.
as_user() {
	set -- env LD_LIBRARY_PATH="$lib" NHI_NSS_INDEX="$tmp/nss.cdb" \
	    ${preload:+LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0} "$@"
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	else
		"$@"
	fi
}

cat >"$tmp/desc" <<'EOF'
user:nhi-7f3a2c:70001:70001:nhi owner alice@example.com:/home/nhi-7f3a2c:/bin/sh
user:nhi-b0b:70002:70010:nhi owner bob@example.com:/nonexistent:/usr/sbin/nologin
group:nhi-7f3a2c:70001:
group:nhi-ops:70010:nhi-7f3a2c,nhi-b0b
group:nhi-audit:70012:nhi-7f3a2c
EOF
"$mkidx" -e "$tmp/nss.cdb" "$tmp/desc" || exit 1

alice='nhi-7f3a2c:x:70001:70001:nhi owner alice@example.com:/home/nhi-7f3a2c:/bin/sh'
bob='nhi-b0b:x:70002:70010:nhi owner bob@example.com:/nonexistent:/usr/sbin/nologin'

is "getent passwd by name names the owner" "$alice" \
    "$(as_user getent -s passwd:nhi passwd nhi-7f3a2c)"
is "getent passwd by uid" "$bob" "$(as_user getent -s passwd:nhi passwd 70002)"
as_user getent -s passwd:nhi passwd nhi-absent >/dev/null
is "getent passwd of an absent name exits 2" 2 $?
as_user getent -s passwd:nhi passwd 'a:b' >/dev/null
is "getent passwd of an invalid name exits 2" 2 $?
is "files first, then nhi" "root:x:0:0:root:/root:/bin/bash
$bob" "$(as_user getent -s 'passwd:files nhi' passwd root nhi-b0b)"
is "getent group by name lists members" "nhi-ops:x:70010:nhi-7f3a2c,nhi-b0b" \
    "$(as_user getent -s group:nhi group nhi-ops)"
is "getent group by gid" "nhi-audit:x:70012:nhi-7f3a2c" \
    "$(as_user getent -s group:nhi group 70012)"
is "getent initgroups uses the member index" "nhi-7f3a2c 70010 70012" \
    "$(as_user getent -s group:nhi initgroups nhi-7f3a2c | tr -s ' ')"
is "getent passwd enumerates when enabled" "$alice
$bob" "$(as_user getent -s passwd:nhi passwd)"
is "getent group enumerates when enabled" "nhi-7f3a2c:x:70001:
nhi-ops:x:70010:nhi-7f3a2c,nhi-b0b
nhi-audit:x:70012:nhi-7f3a2c" "$(as_user getent -s group:nhi group)"

"$mkidx" "$tmp/nss.cdb" "$tmp/desc" || exit 1
is "getent passwd lists nothing when enumeration is off" "" \
    "$(as_user getent -s passwd:nhi passwd)"
is "lookups work with enumeration off" "$alice" \
    "$(as_user getent -s passwd:nhi passwd nhi-7f3a2c)"

rm -f "$tmp/nss.cdb"
out=$(as_user getent -s passwd:nhi passwd nhi-7f3a2c)
is "a missing index answers nothing (exit 2)" "2:" "$?:$out"

"$mkidx" -e "$tmp/nss.cdb" "$tmp/desc" || exit 1
printf 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' \
    >"$tmp/passwd"
printf 'nogroup:x:65534:\n' >"$tmp/group"
chmod 644 "$tmp/passwd" "$tmp/group"
out=$(as_user env LD_PRELOAD="${preload:+$preload:}libnss_wrapper.so" \
    NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group" \
    NSS_WRAPPER_MODULE_SO_PATH="$so" NSS_WRAPPER_MODULE_FN_PREFIX=nhi \
    id nhi-7f3a2c 2>&1)
case $out in
uid=70001\(nhi-7f3a2c\)\ gid=70001\(nhi-7f3a2c\)\ groups=*70010\(nhi-ops\)*)
	ok "id under nss_wrapper shows the name and groups" ;;
*)
	not_ok "id under nss_wrapper shows the name and groups" "got: $out" ;;
esac

# Only libc is loaded with the module (and a sanitizer runtime, if built
# so); libcdb too where configure found no PIC archive of it.
needed=$(readelf -d "$so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' |
    grep -v -e '^libasan' -e '^libubsan' | tr '\n' ' ')
want="libc.so.6 "
grep -q '^#define NHI_NSS_STATIC_CDB 1' "$top_builddir/config.h" ||
	want="libcdb.so.1 libc.so.6 "
is "the module needs libc only (and libcdb if not linked in)" "$want" \
    "$needed"
others=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_nss_nhi_')
is "the module exports only _nss_nhi_*" "" "$others"
count=$(nm -D --defined-only "$so" | grep -c ' T _nss_nhi_')
is "all eleven entry points are exported" 11 "$count"

done_testing
