# Scenario: booted with ipv6.disable=1. What nft itself says for the ip6 family, what the
# probe finds, and the verdict for kube-proxy 1.29–1.33 (both proxiers must start) against
# 1.34+ (a host without /proc/net/if_inet6 runs IPv4 alone). nodeprep's verdict must follow
# the kernel's answer, whichever it is.
. /vm/lib.sh
NFT=/usr/sbin/nft
grep -qw ipv6.disable=1 /proc/cmdline || fail "precondition: not booted with ipv6.disable=1 ($(cat /proc/cmdline))"
[ -e /proc/net/if_inet6 ] && fail "precondition: /proc/net/if_inet6 exists"

run $NFT --check add table ip6 kube-proxy
measure "nft --check add table ip6 kube-proxy: exit $RC$(first_line)"
run $NFT --check add table ip kube-proxy
measure "nft --check add table ip kube-proxy: exit $RC$(first_line)"
run $NFT --check -f /vm/kube-proxy-test.nft
measure "nft --check -f kube-proxy-test.nft (ip): exit $RC$(first_line)"

printf 'kind: KubeProxyConfiguration\nmode: nftables\nfeatureGates:\n  NFTablesProxyMode: true\n' > /etc/kp.yaml
KP="--kube-proxy-config /etc/kp.yaml --kube-proxy-runtime host"
# shellcheck disable=SC2086
expect_rc 0 nodeprep $KP --kube-proxy-version 1.33 apply
six=""
for v in 1.29 1.30 1.31 1.32 1.33 1.34 1.35 1.37; do
  # shellcheck disable=SC2086
  run nodeprep $KP --kube-proxy-version $v check --probe --output json
  got=$(jq -r .kube_proxy.outcome "$OUT")
  ran=$(jq -r .nft_probe.ran "$OUT")
  [ "$ran" = true ] || fail "$v: the probe did not run: $(jq -r .nft_probe.detail "$OUT")"
  six=$(jq -c '.nft_probe.families[] | select(.family == "ip6") | {table, loaded, refused: [.refused[] | .error + " <- " + .statement]}' "$OUT")
  measure "kube-proxy $v: exit $RC, $got; ip6 $six; reasons $(jq -c .kube_proxy.reasons "$OUT")"
  ip6_ok=$(jq -r '.nft_probe.families[] | select(.family == "ip6") | .table and .loaded' "$OUT")
  ip_ok=$(jq -r '.nft_probe.families[] | select(.family == "ip") | .table and .loaded' "$OUT")
  [ "$ip_ok" = true ] || fail "$v: the ip table did not load: $(jq -c .nft_probe "$OUT")"
  case "$v:$ip6_ok" in
    *:true|1.3[4-9]:false) want=nftables ;;
    *:false) want=fail ;;
  esac
  [ "$got" = "$want" ] || fail "$v: outcome $got, want $want (ip6 loaded: $ip6_ok)"
  if [ "$ip6_ok" = true ] && [ "$want" = nftables ]; then
    jq -r '.kube_proxy.reasons[]' "$OUT" | grep -q -e "took the ip6 table" -e "loaded all the same" \
      || fail "$v: the reasons do not say what the kernel said of ip6: $(jq -c .kube_proxy.reasons "$OUT")"
  fi
done
finish
