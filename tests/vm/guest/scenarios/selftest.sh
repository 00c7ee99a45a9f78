# Harness self-test: the guest's kernel and tools, no nodeprep involved.
. /vm/lib.sh

log "kernel $KVER; /sbin/modprobe -> $(readlink -f /sbin/modprobe); sh -> $(readlink -f /bin/sh)"
[ -z "$(cat /proc/modules)" ] || fail "modules already loaded at boot: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
[ "$(readlink -f /sbin/modprobe)" = /usr/bin/kmod ] || fail "/sbin/modprobe is not kmod"
for t in /sbin/modinfo /usr/sbin/modprobe /usr/sbin/depmod /bin/lsmod; do
  [ "$(readlink -f $t)" = /usr/bin/kmod ] || fail "$t is not kmod"
done
# busybox sh runs its own applet for a bare command name (xz, sysctl,
# modprobe, ...) whatever PATH says, so real tools are called by path.
expect_rc 0 /sbin/modprobe --version
expect_mentions kmod
for f in modules.dep modules.dep.bin modules.builtin modules.softdep modules.alias; do
  [ -s $MODDIR/$f ] || fail "$MODDIR/$f missing"
done

expect_rc 0 /sbin/modinfo -F filename ip_vs
expect_rc 1 /sbin/modinfo -F filename nf_conntrack_ipv4
expect_rc 1 /sbin/modprobe nf_conntrack_ipv4
mentions_i "not found" || fail "modprobe nf_conntrack_ipv4 did not say 'not found'"

expect_rc 0 /sbin/modprobe ip_vs
expect_loaded ip_vs nf_conntrack libcrc32c
loaded crc32c_generic || loaded crc32c_intel || fail "libcrc32c's softdep crc32c not loaded"
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing after modprobe ip_vs"
expect_rc 0 /sbin/modprobe br_netfilter
expect_value /proc/sys/net/bridge/bridge-nf-call-iptables 1
show_modules

expect_rc 0 ipvsadm -A -t 198.51.100.0:20000 -s rr
expect_rc 0 ipvsadm -Ln
expect_mentions 198.51.100.0:20000
expect_rc 0 ipvsadm -D -t 198.51.100.0:20000
expect_rc 0 ipvsadm -Ln
mentions 198.51.100.0:20000 && fail "virtual server still there after ipvsadm -D"
expect_rc 0 ipset create npvm-test hash:ip
expect_rc 0 ipset destroy npvm-test
expect_rc 0 iptables -w -t nat -L -n
expect_rc 0 /sbin/sysctl -w vm.swappiness=0
expect_value /proc/sys/vm/swappiness 0
expect_rc 0 bash -c 'echo bash $BASH_VERSION'
expect_rc 0 jq -n '{ok: true}'
expect_rc 0 /usr/bin/xz --version
expect_mentions liblzma

# systemd's boot-time loaders, as on a real node
mkdir -p /etc/modules-load.d /etc/sysctl.d
echo ip_vs_wrr > /etc/modules-load.d/selftest.conf
echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/selftest.conf
expect_rc 0 /lib/systemd/systemd-modules-load
expect_loaded ip_vs_wrr
expect_rc 0 /lib/systemd/systemd-sysctl
expect_value /proc/sys/net/ipv4/ip_forward 1
# A module that does not exist is only logged (exit 0); one that fails to load
# is an error (exit 1).
echo nonexistent_module_xyz > /etc/modules-load.d/selftest.conf
expect_rc 0 /lib/systemd/systemd-modules-load
mentions_i "Failed to find module" || fail "systemd-modules-load did not report the missing module"
echo ip_vs_dh > /etc/modules-load.d/selftest.conf
echo 'install ip_vs_dh /bin/false' > /etc/modprobe.d/selftest.conf
expect_rc 1 /lib/systemd/systemd-modules-load
rm -f /etc/modules-load.d/selftest.conf /etc/sysctl.d/selftest.conf /etc/modprobe.d/selftest.conf

# compressed modules (xz, crc32 check) are loadable after depmod
expect_rc 0 /usr/bin/xz --check=crc32 --lzma2=dict=1MiB $MODDIR/kernel/net/netfilter/ipvs/ip_vs_lc.ko
expect_rc 0 /sbin/depmod -a
grep -q 'ip_vs_lc.ko.xz:' $MODDIR/modules.dep || fail "modules.dep has no ip_vs_lc.ko.xz"
expect_rc 0 /sbin/modprobe ip_vs_lc
expect_loaded ip_vs_lc
expect_rc 0 /sbin/rmmod ip_vs_lc
expect_not_loaded ip_vs_lc

# install override
echo 'install ip_vs_sh /bin/false' > /etc/modprobe.d/selftest.conf
expect_rc 1 /sbin/modprobe ip_vs_sh
expect_not_loaded ip_vs_sh
rm -f /etc/modprobe.d/selftest.conf

if [ -x /usr/local/bin/nodeprep ]; then
  run nodeprep --version
  log "nodeprep --version exited $RC (informational)"
fi
finish
