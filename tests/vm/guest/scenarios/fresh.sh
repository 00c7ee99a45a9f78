# Scenario 1 (fresh node): check says not ready and names a missing module, and
# loads nothing (on this kernel `ipset --version` loads ip_set and any ipvsadm run
# loads ip_vs, so nodeprep asks neither that way); apply loads the modules and sets
# the sysctls in the real kernel; check then says ready; a second apply changes nothing.
. /vm/lib.sh
MODCONF=/etc/modules-load.d/ipvs.conf
SYSCONF=/etc/sysctl.d/k8s.conf

for m in $MODS; do loaded $m && fail "precondition: $m already loaded at boot"; done

# check changes nothing in the kernel: the loaded modules and the sysctls as before,
# but nfnetlink, which `iptables --version` (nf_tables backend) and `nft --version`
# make the kernel load by opening their netlink socket
modules_now() { cut -d' ' -f1 /proc/modules | grep -vx nfnetlink | sort | tr '\n' ' '; }
sysctls_now() { cat /proc/sys/net/ipv4/ip_forward /proc/sys/vm/swappiness | tr '\n' ' '; }
mods0=$(modules_now); sys0=$(sysctls_now)
expect_rc 1 nodeprep check --output json
for mode in nftables iptables; do
  run nodeprep --mode $mode check
  [ "$RC" = 0 ] || [ "$RC" = 1 ] || fail "'nodeprep --mode $mode check' exited $RC$(first_line)"
done
[ "$(modules_now)" = "$mods0" ] || fail "check loaded modules: before [$mods0], after [$(modules_now)]"
[ "$(sysctls_now)" = "$sys0" ] || fail "check changed sysctls: before [$sys0], after [$(sysctls_now)]"
show_modules

expect_rc 1 nodeprep check
[ "$(modules_now)" = "$mods0" ] || fail "check loaded modules: before [$mods0], after [$(modules_now)]"
named=""
for m in $MODS; do mentions $m && named="$named $m"; done
[ -n "$named" ] || fail "'nodeprep check' output names none of the missing modules ($MODS)"
log "check named:$named"

expect_rc 0 nodeprep apply
show_modules
expect_loaded $MODS
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs does not exist after apply"
expect_value /proc/sys/net/ipv4/ip_forward 1
expect_value /proc/sys/net/bridge/bridge-nf-call-iptables 1
expect_value /proc/sys/net/bridge/bridge-nf-call-ip6tables 1
expect_value /proc/sys/vm/swappiness 0
for f in $MODCONF $SYSCONF; do
  show_file $f
  [ -f $f ] || fail "apply did not write $f"
done

expect_rc 0 nodeprep check

# Idempotence: same content, same inode and mtime after a second apply.
snap() { for f in $MODCONF $SYSCONF; do
    [ -e $f ] && echo "$(stat -c '%n inode=%i size=%s mtime=%y' $f) md5=$(md5sum < $f | cut -d' ' -f1)"; done; }
snap > /run/npvm/fresh.before
sleep 2
expect_rc 0 nodeprep apply --detailed-exitcode
snap > /run/npvm/fresh.after
if ! cmp -s /run/npvm/fresh.before /run/npvm/fresh.after; then
  log "before:"; sed 's/^/    /' /run/npvm/fresh.before
  log "after:"; sed 's/^/    /' /run/npvm/fresh.after
  fail "second apply changed the /etc files (inode, size, mtime or content)"
fi
expect_loaded $MODS
finish
