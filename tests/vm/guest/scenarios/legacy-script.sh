# Scenario 6: the seeds' legacy /etc/sysconfig/modules/ipvs.modules asks for
# nf_conntrack_ipv4, which no longer exists (merged into nf_conntrack in 4.19).
# Running it shows that failure; nodeprep check must flag the script.
. /vm/lib.sh
SCRIPT=/etc/sysconfig/modules/ipvs.modules

rm -f /etc/modprobe.d/block.conf   # left over from install-override
mkdir -p /etc/sysconfig/modules
cp /vm/ipvs.modules $SCRIPT
chmod 755 $SCRIPT

# The script's guard: modinfo fails, so it skips nf_conntrack_ipv4 silently.
expect_rc 1 /sbin/modinfo -F filename nf_conntrack_ipv4
expect_rc 0 $SCRIPT
show_modules
expect_loaded ip_vs ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_nq ip_vs_sed ip_vs_ftp
expect_not_loaded nf_conntrack_ipv4
# Without the guard, the module load itself fails.
expect_rc 1 /sbin/modprobe nf_conntrack_ipv4
mentions_i "not found" || fail "modprobe nf_conntrack_ipv4 did not say 'not found'$(first_line)"

run nodeprep check
mentions_i "ipvs\.modules" || mentions nf_conntrack_ipv4 \
  || fail "'nodeprep check' output mentions neither ipvs.modules nor nf_conntrack_ipv4"
finish
