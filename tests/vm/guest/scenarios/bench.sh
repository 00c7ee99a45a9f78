# Scenario bench (issue 11): times a fresh `nodeprep apply` on the real kernel against the
# seeds' recipe (write k8s.conf, modprobe br_netfilter, sysctl -p, the ipvs.modules loop)
# and the floor (`modprobe -a` of the modules nodeprep loads, then sysctl -p), alternating
# with the order rotated each round, everything unloaded (rmmod) and the files removed
# between runs. Prints the medians and ratios; timing never fails it. It fails only when
# something does not work: a run exits non-zero, leaves a module unloaded or a sysctl
# unset, or the node cannot be reset. It runs BENCH_ROUNDS rounds (boot.conf, from
# `tests/vm/run --bench-rounds`), fewer when the next one would not end within the
# scenario's time limit (a slow machine shortens the benchmark, it does not fail it),
# and at least one. With /usr/local/bin/nodeprep-baseline in the guest (`tests/vm/run
# --bench-baseline PATH`) that binary's fresh apply is a fourth variant of every round.
[ -n "${BASH_VERSION:-}" ] || exec /bin/bash "$0" "$@"  # EPOCHREALTIME: no fork to read a clock
. /vm/lib.sh
. /etc/nodeprep-vm/boot.conf
ROUNDS=${BENCH_ROUNDS:-7}
B=/run/npvm/bench
mkdir -p $B
DATA=/dev/ttyS1
report() { log "$*"; printf 'BENCH %s\n' "$*" > $DATA; }

k8s_conf() {
  cat <<'EOF'
cat > /etc/sysctl.d/k8s.conf <<CONF
net.bridge.bridge-nf-call-ip6tables = 1
net.bridge.bridge-nf-call-iptables = 1
net.ipv4.ip_forward = 1
vm.swappiness=0
CONF
EOF
}
{ echo '#!/bin/bash'; k8s_conf
  echo '/sbin/modprobe br_netfilter'
  echo '/sbin/sysctl -p /etc/sysctl.d/k8s.conf'
  echo 'bash /vm/ipvs.modules'
} > $B/seeds
{ echo '#!/bin/bash'; k8s_conf
  echo "/sbin/modprobe -a $MODS"
  echo '/sbin/sysctl -p /etc/sysctl.d/k8s.conf'
} > $B/floor
chmod 755 $B/seeds $B/floor
log "seeds' recipe:"; sed 's/^/    > /' $B/seeds; sed 's/^/    > /' /vm/ipvs.modules
log "floor:"; sed 's/^/    > /' $B/floor

# Back to a node that has nothing: no module loaded, neither file, the sysctls off.
reset_node() {
  rm -f /etc/sysctl.d/k8s.conf /etc/modules-load.d/ipvs.conf
  local pass m mods
  for pass in 1 2 3 4 5 6 7 8; do
    mods=$(cut -d' ' -f1 /proc/modules)
    [ -z "$mods" ] && break
    for m in $mods; do /sbin/rmmod "$m" 2>/dev/null; done
  done
  [ -z "$(cat /proc/modules)" ] || { fail "cannot unload: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"; return 1; }
  echo 0 > /proc/sys/net/ipv4/ip_forward
  echo 60 > /proc/sys/vm/swappiness
  sync
}

declare -A T=()
# time_one NAME: runs the variant, appends its wall time in microseconds to T[NAME]
time_one() {
  local name=$1 t0 t1 rc
  case $name in
    nodeprep) set -- /usr/local/bin/nodeprep apply ;;
    baseline) set -- /usr/local/bin/nodeprep-baseline apply ;;
    seeds) set -- $B/seeds ;;
    floor) set -- $B/floor ;;
  esac
  t0=$EPOCHREALTIME
  "$@" > $B/$name.out 2>&1
  rc=$?
  t1=$EPOCHREALTIME
  if [ $rc != 0 ]; then
    fail "$name: '$*' exited $rc: $(head -c 300 $B/$name.out | tr '\n' ' ')"
    return 1
  fi
  expect_loaded $MODS
  expect_value /proc/sys/net/ipv4/ip_forward 1
  expect_value /proc/sys/net/bridge/bridge-nf-call-iptables 1
  expect_value /proc/sys/net/bridge/bridge-nf-call-ip6tables 1
  expect_value /proc/sys/vm/swappiness 0
  [ -z "$FAILS" ] || return 1
  T[$name]="${T[$name]:-} $(( ${t1/./} - ${t0/./} ))"
}

# median of microsecond samples, printed in ms with two decimals
median_ms() {
  printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m / 1000 }'
}
range_ms() {
  printf '%s\n' $1 | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f..%.0f", lo / 1000, hi / 1000 }'
}

