#!/bin/sh
# longlived.sh: one process makes many PAM transactions and NSS lookups;
# its descriptors, heap and resident memory must not grow
# (tests/stress/longlived.c). CI runs a small size; NHI_STRESS=large runs
# 100 000 transactions and 1 000 000 lookups.
. "${top_srcdir:?}/tests/integration/lib.sh"
. "$top_srcdir/tests/stress/lib.sh"

npam=$(s_size 2000 100000)
nnss=$(s_size 20000 1000000)

t_ok "fixture" s_setup
t_ok "register published" s_register 2 "$T_TMP/reg"
t_ok "register installed" "$NHICTL" sync --config "$S_CONF" \
    --file "$T_TMP/reg"
t_ok "$npam transactions and $nnss lookups in one process, no growth" \
    env NHI_NSS_INDEX="$S_STATE/nss.cdb" \
    "$top_builddir/tests/stress/longlived" "$S_PAMD" sshd "$S_KEY_A" \
    "$S_NSS_SO" nhi-stress nhi-stress "$npam" "$nnss"
sed 's/^/# /' "$T_OUT"
t_done
