# Scenario: a hostile ipset in the node a DaemonSet-like container checks with
# --root /host (a live root: the real procfs, the running kernel's modules). The
# static program (tests/vm/guest/hostile.c) climbs out of its chroot, reads
# /etc/shadow through /proc/PID/root, mounts a procfs, signals a process of the
# node's and leaves a setsid child behind. It
# must run (sandboxed), and the guest must be unharmed: no file outside its
# root, no mount in any namespace, the process alive, no child left.
. /vm/lib.sh
NP=$(command -v nodeprep) || { fail "nodeprep not in PATH"; finish; exit 0; }
[ -x /vm/hostile ] || { fail "no /vm/hostile: tests/vm/run could not build it (cc -static)"; finish; exit 0; }

CTR=/run/npvm/hctr
mkdir -p /run/npvm/hostile-outside
container $CTR

ipset=$(command -v ipset) || ipset=/usr/sbin/ipset
cp /vm/hostile "$ipset" && chmod 755 "$ipset" || fail "cannot plant the hostile ipset"
sleep 600 &
VICTIM=$!
echo $VICTIM > /tmp/victim.pid
rm -f /tmp/hostile-ran /tmp/hostile-read

run unshare -m chroot $CTR /bin/nodeprep --root /host check
[ -s /tmp/hostile-ran ] || fail "the hostile ipset did not run"
[ -s /tmp/hostile-read ] && fail "the helper read the node's /etc/shadow through $(head -n 1 /tmp/hostile-read)"
for f in /run/npvm/hostile-outside/escaped $CTR/run/npvm/hostile-outside/escaped; do
  [ -e "$f" ] && fail "the helper escaped its chroot: $f exists"
done
grep -l hostile-mnt /proc/[0-9]*/mountinfo 2>/dev/null && fail "a procfs the helper mounted stayed behind"
kill -0 $VICTIM 2>/dev/null || fail "the helper signalled process $VICTIM outside its sandbox"
kids=$(grep -l '^np-hostile-kid$' /proc/[0-9]*/comm 2>/dev/null)
[ -n "$kids" ] && fail "the helper's child outlived nodeprep: $kids"
# its /.esc, inside its root, is no harm (this initramfs's / may be writable by anyone)
log "the node's / has mode $(stat -c %a /); /.esc: $( [ -d /.esc ] && echo made || echo refused)"
kill $VICTIM 2>/dev/null
finish
