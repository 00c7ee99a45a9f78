# Scenario: booted with modprobe.blacklist=nf_conntrack. What the blacklist really stops
# (measured), then nf_conntrack removed from the module tree: kube-proxy's write of
# nf_conntrack_max would fail, so every mode's verdict is fail.
. /vm/lib.sh
grep -qw modprobe.blacklist=nf_conntrack /proc/cmdline || fail "precondition: not booted with modprobe.blacklist=nf_conntrack"
KP="--kube-proxy-version 1.33 --kube-proxy-runtime host"
modes() { jq -c '.kube_proxy.modes | to_entries | map({(.key): .value.outcome}) | add' "$OUT"; }

measure "at boot: nf_conntrack $(loaded nf_conntrack && echo loaded || echo 'not loaded')"
# shellcheck disable=SC2086
run nodeprep $KP check --output json
measure "check (blacklisted on the command line, in the tree): exit $RC, modes $(modes), nf_conntrack $(jq -c '.modules[] | select(.name == "nf_conntrack") | .state' "$OUT")"
run /sbin/modprobe nf_conntrack
measure "modprobe nf_conntrack: exit $RC$(first_line); $(loaded nf_conntrack && echo loaded || echo 'not loaded')"
run /usr/sbin/nft --check -f /vm/kube-proxy-test.nft
measure "nft --check -f kube-proxy-test.nft: exit $RC$(first_line); nf_conntrack $(loaded nf_conntrack && echo loaded || echo 'not loaded')"

# the module gone from the tree: nothing can load it
reset_modules
expect_not_loaded nf_conntrack
rm -f $MODDIR/kernel/net/netfilter/nf_conntrack.ko*
expect_rc 0 /sbin/depmod -a
grep -q '/nf_conntrack.ko' $MODDIR/modules.dep && fail "precondition: nf_conntrack still in modules.dep"
for mode in ipvs nftables iptables; do
  # shellcheck disable=SC2086
  run nodeprep $KP --mode $mode check --output json
  [ "$RC" = 1 ] || fail "--mode $mode check exited $RC, want 1"
  [ "$(jq -r .kube_proxy.outcome "$OUT")" = fail ] || fail "--mode $mode: outcome $(jq -r .kube_proxy.outcome "$OUT"), want fail"
  for m in ipvs nftables iptables; do
    [ "$(jq -r .kube_proxy.modes.$m.outcome "$OUT")" = fail ] || fail "--mode $mode: the $m row is $(jq -c .kube_proxy.modes.$m "$OUT")"
  done
  measure "nf_conntrack removed, --mode $mode: $(jq -c .kube_proxy.reasons "$OUT")"
done
# the probe: the kernel's answer without conntrack (nat, ct, masquerade need it)
# shellcheck disable=SC2086
run nodeprep $KP --mode nftables check --probe --output json
[ "$(jq -r .kube_proxy.outcome "$OUT")" = fail ] || fail "--probe: outcome $(jq -r .kube_proxy.outcome "$OUT"), want fail"
measure "nf_conntrack removed, --probe: $(jq -c '[.nft_probe.families[] | {family, table, refused: [.refused[] | .error + " <- " + .statement]}]' "$OUT")"
finish
