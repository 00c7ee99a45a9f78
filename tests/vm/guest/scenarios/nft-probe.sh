# Scenario: `check --probe` in nftables mode on the real kernel. nodeprep loads a scratch
# table per IP family with kube-proxy's statement shapes, with the guest's nft, in a
# network namespace of its own: on the intact kernel both load and nothing stays in the
# node's namespace; with nft_numgen gone from the module tree the kernel refuses the numgen
# statement (broken, nft's own line quoted); with nf_tables gone it refuses the table
# itself (fail).
. /vm/lib.sh
NFT=/usr/sbin/nft
KP="--mode nftables --kube-proxy-version 1.33 --kube-proxy-runtime host"
outcome() { jq -r .kube_proxy.outcome "$OUT"; }
reasons() { jq -r '.kube_proxy.reasons[]' "$OUT"; }
refusals() { jq -c '[.nft_probe.families[] | {family, table, loaded, deleted, refused: [.refused[] | .error + " <- " + .statement]}]' "$OUT"; }
no_table_left() {
  run $NFT list tables
  mentions_i nodeprep-probe && fail "the scratch table is in the node's own namespace after the probe"
}

# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP apply
# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP check --probe --output json
[ "$(outcome)" = nftables ] || fail "intact: outcome '$(outcome)', want nftables"
[ "$(jq -r .nft_probe.ran "$OUT")" = true ] || fail "intact: the probe did not run: $(jq -r .nft_probe.detail "$OUT")"
[ "$(jq '[.nft_probe.families[] | select(.table and .loaded and .deleted and (.refused == []))] | length' "$OUT")" = 2 ] \
  || fail "intact: families $(refusals)"
reasons | grep -q "the kernel loaded kube-proxy's statement shapes for ip and ip6" || fail "intact: reasons $(jq -c .kube_proxy.reasons "$OUT")"
measure "intact: $(jq -r .nft_probe.detail "$OUT")"
no_table_left
# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP check --probe
mentions_i "live probe (nftables)" || fail "the text report does not show the probe"
show_modules

# nft_numgen gone: unloaded and out of the module index
expect_rc 0 /sbin/rmmod nft_numgen
rm -f $MODDIR/kernel/net/netfilter/nft_numgen.ko*
expect_rc 0 /sbin/depmod -a
# shellcheck disable=SC2086
expect_rc 1 nodeprep $KP check --probe --output json
[ "$(outcome)" = broken ] || fail "no numgen: outcome '$(outcome)', want broken"
reasons | grep -q "numgen random mod 2 vmap" || fail "no numgen: the reasons do not name the numgen statement: $(jq -c .kube_proxy.reasons "$OUT")"
reasons | grep -q "Could not process rule" || fail "no numgen: nft's line is not quoted: $(jq -c .kube_proxy.reasons "$OUT")"
[ "$(jq -r .kube_proxy.modes.iptables.outcome "$OUT")" = iptables ] || fail "no numgen: iptables mode $(jq -c .kube_proxy.modes.iptables "$OUT")"
measure "no nft_numgen: $(refusals)"
no_table_left

# nf_tables gone: the kernel refuses the table itself
for m in $(cut -d' ' -f1 /proc/modules | grep '^nft_'); do /sbin/rmmod $m; done
expect_rc 0 /sbin/rmmod nf_tables
rm -f $MODDIR/kernel/net/netfilter/nf_tables.ko*
expect_rc 0 /sbin/depmod -a
# shellcheck disable=SC2086
expect_rc 1 nodeprep $KP check --probe --output json
[ "$(outcome)" = fail ] || fail "no nf_tables: outcome '$(outcome)', want fail"
reasons | grep -q "unable to create proxier: could not run nftables command: .*Operation not supported" \
  || fail "no nf_tables: reasons $(jq -c .kube_proxy.reasons "$OUT")"
measure "no nf_tables: $(refusals)"
finish
