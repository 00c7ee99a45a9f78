# Scenario 7: after apply, `check --probe` really creates an IPVS virtual
# service to prove the kernel accepts it, and leaves nothing behind.
. /vm/lib.sh
VS=198.51.100.0:20000

# The probe is meant for a node after apply (this boot's fresh scenario
# applied already; applying again is a no-op).
expect_rc 0 nodeprep apply
expect_loaded ip_vs

expect_rc 0 nodeprep check --probe
expect_rc 0 ipvsadm -Ln
mentions "$VS" && fail "virtual server $VS left behind after check --probe"
grep -qE "^(TCP|UDP|FWM) " "$ALL" && fail "ipvsadm -Ln lists virtual servers after check --probe"
finish
