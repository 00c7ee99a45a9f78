# Scenario (DaemonSet-like): nodeprep runs in a container whose own root is a
# tmpfs with only nodeprep and read-only system directories, in its own mount
# namespace, with the node's / mounted at /host. `nodeprep apply --root /host`
# must load the modules with the node's modprobe (chrooted into /host) and
# write the node's /etc files, none of them in the container.
. /vm/lib.sh
NP=$(command -v nodeprep) || { fail "nodeprep not in PATH"; finish; exit 0; }

for m in $MODS; do loaded $m && fail "precondition: $m already loaded at boot"; done
CTR=/run/npvm/ctr
container $CTR

expect_rc 0 unshare -m chroot $CTR /bin/nodeprep --root /host apply
show_modules
expect_loaded $MODS
for f in /etc/modules-load.d/ipvs.conf /etc/sysctl.d/k8s.conf; do
  [ -f $f ] || fail "apply --root /host did not write the node's $f"
  [ -e $CTR$f ] && fail "apply wrote $f inside the container"
done
expect_value /proc/sys/net/ipv4/ip_forward 1
expect_rc 0 unshare -m chroot $CTR /bin/nodeprep --root /host check
expect_rc 0 nodeprep check
finish
