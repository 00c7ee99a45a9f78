# Scenario 3: the kernel has no ip_vs_sh (removed from the image's module
# tree, depmod re-run). apply must fail naming it, load the rest, and not
# persist ip_vs_sh for the next boot.
. /vm/lib.sh
MODCONF=/etc/modules-load.d/ipvs.conf

rm -f $MODDIR/kernel/net/netfilter/ipvs/ip_vs_sh.ko*
expect_rc 0 /sbin/depmod -a
grep -q 'ip_vs_sh' $MODDIR/modules.dep && fail "precondition: ip_vs_sh still in modules.dep"
expect_rc 1 /sbin/modinfo -F filename ip_vs_sh

expect_rc 1 nodeprep apply
expect_mentions ip_vs_sh
show_modules
expect_loaded ip_vs ip_vs_rr ip_vs_wrr nf_conntrack br_netfilter
expect_not_loaded ip_vs_sh
show_file $MODCONF
if [ -e $MODCONF ] && grep -v '^[[:space:]]*[#;]' $MODCONF | grep -qw ip_vs_sh; then
  fail "$MODCONF lists ip_vs_sh"
fi

# At the next boot systemd-modules-load must not trip over the missing module
# (it exits 0 even for modules it cannot find, so its message is checked too).
expect_rc 0 /lib/systemd/systemd-modules-load
mentions_i "Failed to" && fail "systemd-modules-load complained$(first_line)"
finish
