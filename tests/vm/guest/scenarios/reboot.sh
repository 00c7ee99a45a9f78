# Scenario 2: a fresh boot of a node that has only the /etc files written by
# scenario 1. systemd's own boot-time loaders apply them; check says ready.
. /vm/lib.sh

if [ -f /etc/nodeprep-vm/missing-etc ]; then
  fail "no /etc files came from the fresh boot (scenario fresh failed or did not run)"
  finish; exit 0
fi
for f in /etc/modules-load.d/ipvs.conf /etc/sysctl.d/k8s.conf; do
  show_file $f
  [ -f $f ] || fail "precondition: $f was not carried over from the fresh boot"
done
for m in $MODS; do loaded $m && fail "precondition: $m already loaded at boot"; done

expect_rc 0 /lib/systemd/systemd-modules-load
mentions_i "Failed to" && fail "systemd-modules-load reported a failure$(first_line)"
show_modules
expect_loaded $MODS

expect_rc 0 /lib/systemd/systemd-sysctl
grep -qiE "couldn't|failed|ignoring" "$ALL" && log "note: systemd-sysctl said$(first_line)"
expect_value /proc/sys/net/ipv4/ip_forward 1
expect_value /proc/sys/net/bridge/bridge-nf-call-iptables 1
expect_value /proc/sys/net/bridge/bridge-nf-call-ip6tables 1
expect_value /proc/sys/vm/swappiness 0

expect_rc 0 nodeprep check
finish
