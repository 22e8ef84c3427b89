#!/bin/sh
# mkseeds.sh NHICTL OUTDIR: makes the seed inputs of the fuzz targets from
# real artefacts (keys, statements, a register, both indexes) produced by
# nhictl, plus the hand-made framings the targets expect (see the comment
# at the top of each fuzz_<target>.c). The committed corpora under
# tests/fuzz/corpus/ began as this script's output.
set -eu

nhictl=$1
out=$2
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
umask 022

"$nhictl" keygen "$w/ops" >/dev/null
"$nhictl" keygen "$w/reg" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$w/alice" -C alice
ssh-keygen -q -t rsa -b 1024 -N '' -f "$w/bob" -C bob
cat >"$w/nhi.conf" <<CONF
# a host
mode = enforce
host_name = web-01
host_groups = prod, web
clock_skew = 60s
govern_users = deploy, root, app-*
govern_uids = 5000-5999
account_uids = 70000-79999
account_gids = 70000-79999
enumerate = yes
state_dir = $w/state
register_url = file://$w/register.json
register_key = $(cut -d' ' -f2 "$w/reg.pub")
break_glass = root@login

[issuer ops]
key = $(cut -d' ' -f2 "$w/ops.pub")
accounts = deploy, nhi-*, app-*
services = *
max_window = 8h
CONF
mkdir -p "$w/state"
export NHI_CONFIG="$w/nhi.conf"

issue() { "$nhictl" issue "$@" --key "$w/ops.key"; }
issue binding --account deploy --owner alice@example.com \
    --approver bob@example.com --ticket OPS-1 --ssh-key "$w/alice.pub" \
    --hosts 'web-*,@prod' --services sshd --valid-for 15m >"$w/b1"
issue binding --account deploy --owner carol --approver bob --ticket OPS-2 \
    --user carol --hosts '*' --services su,sudo --valid-for 1h \
    --source 10.0.0.0/8,2001:db8::/32 --max-session 600 >"$w/b2"
issue binding --account app-db --owner dave --approver bob --ticket OPS-3 \
    --checkout --hosts web-01 --services '*' --valid-for 2h >"$w/b3"
issue binding --account deploy --owner erin --approver bob --ticket OPS-4 \
    --ssh-key "$w/bob.pub" --hosts web-01 --services sshd \
    --valid-for 1h >"$w/b4"
issue binding --account deploy --owner frank --approver bob --ticket OPS-5 \
    --ssh-key "$w/alice.pub" --hosts web-01 --services sshd --valid-for 30m \
    --source 192.0.2.0/24,10.1.2.3,2001:db8:0:1::/64 >"$w/b5"
ssh-keygen -q -t ed25519 -N '' -f "$w/ca" -C ca
ssh-keygen -q -s "$w/ca" -I alice -n deploy -V +1h "$w/alice.pub"
issue binding --account deploy --owner alice --approver bob --ticket OPS-6 \
    --ssh-key "$w/alice-cert.pub" --hosts web-01 --services sshd \
    --valid-for 1h >"$w/b6"
issue account --name nhi-7f3a2c --uid 70001 --gid 70001 \
    --owner alice@example.com --description 'nightly backup' \
    --home /var/lib/backup --shell /bin/sh --groups users \
    --recertify-by 2030-01-01 >"$w/a1"
issue account --name nhi-ops --uid 70002 --gid 70002 --owner bob \
    >"$w/a2"
cat "$w/b1" "$w/b2" "$w/b3" "$w/b4" "$w/a1" "$w/a2" >"$w/all"
"$nhictl" publish --key "$w/reg.key" --version 3 --expires-in 1h \
    --deny b-none --deny owner:mallory "$w/all" >"$w/register.json"
"$nhictl" sync >/dev/null

payload() { sed 's/.*"payload": *"\([^"]*\)".*/\1/' "$1" | base64 -d; }
seed() { mkdir -p "$out/$1"; cat >"$out/$1/$2"; }

for s in b1 b2 b3 b4 a1; do seed dsse "$s" <"$w/$s"; done
head -n1 "$w/register.json" | seed dsse header
for s in b1 b2 b3 b4; do payload "$w/$s" | seed binding "$s"; done
for s in a1 a2; do payload "$w/$s" | seed account "$s"; done

