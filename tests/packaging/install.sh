#!/bin/sh
# install.sh: `make install` (into a DESTDIR) puts every file where this
# build's directories say, the systemd units included, and the service
# runs the nhictl that was installed.
. "$top_srcdir/tests/tap.sh"

W=$(mktemp -d /tmp/nhi-install.XXXXXX)
trap 'rm -rf --one-file-system "$W"' EXIT
trap 'exit 1' INT TERM
R=$W/root

# One variable of the build's Makefile, expanded. Under `make check` the
# flags of the make that runs the tests (-j, -w) are in the environment
# and would add "Entering directory" lines to the value: drop them.
mkvar() {
	printf 'nhi-print-var:\n\t@echo $(%s)\n' "$1" |
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s \
	    --no-print-directory -C "$top_builddir" -f Makefile -f - \
	    nhi-print-var
}

make -C "$top_builddir" install DESTDIR="$R" >"$W/log" 2>&1
st=$?
check "make install succeeds" test $st -eq 0
[ $st -eq 0 ] || sed 's/^/# /' "$W/log" | tail -n 20

sbindir=$(mkvar sbindir)
pammoddir=$(mkvar pammoddir)
libdir=$(mkvar libdir)
mandir=$(mkvar mandir)
unitdir=$(mkvar systemdsystemunitdir)

check "nhictl in sbindir ($sbindir)" test -x "$R$sbindir/nhictl"
check "pam_nhi.so in the PAM module directory ($pammoddir)" \
    test -f "$R$pammoddir/pam_nhi.so"
check "libnss_nhi.so.2 in libdir ($libdir)" test -f "$R$libdir/libnss_nhi.so.2"
for m in man8/pam_nhi.8 man8/libnss_nhi.8 man8/nhictl.8 man5/nhi.conf.5; do
	check "man page $m" test -f "$R$mandir/$m"
done

if [ "$unitdir" = no ] || [ -z "$unitdir" ]; then
	t_n=$((t_n + 1))
	echo "ok $t_n # SKIP built without systemd units"
else
	check "nhi-sync.timer in the unit directory ($unitdir)" \
	    test -f "$R$unitdir/nhi-sync.timer"
	is "the service runs the installed nhictl" \
	    "ExecStart=$sbindir/nhictl sync" \
	    "$(grep '^ExecStart=' "$R$unitdir/nhi-sync.service" 2>/dev/null)"
	check "no placeholder is left in the service" \
	    sh -c '! grep -q "@[a-z_]*@" "$1"' - "$R$unitdir/nhi-sync.service"
fi

make -C "$top_builddir" uninstall DESTDIR="$R" >"$W/log" 2>&1
check "make uninstall succeeds" test $? -eq 0
left=$(find "$R" -type f | sed "s|^$R||")
is "make uninstall leaves no file behind" "" "$left"

done_testing
