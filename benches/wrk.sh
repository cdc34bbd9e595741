#!/usr/bin/env bash
# Benchmark a step binary against nginx with wrk, on loopback. Book: the
# appendix "Measuring" (book/src/appendix-measuring.md).
#
#   benches/wrk.sh                       # step04, 3 rounds x 5 s per run
#   ROUNDS=5 DURATION=10 STEP=step05 benches/wrk.sh
#   BASELINE_BIN=/tmp/base/target/release/step05 STEP=step05 benches/wrk.sh
#
# BASELINE_BIN adds a third server, an older build of the same step, to the
# same alternating rounds: a before/after comparison that background load
# cannot skew, each side also as a ratio to nginx. To build one:
#   git worktree add /tmp/base <commit> && cargo build --release --bin step05 --manifest-path /tmp/base/Cargo.toml
#
# Both servers answer GET /plaintext with the 13-byte "Hello, world!". Each
# scenario runs ours and nginx alternately, ROUNDS times, and reports the
# medians, so a burst of background load hurts both sides alike. On a
# machine with 2+ cores the servers share one core (SERVER_CPU) and wrk gets
# another (WRK_CPU): the same CPU budget for both servers, and wrk never
# competes with the server it measures.
#
# Scenarios: keep-alive at 50 and 256 connections; `Connection: close`
# (a TCP connection per request); 16 requests pipelined per write.
#
# MODE=files (with STEP=step07) measures static files instead, both servers
# serving the same generated folder (nginx with sendfile and
# open_file_cache): a 1 KiB file and a 1 MiB file with keep-alive at 50
# connections, and a 304 revalidation of the 1 KiB file (If-Modified-Since).
# Access logging is off on both sides (RUST_LOG=warn, `access_log off`).
set -euo pipefail

ROUNDS=${ROUNDS:-3}          # alternations of ours and nginx per scenario
DURATION=${DURATION:-5}      # seconds per wrk run
STEP=${STEP:-step04}         # which step binary to measure
SERVER_CPU=${SERVER_CPU:-0}  # the core both servers run on
WRK_CPU=${WRK_CPU:-1}        # the core wrk runs on
PIPELINE=${PIPELINE:-16}     # requests per write in the pipelined scenario
MODE=${MODE:-plaintext}      # plaintext, or files (STEP=step07)

cd "$(dirname "$0")/.."
BENCHES=$PWD/benches

say() { printf '%s\n' "$*"; }

