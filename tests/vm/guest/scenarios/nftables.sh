# Scenario: nftables mode on the real kernel. nodeprep predicts that kube-proxy 1.33 on the
# host runs nftables mode here, and the kernel accepts (nft --check) a table with the
# expressions kube-proxy's rules use. With nft_numgen removed from the module index,
# nodeprep predicts the rules fail ("broken"), and nft --check of the same table fails.
. /vm/lib.sh
TABLE=/vm/kube-proxy-test.nft
NFT=/usr/sbin/nft
KP="--mode nftables --kube-proxy-version 1.33 --kube-proxy-runtime host"

outcome() { jq -r .kube_proxy.outcome "$OUT"; }

expect_rc 0 $NFT --version
expect_mentions v1.0.6
# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP apply
expect_loaded nf_conntrack br_netfilter
# (ip_vs itself may be loaded: `ipvsadm --version`, which check runs, modprobes it)
grep -v '^[[:space:]]*[#;]' /etc/modules-load.d/ipvs.conf | grep -q ip_vs \
  && fail "apply in nftables mode persisted IPVS modules"
# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP check --output json
[ "$(outcome)" = nftables ] || fail "predicted outcome is '$(outcome)', want nftables"
[ "$(jq -r .ready "$OUT")" = true ] || fail "check says not ready"
[ "$(jq -r '.modules | map(.name) | join(" ")' "$OUT")" = "nf_conntrack br_netfilter" ] \
  || fail "wanted modules: $(jq -c '.modules | map(.name)' "$OUT")"

expect_rc 0 $NFT --check -f $TABLE
show_modules
# the check really went to the kernel: it autoloaded the expressions' modules
expect_loaded nf_tables nft_numgen nft_ct nft_fib_ipv4

# now take nft_numgen away: unloaded, and gone from the module index
expect_rc 0 /sbin/rmmod nft_numgen
rm -f $MODDIR/kernel/net/netfilter/nft_numgen.ko*
expect_rc 0 /sbin/depmod -a
grep -q nft_numgen $MODDIR/modules.dep && fail "precondition: nft_numgen still in modules.dep"
# shellcheck disable=SC2086
expect_rc 1 nodeprep $KP check --output json
cp "$OUT" /run/npvm/broken.json
[ "$(outcome)" = broken ] || fail "predicted outcome is '$(outcome)', want broken"
jq -r '.kube_proxy.reasons[]' "$OUT" | grep -q nft_numgen || fail "the reasons do not name nft_numgen"
expect_rc 1 $NFT --check -f $TABLE
mentions_i "Could not process rule" || fail "nft failed, but not as kube-proxy's rules would$(first_line)"
# the other modes are judged too: iptables still works here
J=/run/npvm/broken.json
[ "$(jq -r .kube_proxy.modes.iptables.outcome $J)" = iptables ] || fail "iptables mode: $(jq -c .kube_proxy.modes.iptables $J)"

# without nf_tables itself kube-proxy cannot start: knftables' `nft --check` of a table fails
show_modules
for m in $(cut -d' ' -f1 /proc/modules | grep '^nft_'); do /sbin/rmmod $m; done
expect_rc 0 /sbin/rmmod nf_tables
rm -f $MODDIR/kernel/net/netfilter/nf_tables.ko*
expect_rc 0 /sbin/depmod -a
expect_rc 1 $NFT --check add table ip kube-proxy
mentions_i "Could not process rule: Operation not supported" || fail "nft without nf_tables:$(first_line)"
# shellcheck disable=SC2086
expect_rc 1 nodeprep $KP check --output json
[ "$(outcome)" = fail ] || fail "predicted outcome is '$(outcome)', want fail"
# the same words nft printed, as knftables passes them on
jq -r '.kube_proxy.reasons[]' "$OUT" | grep -q "could not run nftables command: Error: Could not process rule: Operation not supported" \
  || fail "reasons: $(jq -c .kube_proxy.reasons "$OUT")"
finish
