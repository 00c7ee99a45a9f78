#!/bin/sh
# The seeds' node check, as the blog recipes do it by hand, made to work against a root
# directory so that it reads the same fixture root as `nodeprep --root ROOT check`:
#
#   lsmod | grep ip_vs                      -> one grep of /proc/modules per module
#   modinfo -F filename MODULE              -> one modules.dep lookup per module
#   sysctl -n KEY  (the four k8s.conf keys) -> one read of /proc/sys/KEY per key
#   which ipset ipvsadm                     -> `which` over the root's sbin/bin directories
#   ipset --version                         -> the root's ipset
#
# One process per step, as a person or a provisioning script types them. It is the
# baseline of bench/run, not a tool: it prints one line per item and exits 1 when a module
# is not loaded, a sysctl differs, or ipset/ipvsadm is missing.
#
# Usage: bench/seeds-check.sh ROOT
set -u
root=${1:?usage: seeds-check.sh ROOT}
[ -r "$root/proc/sys/kernel/osrelease" ] || { echo "seeds-check: $root/proc/sys/kernel/osrelease unreadable" >&2; exit 3; }
rel=$(cat "$root/proc/sys/kernel/osrelease")
dep="$root/lib/modules/$rel/modules.dep"
bad=0

for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter; do
    file=$(grep -o -E "^[^:]*/$m\.ko(\.[a-z]+)?:" "$dep" | tr -d :)
    if grep -q "^$m " "$root/proc/modules"; then
        echo "module $m: loaded ($file)"
    elif [ -n "$file" ]; then
        echo "module $m: not loaded ($file)"
        bad=1
    else
        echo "module $m: not found"
        bad=1
    fi
done

for kv in net/bridge/bridge-nf-call-iptables=1 net/bridge/bridge-nf-call-ip6tables=1 \
          net/ipv4/ip_forward=1 vm/swappiness=0; do
    key=${kv%=*} want=${kv#*=}
    live=$(cat "$root/proc/sys/$key" 2>/dev/null) || live=absent
    echo "sysctl $key = $live"
    [ "$live" = "$want" ] || bad=1
done

which=$(command -v which) || { echo "seeds-check: needs which(1) (debianutils)" >&2; exit 3; }
paths=$(PATH="$root/usr/local/sbin:$root/usr/local/bin:$root/usr/sbin:$root/usr/bin:$root/sbin:$root/bin" \
        "$which" ipset ipvsadm) || bad=1
echo "$paths"
ipset=$(echo "$paths" | grep '/ipset$' | head -n 1)
if [ -n "$ipset" ]; then
    echo "ipset: $("$ipset" --version)"
else
    echo "ipset: not found"
    bad=1
fi
exit $bad