# per_round_ratios A B C: median over the rounds of T[A]/T[B] and of T[A]/T[C]
per_round_ratios() {
  printf '%s\n' ${T[$1]} > $B/a; printf '%s\n' ${T[$2]} > $B/b; printf '%s\n' ${T[$3]} > $B/c
  paste $B/a $B/b $B/c | awk -v a="$1" -v b="$2" -v c="$3" '
    function med(v, n,   i, j, t) {
      for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    { x[NR] = $1 / $2; y[NR] = $1 / $3 }
    END { printf "median of per-round ratios: %s/%s %.2fx, %s/%s %.2fx", a, b, med(x, NR), a, c, med(y, NR) }'
}

VARIANTS=(nodeprep seeds floor)
[ -x /usr/local/bin/nodeprep-baseline ] && VARIANTS+=(baseline)
NV=${#VARIANTS[@]}
BUDGET=$(( ${SCENARIO_TIMEOUT:-200} - 40 ))  # 20 s for the parts timed alone after the rounds
ok=1
reset_node || ok=0
# one untimed round first
if [ $ok = 1 ]; then
  for v in "${VARIANTS[@]}"; do
    time_one $v && reset_node || { ok=0; break; }
  done
  T=()
fi
r=0
while [ $ok = 1 ] && [ $r -lt "$ROUNDS" ]; do
  t_round=$SECONDS
  for i in $(seq 0 $((NV - 1))); do
    v=${VARIANTS[$(( (r + i) % NV ))]}
    time_one $v && reset_node || { ok=0; break; }
  done
  [ $ok = 1 ] || break
  r=$((r + 1))
  last=$(( SECONDS - t_round ))
  log "round $r: nodeprep ${T[nodeprep]##* } seeds ${T[seeds]##* } floor ${T[floor]##* } (us), ${last}s"
  if [ $r -lt "$ROUNDS" ] && [ $(( SECONDS + last + last / 2 )) -gt "$BUDGET" ]; then
    log "stopping after $r of $ROUNDS rounds: the next would not end within ${SCENARIO_TIMEOUT:-200}s"
    break
  fi
done

# Where nodeprep's time goes on this guest: each process a fresh apply starts, alone, on the
# node as apply leaves it (median of 5; a helper that is not installed is left out).
part_ms() {
  local i t0 t1 s=""
  for i in 1 2 3 4 5; do
    t0=$EPOCHREALTIME; "$@" > /dev/null 2>&1; t1=$EPOCHREALTIME
    s="$s $(( ${t1/./} - ${t0/./} ))"
  done
  median_ms "$s"
}
parts() {
  local line="" p
  /usr/local/bin/nodeprep apply > /dev/null 2>&1 || return 0
  line="nodeprep --version $(part_ms /usr/local/bin/nodeprep --version) ms"
  # the helpers as nodeprep asks them (ipvsadm is read, not run)
  command -v ipset > /dev/null 2>&1 && line="$line, ipset --help $(part_ms ipset --help) ms"
  for p in iptables nft; do
    command -v $p > /dev/null 2>&1 && line="$line, $p --version $(part_ms $p --version) ms"
  done
  line="$line, /bin/true $(part_ms /bin/true) ms"
  line="$line; on the ready node: nodeprep check $(part_ms /usr/local/bin/nodeprep check) ms, apply (nothing to do) $(part_ms /usr/local/bin/nodeprep apply) ms"
  printf '%s' "$line"
}

if [ $ok = 1 ]; then
  report "alone: $(parts)"
  reset_node || ok=0
fi

if [ $ok = 1 ]; then
  np=$(median_ms "${T[nodeprep]}"); sd=$(median_ms "${T[seeds]}"); fl=$(median_ms "${T[floor]}")
  report "fresh apply, kernel $KVER (QEMU TCG, $(grep -c ^processor /proc/cpuinfo) vCPU), $r rounds of ${VARIANTS[*]} rotated, all modules unloaded between runs"
  report "$(printf '%-44s %9s ms  (min..max %s ms)' "nodeprep apply" "$np" "$(range_ms "${T[nodeprep]}")")"
  report "$(printf '%-44s %9s ms  (min..max %s ms)' "seeds' recipe (modprobe br_netfilter, sysctl -p, ipvs.modules)" "$sd" "$(range_ms "${T[seeds]}")")"
  report "$(printf '%-44s %9s ms  (min..max %s ms)' "floor (modprobe -a, sysctl -p)" "$fl" "$(range_ms "${T[floor]}")")"
  report "$(awk -v a="$np" -v b="$sd" -v c="$fl" 'BEGIN {
    printf "nodeprep/seeds %.2fx (target <= 0.30x: %s); nodeprep/floor %.2fx; floor/seeds %.2fx",
      a / b, (a / b <= 0.30) ? "met" : "NOT met", a / c, c / b }')"
  # the same ratios within each round (its three runs are neighbours in time), then the
  # median: steadier than a ratio of medians when the host's load drifts
  report "$(per_round_ratios nodeprep seeds floor)"
  if [ -n "${T[baseline]:-}" ]; then
    bl=$(median_ms "${T[baseline]}")
    report "$(printf '%-44s %9s ms  (min..max %s ms)' "baseline nodeprep apply" "$bl" "$(range_ms "${T[baseline]}")")"
    report "$(per_round_ratios nodeprep baseline floor)"
    report "$(awk -v a="$bl" -v b="$sd" 'BEGIN { printf "baseline/seeds %.2fx", a / b }')"
  fi
fi
finish
