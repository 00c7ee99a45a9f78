# Helpers for the guest scenario scripts (busybox sh). A scenario sources this
# file, runs commands with run/expect_rc, records failed assertions with fail,
# and ends with finish, which writes its one verdict for /init to send.
SCEN=${1:?scenario name}
MODS="ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter"
KVER=$(uname -r)
MODDIR=/lib/modules/$KVER
FAILS=""
_N=0
mkdir -p /run/npvm/$SCEN

log() { echo "[$SCEN] $*"; }
fail() { log "ASSERTION FAILED: $*"; FAILS="${FAILS:+$FAILS; }$*"; }

# run CMD ARGS...: runs it (time-limited), shows its output, sets
#   RC  exit status;  OUT stdout file;  ERR stderr file;  ALL both
run() {
  _N=$((_N + 1))
  OUT=/run/npvm/$SCEN/$_N.out; ERR=/run/npvm/$SCEN/$_N.err; ALL=/run/npvm/$SCEN/$_N.all
  timeout 120 "$@" > "$OUT" 2> "$ERR" < /dev/null
  RC=$?
  cat "$OUT" "$ERR" > "$ALL"
  echo "[$SCEN] \$ $* => exit $RC"
  sed 's/^/    | /' "$OUT"
  sed 's/^/    ! /' "$ERR"
  LAST="$*"
}

# expect_rc WANT CMD ARGS...
expect_rc() {
  _want=$1; shift
  run "$@"
  [ "$RC" = "$_want" ] || fail "'$*' exited $RC, want $_want$(first_line)"
}
first_line() {  # a hint from the last command's output for the verdict line
  _l=$(grep -v '^[[:space:]]*$' "$ALL" | head -n 1 | cut -c1-160)
  [ -n "$_l" ] && printf ' (output: %s)' "$_l"
}

# mentions WORD: the last command's output (stdout+stderr) has WORD as a word
mentions() { grep -qw -- "$1" "$ALL"; }
mentions_i() { grep -qi -- "$1" "$ALL"; }
expect_mentions() { mentions "$1" || fail "output of '$LAST' does not mention $1"; }

loaded() { grep -q "^$1 " /proc/modules; }
expect_loaded() { for _m in "$@"; do loaded "$_m" || fail "module $_m is not in /proc/modules"; done; }
expect_not_loaded() { for _m in "$@"; do loaded "$_m" && fail "module $_m is in /proc/modules"; done; return 0; }

# expect_value FILE WANT: file's content (whitespace trimmed) is WANT
expect_value() {
  if [ ! -e "$1" ]; then fail "$1 does not exist"; return; fi
  _v=$(tr -d ' \t\n' < "$1")
  [ "$_v" = "$2" ] || fail "$1 is '$_v', want '$2'"
}

show_modules() { log "loaded modules: $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"; }

show_file() {
  if [ -e "$1" ]; then log "contents of $1:"; sed 's/^/    > /' "$1"; else log "$1: absent"; fi
}

finish() {
  if [ -z "$FAILS" ]; then
    echo "PASS $SCEN" > /run/npvm/verdict.$SCEN
  else
    echo "FAIL $SCEN: $FAILS" | tr '\n' ' ' | cut -c1-1500 > /run/npvm/verdict.$SCEN
  fi
  log "$(cat /run/npvm/verdict.$SCEN)"
}

# measure TEXT: a measured fact for the host's summary (a "vm: BOOT: TEXT" line)
measure() { log "MEASURE $*"; printf 'MEASURE %s: %s\n' "$SCEN" "$*" | tr -d '\r' > /dev/ttyS1; }

# reset_modules: every module in /proc/modules removed (dependents first), as far as rmmod can
reset_modules() {
  for _i in 1 2 3 4 5 6; do
    for _m in $(cut -d' ' -f1 /proc/modules); do /sbin/rmmod "$_m" 2>/dev/null; done
  done
}

# container DIR: a DaemonSet-like container root at DIR: a tmpfs with nodeprep in /bin,
# read-only system directories, its own procfs, and the node's / at DIR/host
container() {
  mkdir -p "$1"
  mount -t tmpfs ctr "$1" || fail "cannot mount the container's tmpfs"
  mkdir -p "$1/host" "$1/proc" "$1/bin" "$1/etc" "$1/lib" "$1/lib64" "$1/usr" "$1/dev"
  for _d in /lib /lib64 /usr; do
    [ -d $_d ] && mount -o bind,ro $_d "$1$_d"
  done
  cp "$NP" "$1/bin/nodeprep"
  mount -t proc proc "$1/proc" || fail "cannot mount proc in the container"
  mount -o rbind / "$1/host" || fail "cannot bind the node's / at /host"
}