# --- tools -----------------------------------------------------------------
need_install=()
command -v wrk >/dev/null 2>&1 || need_install+=(wrk)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $NGINX ]] || need_install+=(nginx)
if ((${#need_install[@]})); then
  say "installing ${need_install[*]} from Debian packages"
  SUDO=; ((EUID == 0)) || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y "${need_install[@]}" >/dev/null ||
    { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y "${need_install[@]}" >/dev/null; }
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

say "building $STEP (release)"
cargo build --release --quiet --bin "$STEP"
OURS_BIN=$PWD/target/release/$STEP

PIN_SERVER=() PIN_WRK=()
if (($(nproc) >= 2)) && command -v taskset >/dev/null 2>&1; then
  PIN_SERVER=(taskset -c "$SERVER_CPU")
  PIN_WRK=(taskset -c "$WRK_CPU")
  say "pinning: both servers on CPU $SERVER_CPU, wrk on CPU $WRK_CPU (taskset)"
else
  say "NOT pinned ($(nproc) core(s) or no taskset): servers and wrk share the CPUs"
fi

# --- processes, cleaned up however we exit ---------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rawhttp-bench.XXXXXX")
OURS_PID= NGINX_PID= BASE_PID=
cleanup() {
  for pid in $OURS_PID $NGINX_PID $BASE_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $OURS_PID $NGINX_PID $BASE_PID; do
    timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait (at most 10 s) until something accepts connections on 127.0.0.1:$1.
wait_listening() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# The folder both servers serve in MODE=files: 1 KiB and 1 MiB of random
# bytes, with an mtime in the past (so both send a strong Last-Modified).
SITE=$WORK/site
mkdir -p "$SITE" "$WORK/uploads"
head -c 1024 /dev/urandom >"$SITE/1k.bin"
head -c 1048576 /dev/urandom >"$SITE/1m.bin"
touch -d '2025-01-01 00:00:00 UTC' "$SITE/1k.bin" "$SITE/1m.bin"
# nginx's workers run as an unprivileged user: let them in (mktemp made 0700).
chmod a+rx "$WORK" "$SITE" && chmod a+r "$SITE"/*

# Ours: port 0, the port read back from its one stdout line.
start_ours() { # binary, name; sets PID and PORT
  ADDR=127.0.0.1:0 RUST_LOG=warn ROOT=$SITE UPLOADS=$WORK/uploads \
    "${PIN_SERVER[@]}" "$1" >"$WORK/$2.out" 2>"$WORK/$2.err" &
  PID=$! PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$WORK/$2.out")
    [[ -n $PORT ]] && break
    sleep 0.1
  done
  [[ -n $PORT ]] || { say "$1 did not start:"; cat "$WORK/$2.err"; exit 1; }
}
start_ours "$OURS_BIN" ours
OURS_PID=$PID OURS_PORT=$PORT
SERVERS=(ours nginx)
if [[ -n ${BASELINE_BIN:-} ]]; then
  start_ours "$BASELINE_BIN" base
  BASE_PID=$PID BASE_PORT=$PORT
  SERVERS=(ours base nginx)
fi

# nginx: a generated config, one worker, no access log, loopback only. nginx
# cannot take port 0, so pick a free port, and try another if we lose a race.
start_nginx() {
  local port=$1
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location / {
            root $SITE;
            sendfile on;
            tcp_nopush on;
            open_file_cache max=1000 inactive=60s;
            open_file_cache_valid 60s;
        }
        location = /plaintext {
            default_type text/plain;
            return 200 "Hello, world!";
        }
    }
}
EOF
  "${PIN_SERVER[@]}" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" \
    >"$WORK/nginx/out" 2>&1 &
  NGINX_PID=$!
  if wait_listening "$port" && kill -0 "$NGINX_PID" 2>/dev/null; then return 0; fi
  kill "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=
  return 1
}
for _ in $(seq 10); do
  NGINX_PORT=$((20000 + RANDOM % 40000))
  ss -Htln "sport = :$NGINX_PORT" 2>/dev/null | grep -q . && continue
  start_nginx "$NGINX_PORT" && break
done
[[ -n $NGINX_PID ]] || { say "nginx did not start:"; cat "$WORK/nginx/error.log"; exit 1; }
wait_listening "$OURS_PORT" || { say "$STEP is not accepting"; exit 1; }

# Same body from both, or the comparison is meaningless.
for port in "$OURS_PORT" "$NGINX_PORT" ${BASE_PORT:-}; do
  body=$(curl -sS --max-time 5 "http://127.0.0.1:$port/plaintext")
  [[ $body == "Hello, world!" ]] || { say "port $port answered ${body@Q}"; exit 1; }
done

# --- measuring ---------------------------------------------------------------
# CPU time (user + system, in clock ticks) used so far by these processes,
# all their threads included: the server's own cost, which background load
# on a shared machine disturbs much less than requests per second.
cpu_ticks() {
  local t=0 pid f
  for pid in "$@"; do
    read -r -a f <"/proc/$pid/stat" || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# One wrk run; the URL goes before the extra arguments because a pipeline's
# depth follows `--` (TechEmpower's order). Prints "req_per_s p99_ms", and wrk's error lines to stderr.
run_wrk() {
  local port=$1 conns=$2; shift 2
  local out
  out=$(timeout $((DURATION + 30)) "${PIN_WRK[@]}" wrk -t1 -c"$conns" -d"${DURATION}s" --latency \
    "http://127.0.0.1:$port$URL_PATH" "$@") || { say "wrk failed: $out" >&2; echo "0 0"; return; }
  grep -E 'Socket errors|Non-2xx' <<<"$out" | sed 's/^/      wrk: /' >&2 || true
  awk '
    / requests in / { n = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /^ +99%/ {
      v = $2; ms = v + 0
      if (v ~ /us$/) ms = ms / 1000; else if (v ~ /ms$/) ms = ms; else if (v ~ /s$/) ms = ms * 1000
      p99 = ms
    }
    END { printf "%.0f %.3f %d\n", rps, p99, n }' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# name | connections | wrk arguments | rps target | p99 target (x nginx, or -)
LAST_MODIFIED="Wed, 01 Jan 2025 00:00:00 GMT"
# name | path | connections | wrk arguments | rps target | p99 target
FILE_SCENARIOS=(
  "1 KiB file, keep-alive, 50 connections|/1k.bin|50||0.8|-"
  "1 MiB file, keep-alive, 50 connections|/1m.bin|50||0.9|-"
  "304 revalidation, 50 connections|/1k.bin|50|-H|If-Modified-Since: $LAST_MODIFIED|-|-"
)
SCENARIOS=(
  "keep-alive, 50 connections|50||0.55|2"
  "keep-alive, 256 connections|256||-|-"
  "Connection: close, 50 connections|50|-H|Connection: close|0.7|-"
  "pipelined x$PIPELINE, 50 connections|50|-s|$BENCHES/pipeline.lua|--|$PIPELINE|1.0|-"
)

say "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
say "$ROUNDS rounds x ${DURATION}s per server per scenario ($MODE); 127.0.0.1"
say "ours: $STEP on :$OURS_PORT   nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') on :$NGINX_PORT"
[[ -n ${BASE_PID:-} ]] && say "base: $BASELINE_BIN on :$BASE_PORT"
summary=()
if [[ $MODE == files ]]; then
  SCENARIOS=("${FILE_SCENARIOS[@]}")
else
  SCENARIOS=("${SCENARIOS[@]/|/|/plaintext|}") # each gets the path /plaintext
fi
for scenario in "${SCENARIOS[@]}"; do
  IFS='|' read -r -a f <<<"$scenario"
  name=${f[0]} URL_PATH=${f[1]} f=("${f[0]}" "${f[@]:2}")
  conns=${f[1]}
  rps_target=${f[-2]} p99_target=${f[-1]}
  args=("${f[@]:2:${#f[@]}-4}")
  [[ ${args[0]:-} == "" ]] && args=()
  say ""
  say "== $name"
  : >"$WORK/ours.res"; : >"$WORK/nginx.res"; : >"$WORK/base.res"
  for round in $(seq "$ROUNDS"); do
    for who in "${SERVERS[@]}"; do
      case $who in
        ours) port=$OURS_PORT pids=$OURS_PID ;;
        base) port=$BASE_PORT pids=$BASE_PID ;;
        nginx) port=$NGINX_PORT pids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')" ;;
      esac
      # shellcheck disable=SC2086 # a list of pids
      t0=$(cpu_ticks $pids)
      read -r rps p99 n < <(run_wrk "$port" "$conns" "${args[@]}")
      # shellcheck disable=SC2086
      t1=$(cpu_ticks $pids)
      cpu=$(awk -v t=$((t1 - t0)) -v n="$n" -v us="$TICK_US" 'BEGIN { printf "%.1f", n ? t * us / n : 0 }')
      printf '   round %d  %-5s  %9s req/s   p99 %8s ms   server CPU %6s us/req\n' \
        "$round" "$who" "$rps" "$p99" "$cpu"
      echo "$rps $p99 $cpu" >>"$WORK/$who.res"
    done
  done
  o_rps=$(cut -d' ' -f1 "$WORK/ours.res" | median)
  o_p99=$(cut -d' ' -f2 "$WORK/ours.res" | median)
  n_rps=$(cut -d' ' -f1 "$WORK/nginx.res" | median)
  n_p99=$(cut -d' ' -f2 "$WORK/nginx.res" | median)
  o_cpu=$(cut -d' ' -f3 "$WORK/ours.res" | median)
  n_cpu=$(cut -d' ' -f3 "$WORK/nginx.res" | median)
  line=$(awk -v name="$name" -v orps="$o_rps" -v op="$o_p99" -v nrps="$n_rps" -v np="$n_p99" \
    -v oc="$o_cpu" -v nc="$n_cpu" \
    -v rt="$rps_target" -v pt="$p99_target" 'BEGIN {
      r = (nrps > 0) ? orps / nrps : 0; p = (np > 0) ? op / np : 0
      verdict = ""
      if (rt != "-") verdict = sprintf("target >= %.2fx: %s", rt, (r >= rt) ? "met" : "MISSED")
      if (pt != "-") verdict = verdict sprintf("; p99 target <= %gx: %s", pt, (p <= pt) ? "met" : "MISSED")
      printf "%-34s ours %7.0f req/s p99 %7.2f ms %5.1f us/req | nginx %7.0f req/s p99 %7.2f ms %5.1f us/req | ratio %.2fx, p99 %.2fx  %s",
        name, orps, op, oc, nrps, np, nc, r, p, verdict }')
  say "   median: ${line#*ours }"
  summary+=("$line")
  if [[ -n ${BASE_PID:-} ]]; then
    b_rps=$(cut -d' ' -f1 "$WORK/base.res" | median)
    b_p99=$(cut -d' ' -f2 "$WORK/base.res" | median)
    b_cpu=$(cut -d' ' -f3 "$WORK/base.res" | median)
    base_line=$(awk -v name="$name" -v orps="$o_rps" -v oc="$o_cpu" -v brps="$b_rps" -v bp="$b_p99" \
      -v bc="$b_cpu" -v nrps="$n_rps" 'BEGIN {
        printf "%-34s base %7.0f req/s p99 %7.2f ms %5.1f us/req | base/nginx %.2fx | ours/base %.2fx, CPU %.2fx",
          name, brps, bp, bc, (nrps > 0) ? brps / nrps : 0, (brps > 0) ? orps / brps : 0, (bc > 0) ? oc / bc : 0 }')
    say "   base:   ${base_line#*base }"
    summary+=("$base_line")
  fi
done

say ""
say "== summary (medians of $ROUNDS rounds; ratio = ours / nginx; us/req = server CPU time per request)"
printf '%s\n' "${summary[@]}"
say "load after: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
if [[ -s $WORK/ours.err ]]; then
  say "$STEP logged (warn and above): $(wc -l <"$WORK/ours.err") lines; first 5:"
  head -5 "$WORK/ours.err"
fi
