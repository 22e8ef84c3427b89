#!/bin/sh
# nhictl sync against a real nginx over TLS on 127.0.0.1 (test CA made
# here with openssl), and against misbehaving peers: every failure leaves
# the installed register as it was, with exit status 1 and its reason.
# Needs root (nginx workers, a tmpfs in a mount namespace); CI runs as root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/https/lib.sh"

[ "$(id -u)" -eq 0 ] || t_skip_all "needs root"
for p in nginx openssl python3 unshare; do
	command -v $p >/dev/null 2>&1 || t_skip_all "$p not installed"
done
MKST=$top_builddir/tests/https/mkstatements
d=$T_TMP
chmod 755 "$d"
umask 022
cd "$d" || exit 1
PIDS=""
cleanup() {
	for f in $PIDS; do https_stop "$f"; done
	rm -rf "$d"
}
trap cleanup EXIT INT TERM

# Keys, statements, registers.
"$NHICTL" keygen "$d/ops" >/dev/null && "$NHICTL" keygen "$d/reg" >/dev/null &&
"$NHICTL" keygen "$d/reg2" >/dev/null || { echo "Bail out! keygen"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -f "$d/alice_key" -C alice
issue() { # ID ACCOUNT
	"$NHICTL" issue binding --key "$d/ops.key" --id "$1" --account "$2" \
	    --owner alice@example.com --approver bob@example.com \
	    --ticket OPS-1 --ssh-key "$d/alice_key.pub" --hosts 'web-*' \
	    --services sshd --valid-for 2h
}
issue b-deploy deploy >"$d/b1.json"
issue b-root root >"$d/b2.json"
issue b-other svc-other >"$d/b3.json"
"$NHICTL" issue account --key "$d/ops.key" --name svc-acct --uid 70001 \
    --gid 70001 --owner alice@example.com >"$d/a1.json"
WWW=$d/www
mkdir -p "$WWW"
publish() { # OUT VERSION EXPIRES KEY FILES...
	_o=$1 _v=$2 _x=$3 _k=$4; shift 4
	"$NHICTL" publish --key "$_k" --version "$_v" --expires-in "$_x" "$@" \
	    >"$_o"
}
publish "$WWW/register.json" 1 1h "$d/reg.key" "$d/b1.json" "$d/a1.json"
cp "$WWW/register.json" "$d/v1.json"
publish "$d/v2.json" 2 1h "$d/reg.key" "$d/b1.json" "$d/b2.json"
publish "$d/v2b.json" 2 1h "$d/reg.key" "$d/b1.json" "$d/b3.json"
: >"$WWW/empty.json"
head -c 300 "$d/v2.json" >"$WWW/truncated.json"
printf '<html><body><h1>503 Service Unavailable</h1></body></html>\n' \
    >"$WWW/html.json"
head -c 700000 /dev/zero | tr '\0' 'x' >"$WWW/big.json"

# The origin: nginx with four certificates, plus plain http.
PKI=$d/pki
https_pki "$PKI" || { echo "Bail out! openssl"; exit 1; }
PG=$(https_free_port); PW=$(https_free_port); PE=$(https_free_port)
PO=$(https_free_port); PH=$(https_free_port); PR=$(https_free_port)
cat >"$d/http.conf" <<NGINX
    server {
        listen 127.0.0.1:$PG ssl; server_name localhost;
        ssl_certificate $PKI/good.pem; ssl_certificate_key $PKI/good.key;
        root $WWW;
        location = /500.json { return 500; }
        location = /loop.json { return 302 https://localhost:$PG/loop.json; }
        location = /tohttp.json { return 302 http://127.0.0.1:$PH/register.json; }
        location / { try_files \$uri =404; }
    }
    server {
        listen 127.0.0.1:$PW ssl;
        ssl_certificate $PKI/wrong.pem; ssl_certificate_key $PKI/wrong.key;
        root $WWW;
    }
    server {
        listen 127.0.0.1:$PE ssl;
        ssl_certificate $PKI/expired.pem; ssl_certificate_key $PKI/expired.key;
        root $WWW;
    }
    server {
        listen 127.0.0.1:$PO ssl;
        ssl_certificate $PKI/other.pem; ssl_certificate_key $PKI/other.key;
        root $WWW;
    }
    server { listen 127.0.0.1:$PH; root $WWW; }
NGINX
https_nginx_start "$d/ng" "$d/http.conf" || { echo "Bail out! nginx"; cat "$d/ng/logs/error.log"; exit 1; }
PIDS="$PIDS $d/ng/nginx.pid"
peer() { # MODE PORT
	python3 "$top_srcdir/tests/https/peer.py" "$1" "$2" "$PKI/good.pem" \
	    "$PKI/good.key" "$d/$1.pid" </dev/null >/dev/null 2>&1 &
	_i=0
	while [ ! -s "$d/$1.pid" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	PIDS="$PIDS $d/$1.pid"
}
PHANG=$(https_free_port); peer hang "$PHANG"
PDRIP=$(https_free_port); peer drip "$PDRIP"
PCLOSE=$(https_free_port); peer close "$PCLOSE"
G=https://localhost:$PG

# Host configurations: short timeouts keep the whole file quick.
TIMEOUTS_TEST="fetch_connect_timeout = 2s
fetch_timeout = 10s
fetch_low_speed_time = 3s"
mkconf() { # FILE EXTRA-LINES URL...
	_f=$1 _x=$2; shift 2
	{
		echo "host_name = web-01"
		echo "clock_skew = 1s"
		echo "govern_users = deploy, root, svc-*"
		echo "state_dir = $d/state"
		for _u; do echo "register_url = $_u"; done
		echo "${REGKEY:-register_key = $(cut -d' ' -f2 "$d/reg.pub")}"
		printf '%s\n' "${TIMEOUTS:-$TIMEOUTS_TEST}"
		printf '%s\n' "$_x"
		echo "[issuer ops]"
		echo "key = $(cut -d' ' -f2 "$d/ops.pub")"
		echo "accounts = deploy, root, svc-*"
		echo "services = *"
		echo "max_window = 8h"
	} >"$_f"
}
CA="ca_file = $PKI/ca.pem
max_register_size = 512K"
conf_for() { mkconf "$d/c.conf" "$CA" "$@"; echo "$d/c.conf"; }
mkdir -p "$d/state"
snap() { cat "$d/state/pam.cdb" "$d/state/nss.cdb" 2>/dev/null | sha256sum; }
version() { "$NHICTL" status --config "$1" 2>/dev/null | sed -n 's/^version: *//p'; }

# sync_fails DESC REASON URL... : exit 1, the reason, nothing changed.
sync_fails() {
	_desc=$1 _why=$2; shift 2
	_c=$(conf_for "$@")
	_before=$(snap)
	"$NHICTL" sync --config "$_c" >"$d/out" 2>&1; _rc=$?
	t_eq "$_desc: exit status 1" 1 "$_rc"
	t_grep "$_desc: reason $_why" "result=failed .*reason=$_why( |\$)" "$d/out"
	t_eq "$_desc: installed register unchanged" "$_before" "$(snap)"
}

# Good path, then 304.
C=$(conf_for "$G/register.json")
t_ok "good path: sync over https installs version 1" "$NHICTL" sync --config "$C"
t_grep "good path: one log line, installed" "^nhi-sync result=installed source=\"$G/register.json\" version=1 .*reason=ok" "$T_OUT"
t_eq "good path: status shows version 1" 1 "$(version "$C")"
n0=$(wc -l <"$d/ng/logs/access.log")
t_ok "304: second sync succeeds" "$NHICTL" sync --config "$C"
t_grep "304: reported as not modified" "result=not-modified .*reason=not-modified" "$T_OUT"
t_eq "304: one request, answered 304" "304" \
    "$(tail -n +$((n0 + 1)) "$d/ng/logs/access.log" | awk '{print $9}' | tr '\n' ' ' | sed 's/ $//')"
t_ok "status after 304 is fresh (exit 0)" "$NHICTL" status --config "$C"
# The issuer may no longer issue svc-* accounts: the installed index was
# compiled under other rules, so no 304 may keep it.
sed -i 's/^accounts = deploy, root, svc-\*$/accounts = deploy, root/' "$C"
t_ok "narrowed issuer: sync succeeds" "$NHICTL" sync --config "$C"
t_grep "narrowed issuer: compiled again, not kept by a 304" \
    "result=installed .*version=1 bindings=1 accounts=0 deny=0 rejected=1 " \
    "$T_OUT"
C=$(conf_for "$G/register.json")
cp "$d/v2.json" "$WWW/register.json"
t_ok "changed register: sync installs version 2" "$NHICTL" sync --config "$C"
t_grep "changed register: installed" "result=installed .*version=2 " "$T_OUT"
t_grep "changed register: unchanged signature not verified again" " verified=1 cached=1 " "$T_OUT"

# HTTP and body failures.
sync_fails "404" http "$G/nothere.json"
sync_fails "500" http "$G/500.json"
sync_fails "HTML error page" bad-register "$G/html.json"
sync_fails "empty body" bad-register "$G/empty.json"
sync_fails "truncated body" bad-register "$G/truncated.json"
sync_fails "oversized body" too-large "$G/big.json"
t_ok "status reports the last failure (exit 1)" sh -c "! '$NHICTL' status --config '$C' >'$d/st' 2>&1"
t_grep "status names the last error" '^last error: .*larger than max_register_size' "$d/st"

# Transport failures.
t0=$(date +%s)
sync_fails "slow drip" timeout "https://localhost:$PDRIP/register.json"
t_ok "slow drip is cut off within 10 s" test $(($(date +%s) - t0)) -le 10
t0=$(date +%s)
sync_fails "accept and never answer" timeout "https://localhost:$PHANG/register.json"
t_ok "silent peer is cut off within 10 s" test $(($(date +%s) - t0)) -le 10
sync_fails "connection refused" unreachable "https://localhost:$PR/register.json"
sync_fails "peer closes after TLS (no SIGPIPE)" unreachable "https://localhost:$PCLOSE/register.json"
sync_fails "wrong CA" tls "https://localhost:$PO/register.json"
sync_fails "wrong host name" tls "https://localhost:$PW/register.json"
sync_fails "expired certificate" tls "https://localhost:$PE/register.json"
sync_fails "redirect loop" redirect "$G/loop.json"
sync_fails "redirect to http" protocol "$G/tohttp.json"
mkconf "$d/http.conf" "" "http://127.0.0.1:$PH/register.json"
t_fails "plain http URL refused by the config" "$NHICTL" sync --config "$d/http.conf"
t_grep "plain http URL: clear message" "expected a file:/// or https:// URL" "$T_OUT"

# CA directory and pinned key.
mkdir -p "$d/cadir" && cp "$PKI/ca.pem" "$d/cadir/" && openssl rehash "$d/cadir" 2>/dev/null
PIN=sha256//$(openssl pkey -in "$PKI/good.key" -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -binary | base64)
mkconf "$d/cadir.conf" "ca_dir = $d/cadir" "$G/register.json"
t_ok "ca_dir alone verifies the server" "$NHICTL" sync --config "$d/cadir.conf"
mkconf "$d/pin.conf" "$CA
pinned_pubkey = $PIN" "$G/register.json"
t_ok "matching pinned key accepted" "$NHICTL" sync --config "$d/pin.conf"
CA_SAVE=$CA
CA="$CA
pinned_pubkey = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
sync_fails "wrong pinned key" tls "$G/register.json"
CA=$CA_SAVE

# Mirrors.
C=$(conf_for "https://localhost:$PR/register.json" "$G/register.json")
t_ok "first mirror down, second good" "$NHICTL" sync --config "$C"
t_grep "second mirror named as the source" "source=\"$G/register.json\"" "$T_OUT"

# What only matters with a remote source.
cp "$d/v1.json" "$WWW/old.json"
sync_fails "rollback" rollback "$G/old.json"
cp "$d/v2b.json" "$WWW/same.json"
sync_fails "same version, different body" same-version-different-hash "$G/same.json"
publish "$WWW/expired.json" 3 1s "$d/reg.key" "$d/b1.json"
sleep 3
sync_fails "expired register" expired "$G/expired.json"
t_eq "still version 2 after every refusal" 2 "$(version "$C")"

# Register key rotation: reg2 pinned from now on, reg valid only until a
# past time; a register signed by the retired key is refused.
past=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
ROT="register_key = $(cut -d' ' -f2 "$d/reg2.pub")"
publish "$WWW/rot.json" 4 1h "$d/reg2.key" "$d/b1.json"
publish "$WWW/oldkey.json" 5 1h "$d/reg.key" "$d/b1.json"
mkconf "$d/rot.conf" "$CA
$ROT" "$G/rot.json"
t_ok "rotation: a register signed by the new key is accepted" "$NHICTL" sync --config "$d/rot.conf"
REGKEY="register_key = $(cut -d' ' -f2 "$d/reg.pub") not_after=$past" \
    mkconf "$d/rot2.conf" "$CA
$ROT" "$G/oldkey.json"
unset REGKEY
t_grep "rotation: old key has a validity window" "not_after=$past" "$d/rot2.conf"
t_fails "rotation: the retired key no longer signs" "$NHICTL" sync --config "$d/rot2.conf"
t_grep "rotation: refused as not valid now" "register_key .* is not valid at" "$T_OUT"
t_eq "rotation: version 4 stays" 4 "$(version "$d/rot.conf")"
VER=5

# Two syncs at once: one holds the lock on a dripping peer.
TIMEOUTS="fetch_low_speed_time = 8s" mkconf "$d/slow.conf" "$CA" \
    "https://localhost:$PDRIP/register.json"
unset TIMEOUTS
"$NHICTL" sync --config "$d/slow.conf" >/dev/null 2>&1 &
slow=$!
sleep 1
C=$(conf_for "$G/register.json")
"$NHICTL" sync --config "$C" >"$d/out" 2>&1; rc=$?
t_eq "two syncs: the second exits 1" 1 "$rc"
t_grep "two syncs: reason locked" "reason=locked" "$d/out"
t_grep "two syncs: clear message" "another sync is running" "$d/out"
wait $slow

# A disk too small for the new register: a 256 KiB tmpfs in a namespace.
"$MKST" "$d/ops.key" 1500 big >"$d/big.st" || echo "# mkstatements failed"
publish "$d/big.json" $((VER + 1)) 1h "$d/reg2.key" "$d/b1.json" "$d/big.st"
mkconf "$d/disk.conf" "max_register_size = 64M
register_key = $(cut -d' ' -f2 "$d/reg2.pub")" "file://$d/big.json"
cat >"$d/disk.sh" <<EOF
set -e
mkdir -p $d/keep && cp -a $d/state/. $d/keep/
mount -t tmpfs -o size=256k tmpfs $d/state
cp -a $d/keep/. $d/state/
set +e
'$NHICTL' sync --config $d/disk.conf >$d/disk.out 2>&1
echo "rc=\$?" >>$d/disk.out
'$NHICTL' status --config $d/disk.conf | sed -n 's/^version: */version=/p' >>$d/disk.out
ls $d/state | grep -c '\.tmp\.' | sed 's/^/tmpfiles=/' >>$d/disk.out
EOF
unshare -m --propagation private sh "$d/disk.sh"
t_grep "small disk: exit status 1" '^rc=1$' "$d/disk.out"
t_grep "small disk: reason disk" 'result=failed .*reason=disk' "$d/disk.out"
t_grep "small disk: version 4 still installed" '^version=4$' "$d/disk.out"
t_grep "small disk: no temporary file left" '^tmpfiles=0$' "$d/disk.out"

# A sync killed during install leaves the old register or the new one,
# whole, and the next sync removes what it left.
"$MKST" "$d/ops.key" 30000 kill >"$d/kill.st"
t_ok "killed sync: a first larger register installs" "$NHICTL" sync --config "$d/disk.conf"
VER=$((VER + 2))
publish "$d/kill.json" $VER 1h "$d/reg2.key" "$d/b1.json" "$d/kill.st"
sed -i "s|file://$d/big.json|file://$d/kill.json|" "$d/disk.conf"
"$NHICTL" sync --config "$d/disk.conf" >/dev/null 2>&1 &
killme=$!
i=0
while ! ls "$d/state" | grep -q '^pam.cdb.tmp' && [ $i -lt 1000 ]; do
	sleep 0.01; i=$((i + 1))
done
kill -9 $killme 2>/dev/null; wait $killme 2>/dev/null
t_ok "killed sync: it was killed mid-write" test $i -lt 1000
v=$(version "$d/disk.conf")
t_ok "killed sync: the installed index is whole (version $v)" \
    sh -c "[ '$v' = $((VER - 1)) ] || [ '$v' = $VER ]"
t_ok "killed sync: decisions still work" "$NHICTL" check --config "$d/disk.conf" \
    --service sshd --user deploy --ssh-key "$d/alice_key.pub"
t_ok "killed sync: the next sync installs" "$NHICTL" sync --config "$d/disk.conf"
t_eq "killed sync: no temporary file left" 0 "$(ls "$d/state" | grep -c '\.tmp\.')"

# Decisions in other processes while syncs swap the index.
loop() { # N OUT
	_bad=0; _i=0
	while [ $_i -lt "$1" ]; do
		"$NHICTL" check --config "$d/disk.conf" --service sshd \
		    --user deploy --ssh-key "$d/alice_key.pub" >/dev/null 2>&1 ||
		    _bad=$((_bad + 1))
		_i=$((_i + 1))
	done
	echo "$_bad" >"$2"
}
loop 150 "$d/loop1" & l1=$!
loop 150 "$d/loop2" & l2=$!
swaps=0
while kill -0 $l1 2>/dev/null || kill -0 $l2 2>/dev/null; do
	VER=$((VER + 1))
	if [ $((VER % 2)) -eq 0 ]; then extra=$d/b2.json; else extra=$d/b3.json; fi
	publish "$d/swap.json" $VER 1h "$d/reg2.key" "$d/b1.json" "$extra"
	"$NHICTL" sync --config "$d/disk.conf" --file "$d/swap.json" >/dev/null 2>&1 &&
	    swaps=$((swaps + 1))
done
wait $l1 $l2
t_ok "concurrent decisions: the index was swapped many times ($swaps)" test "$swaps" -ge 5
t_eq "concurrent decisions: no wrong decision in process 1" 0 "$(cat "$d/loop1")"
t_eq "concurrent decisions: no wrong decision in process 2" 0 "$(cat "$d/loop2")"

t_done
