# Scenario 4: netfilter/IPVS/bridge modules shipped as .ko.xz (as several
# distributions do; Debian 6.1 ships plain .ko). check must classify them as
# loadable and apply must load them.
. /vm/lib.sh

# The netfilter/IPVS modules and the default set's other dependencies.
# (xz -0: the guest has no KVM, and the kernel's preset takes ~4x longer.)
DIRS="kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter kernel/net/bridge
      kernel/net/802 kernel/net/llc kernel/lib"
n=$(cd $MODDIR && find $DIRS -name '*.ko' | wc -l)
(cd $MODDIR && find $DIRS -name '*.ko' -exec /usr/bin/xz -0 --check=crc32 {} +) || fail "xz failed"
left=$(cd $MODDIR && find $DIRS -name '*.ko' | wc -l)
[ "$left" = 0 ] || fail "precondition: $left modules left uncompressed"
log "compressed $n modules to .ko.xz"
expect_rc 0 /sbin/depmod -a
for m in $MODS; do
  grep -q "/$m.ko.xz:" $MODDIR/modules.dep || fail "precondition: modules.dep has no $m.ko.xz"
done
expect_rc 0 /sbin/modinfo -F filename ip_vs

run nodeprep check --output json
[ "$RC" = 1 ] || fail "'nodeprep check --output json' exited $RC, want 1"
if jq -e . "$OUT" > /dev/null 2>&1; then
  for m in $MODS; do
    st=$(jq -r --arg m $m '.modules[] | select(.name == $m) | .state' "$OUT")
    [ "$st" = loadable ] || fail "check --output json: $m state is '$st', want 'loadable'"
  done
else
  fail "check --output json stdout is not JSON"
fi

expect_rc 0 nodeprep apply
show_modules
expect_loaded $MODS
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs does not exist after apply"
expect_rc 0 nodeprep check
finish
