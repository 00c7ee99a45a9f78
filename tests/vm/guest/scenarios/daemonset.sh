# Scenario: the DaemonSet's command line (examples/kubernetes/daemonset.yaml, pinned by
# tests/kubernetes.rs) against the guest's own / mounted at /host, as the kubelet mounts the
# host's / into the init container: the real kernel gets the modules and sysctls, the
# guest's /etc gets the files, and check on / then says ready.
. /vm/lib.sh
MODCONF=/etc/modules-load.d/ipvs.conf
SYSCONF=/etc/sysctl.d/k8s.conf

for m in $MODS; do loaded $m && fail "precondition: $m already loaded at boot"; done
mkdir -p /host
mount --rbind / /host || fail "cannot bind-mount / at /host"
[ -e /host/proc/modules ] || fail "/host/proc is not the kernel's proc"

expect_rc 0 nodeprep apply --root /host
show_modules
expect_loaded $MODS
expect_value /proc/sys/net/ipv4/ip_forward 1
expect_value /proc/sys/net/bridge/bridge-nf-call-iptables 1
for f in $MODCONF $SYSCONF; do
  [ -f $f ] || fail "apply --root /host did not write $f on the node"
done
expect_rc 0 nodeprep check
expect_rc 0 nodeprep apply --root /host --detailed-exitcode
umount -R /host || log "could not unmount /host"
finish
