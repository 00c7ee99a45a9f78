# Scenario 5: /etc/modprobe.d blocks ip_vs_sh with `install ip_vs_sh /bin/false`.
# check must point at the override; apply must fail naming ip_vs_sh.
. /vm/lib.sh
CONF=/etc/modprobe.d/block.conf

mkdir -p /etc/modprobe.d
echo 'install ip_vs_sh /bin/false' > $CONF

expect_rc 1 nodeprep check
expect_mentions ip_vs_sh
if ! grep -w ip_vs_sh "$ALL" | grep -qiE 'install|block\.conf|modprobe\.d'; then
  mentions_i 'install' || mentions block.conf || fail "'nodeprep check' output does not mention the install override"
  log "note: the override is mentioned, though not on a line naming ip_vs_sh"
fi

expect_rc 1 nodeprep apply
expect_mentions ip_vs_sh
show_modules
expect_not_loaded ip_vs_sh

# The real kmod honours the override too.
expect_rc 1 /sbin/modprobe ip_vs_sh
expect_not_loaded ip_vs_sh
rm -f $CONF
finish