# fuzz_statement: 0x00 + envelope; odd bytes: payloads it signs itself.
for s in b1 a1; do { printf '\000'; cat "$w/$s"; } | seed statement "raw-$s"; done
for s in b1 b2 b3; do
	{ printf '\001'; payload "$w/$s" |
	    sed 's/"issuer": *"[0-9a-f]*"/"issuer": "@ISSUER@"/'; } |
	    seed statement "signed-$s"
done
{ printf '\003'; payload "$w/a1" |
    sed 's/"issuer": *"[0-9a-f]*"/"issuer": "@ISSUER@"/'; } |
    seed statement signed-a1

# fuzz_register: 0x00 + a real file; 0x01 + header + "@B"/"@A" lines.
{ printf '\000'; cat "$w/register.json"; } | seed register raw
{
	printf '\001'
	printf '{"version": 9, "issued_at": 1749999000, '
	printf '"expires_at": 1750003600, "deny": [{"kind": "owner", '
	printf '"value": "mallory"}], "statements": 3, '
	printf '"statements_sha256": "@SHA@"}\n'
	for s in b1 b2 a1; do
		printf '@%s ' "$(echo $s | cut -c1 | tr ab AB)"
		payload "$w/$s" |
		    sed 's/"issuer": *"[0-9a-f]*"/"issuer": "@ISSUER@"/'
		echo
	done
} | seed register signed

# fuzz_authkeys: 0x00 + a payload; 0x01 + flags, not_after (8 bytes,
# big-endian), then NUL-separated id, owner, key, fingerprint, sources.
for s in b1 b2 b4 b5 b6; do
	{ printf '\000'; payload "$w/$s"; } | seed authkeys "parsed-$s"
done
be64() {
	for s in 56 48 40 32 24 16 8 0; do
		printf "\\$(printf %03o $(($1 >> s & 255)))"
	done
}
fields() {
	printf '\001%b' "$1"
	be64 "$2"
	shift 2
	printf '%s\000' "$@"
}
alice=$(cat "$w/alice.pub")
fields '\000' 1796321291 b-1 alice@example.com "$alice" '' 10.0.0.0/8 \
    2001:db8::/32 | seed authkeys fields-sources
fields '\000' 1796321280 b-2 carol "$alice" '' | seed authkeys fields-minute
fields '\004' 1796321291 b-3 carol "$alice" SHA256:x |
    seed authkeys fields-other-fp
fields '\000' 1796321291 b-4 carol "$alice" '' '10.0.0.0/8",command="sh' |
    seed authkeys fields-quote
fields '\000' 1796321291 'b-5
ssh-ed25519' carol "$alice" '' | seed authkeys fields-newline
fields '\000' 1 b-6 carol "$alice" '' | seed authkeys fields-epoch
fields '\000' 253402300800 b-7 carol "$(cat "$w/alice-cert.pub")" '' |
    seed authkeys fields-cert

sed "s|$w|/srv/nhi|g" "$w/nhi.conf" | seed conf host
cat >"$w/conf2" <<'CONF'
mode = audit
register_url = https://a.example/r.json
register_url = https://b.example/r.json
register_key = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= not_before=2024-01-01 not_after=@1900000000
clock_skew = 2m
max_register_age = 1d
govern_groups = shared
ca_file = /etc/ssl/certs/ca.pem
ca_dir = /etc/ssl/certs
pinned_pubkey = sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=
max_register_size = 64M
fetch_connect_timeout = 5s
fetch_timeout = 1h30m
fetch_low_speed_limit = 100
fetch_low_speed_time = 1m
require_audit = no
pam_index = /srv/pam.cdb
nss_index = /srv/nss.cdb
log_dir = /srv/log
passwd_file = /srv/etc/passwd
group_file = /srv/etc/group
[issuer everything]
key = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
accounts = *
services = *
max_window = 30d
CONF
seed conf full <"$w/conf2"

printf 'publickey %s\n' "$(cut -d' ' -f1,2 "$w/alice.pub")" |
    seed authinfo ed25519
printf 'keyboard-interactive/pam\npublickey %s\n' \
    "$(cut -d' ' -f1,2 "$w/bob.pub")" | seed authinfo rsa-after-kbdint
printf 'password\n' | seed authinfo password
printf '' | seed authinfo empty

seed pamidx pam.cdb <"$w/state/pam.cdb"
seed nss nss.cdb <"$w/state/nss.cdb"
