#!/usr/bin/env bash
# make bench: issue 11's figures, each beside its reference, measured in ONE
# run on this machine so that the ratios hold whatever its speed and load.
#
# Images, served by an in-memory registry on 127.0.0.1 (`crane registry serve`):
#   node   the e2e suite's single-stage Node fixture, imgslim-test/node-ts-app:1
#          (1.47 GB, built by testdata/dockertest when the daemon lacks it),
#          kept as a gzip OCI layout in the cache, keyed by its image ID
#   node2  a second app image on the same base: node plus one more app layer
#          (crane append), for the second-image-on-the-same-base ratio
#   big    a generated image (testdata/gen, BENCH_BIG_SIZE, default 10GB),
#          for time and memory as images grow; BENCH_BIG=0 leaves it out
#
# Timed with /usr/bin/time (wall s, peak RSS): crane export to /dev/null and
# crane flatten (the references), imgslim with default rules to an OCI layout,
# imgslim --dry-run and imgslim analyze, imgslim on node2 after node with the
# same cache directory; the peak bytes of imgslim's temp directory are sampled
# every 0.2 s. Beside each figure: the load average when it was taken (the
# machine may be shared).
#
# Benchmarks inform, they do not gate: a missed target prints FAIL, the exit
# status is 0 unless a step fails (imgslim erring, or writing an image that
# crane validate rejects).
#
# Environment:
#   BENCH_CACHE     crane, the layouts and the logs (default ~/.cache/imgslim-bench)
#   BENCH_BIG       1 (default) or 0
#   BENCH_BIG_SIZE  the generated image's uncompressed size (default 10GB)
#   GO              the go command (default go)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE=${BENCH_CACHE:-$HOME/.cache/imgslim-bench}
BIG=${BENCH_BIG:-1}
BIG_SIZE=${BENCH_BIG_SIZE:-10GB}
GO=${GO:-go}
NODE_TAG=imgslim-test/node-ts-app:1

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
calc() { awk "BEGIN { print $* }"; }
load() { cut -d' ' -f1 /proc/loadavg; }

mkdir -p "$CACHE/bin"
LOGS=$CACHE/logs
WORK=$CACHE/work
rm -rf "$LOGS" "$WORK" && mkdir -p "$LOGS" "$WORK"

# --- tools -------------------------------------------------------------------

if [ ! -x /usr/bin/time ]; then
	[ "$(id -u)" = 0 ] || die "/usr/bin/time is missing: apt-get install time"
	say "installing GNU time (apt package time)"
	{ apt-get update && apt-get install -y time; } >"$LOGS/apt.log" 2>&1 || die "apt-get install time failed: see $LOGS/apt.log"
fi
GGCR=$($GO list -m -f '{{.Version}}' github.com/google/go-containerregistry)
CRANE=$CACHE/bin/crane-$GGCR
if [ ! -x "$CRANE" ]; then
	say "building crane $GGCR"
	tmpbin=$(mktemp -d "$CACHE/bin/tmp.XXXXXX")
	GOBIN=$tmpbin GOFLAGS= $GO install "github.com/google/go-containerregistry/cmd/crane@$GGCR" || die "go install crane@$GGCR failed"
	mv "$tmpbin/crane" "$CRANE" && rmdir "$tmpbin"
fi
IMGSLIM=$PWD/bin/imgslim
CGO_ENABLED=0 $GO build -trimpath -o "$IMGSLIM" ./cmd/imgslim 2>"$LOGS/imgslim-build.log" || die "imgslim does not build: see $LOGS/imgslim-build.log"
"$IMGSLIM" --help 2>&1 | grep -q -- --cache-dir && HAVE_CACHE=1 || HAVE_CACHE=

# --- images ------------------------------------------------------------------

docker version >/dev/null 2>&1 || die "no Docker daemon (make services)"
if ! docker image inspect "$NODE_TAG" >/dev/null 2>&1; then
	say "building $NODE_TAG (testdata/dockertest)"
	$GO test -tags e2e -count=1 -run '^TestNodeTSApp$' ./testdata/dockertest/ >"$LOGS/fixture.log" 2>&1 || die "building the node fixture failed: see $LOGS/fixture.log"
fi
NODE_ID=$(docker image inspect "$NODE_TAG" --format '{{.Id}}')
NODE_LAYOUT=$CACHE/node-${NODE_ID#sha256:}
NODE_LAYOUT=${NODE_LAYOUT:0:${#CACHE}+18}

REG_PID=
SAMPLER=
cleanup() {
	[ -z "$SAMPLER" ] || { kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null; } || true
	[ -z "$REG_PID" ] || { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; } || true
	rm -rf "$WORK"
}
trap cleanup EXIT
"$CRANE" registry serve --address 127.0.0.1:0 >"$LOGS/registry.log" 2>&1 &
REG_PID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$LOGS/registry.log" | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$REG_PID" 2>/dev/null || die "the registry exited: $(cat "$LOGS/registry.log")"
	sleep 0.1
done
[ -n "$PORT" ] || die "the registry did not start"
REG=127.0.0.1:$PORT
say "registry (in memory) on $REG"

if [ ! -f "$NODE_LAYOUT/index.json" ]; then
	# Once per fixture: docker save, then crane compresses the layers
	# (gzip, as a registry would serve them) and keeps them as a layout.
	say "converting $NODE_TAG to a gzip OCI layout (once; a few minutes)"
	docker save "$NODE_TAG" -o "$WORK/node.tar"
	"$CRANE" push "$WORK/node.tar" "$REG/bench:node" >"$LOGS/convert.log" 2>&1 || die "crane push: see $LOGS/convert.log"
	rm -rf "$NODE_LAYOUT.tmp" && "$CRANE" pull --format oci "$REG/bench:node" "$NODE_LAYOUT.tmp" >>"$LOGS/convert.log" 2>&1
	rm -f "$WORK/node.tar" && mv "$NODE_LAYOUT.tmp" "$NODE_LAYOUT"
fi
"$CRANE" push "$NODE_LAYOUT" "$REG/bench:node" >"$LOGS/push.log" 2>&1 || die "crane push: see $LOGS/push.log"
# node2: the same base and app, plus one more app layer.
mkdir -p "$WORK/app2/srv/app2" && head -c 4096 /dev/urandom | base64 >"$WORK/app2/srv/app2/server.js"
tar -C "$WORK/app2" -cf "$WORK/app2.tar" srv
"$CRANE" append -b "$REG/bench:node" -f "$WORK/app2.tar" -t "$REG/bench:node2" >>"$LOGS/push.log" 2>&1 || die "crane append: see $LOGS/push.log"

if [ "$BIG" = 1 ]; then
	BIG_LAYOUT=$CACHE/big-$BIG_SIZE
	genhash=$( { printf 'size=%s\n' "$BIG_SIZE"; cat $(ls testdata/gen/*.go | grep -v '_test\.go$') go.mod go.sum; } | sha256sum | cut -d' ' -f1)
	if [ ! -f "$BIG_LAYOUT.stamp" ] || [ "$(cat "$BIG_LAYOUT.stamp")" != "$genhash" ] || [ ! -f "$BIG_LAYOUT/index.json" ]; then
		say "generating a $BIG_SIZE image (once per generator version)"
		rm -f "$BIG_LAYOUT.stamp"
		$GO build -o "$CACHE/bin/gen" ./testdata/gen
		"$CACHE/bin/gen" -out "$BIG_LAYOUT" -tag src -size "$BIG_SIZE" >"$LOGS/gen.log" 2>&1 || die "gen: see $LOGS/gen.log"
		echo "$genhash" >"$BIG_LAYOUT.stamp"
	fi
	"$CRANE" push "$BIG_LAYOUT" "$REG/bench:big" >>"$LOGS/push.log" 2>&1 || die "crane push: see $LOGS/push.log"
fi

# --- timing ------------------------------------------------------------------

# sample DIR FILE: writes the peak size of DIR to FILE every 0.2 s.
sample() {
	local peak=0 n
	while :; do
		n=$(du -sb "$1" 2>/dev/null | cut -f1) || n=0
		[ "${n:-0}" -gt "$peak" ] && peak=$n && echo "$peak" >"$2"
		sleep 0.2
	done
}

# run NAME CMD...: runs CMD under /usr/bin/time with its own TMPDIR; sets
# WALL (s), RSS (MiB), TMPPEAK (bytes) and LOAD (1-minute average before).
run() {
	local name=$1
	shift
	local tmp=$WORK/tmp-$name
	rm -rf "$tmp" && mkdir -p "$tmp"
	echo 0 >"$LOGS/$name.tmppeak"
	LOAD=$(load)
	sample "$tmp" "$LOGS/$name.tmppeak" &
	SAMPLER=$!
	local rc=0
	TMPDIR=$tmp /usr/bin/time -f '%e %M' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.out" 2>"$LOGS/$name.err" || rc=$?
	kill "$SAMPLER" 2>/dev/null && wait "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	if [ "$rc" != 0 ]; then
		say "$name failed (exit $rc); the end of $LOGS/$name.err:"
		tail -5 "$LOGS/$name.err" >&2
		return 1
	fi
	read -r WALL RSS < <(tail -1 "$LOGS/$name.time")
	RSS=$((RSS / 1024))
	TMPPEAK=$(cat "$LOGS/$name.tmppeak")
	say "$name: ${WALL}s, ${RSS} MiB, temp peak $TMPPEAK bytes, load $LOAD"
}

STATUS=0
declare -A W R T L
timed() { # NAME CMD...
	local name=$1
	if run "$@"; then
		W[$name]=$WALL R[$name]=$RSS T[$name]=$TMPPEAK L[$name]=$LOAD
	else
		W[$name]=FAILED R[$name]=- T[$name]=- L[$name]=$LOAD
		STATUS=1
	fi
}
CACHEFLAG=()
[ -z "$HAVE_CACHE" ] || CACHEFLAG=(--cache-dir "$WORK/layercache")

timed export "$CRANE" export "$REG/bench:node" /dev/null
timed flatten "$CRANE" flatten "$REG/bench:node" -t "$REG/bench:flat"
timed slim "$IMGSLIM" --insecure "${CACHEFLAG[@]}" --report "$LOGS/slim-report.json" "docker://$REG/bench:node" "oci:$WORK/out-node:slim"
timed dryrun "$IMGSLIM" --insecure --dry-run "docker://$REG/bench:node" "oci:$WORK/out-dry:slim"
timed analyze "$IMGSLIM" analyze --insecure "docker://$REG/bench:node"
timed second "$IMGSLIM" --insecure "${CACHEFLAG[@]}" "docker://$REG/bench:node2" "oci:$WORK/out-node2:slim"
if [ "$BIG" = 1 ]; then
	timed bigexport "$CRANE" export "$REG/bench:big" /dev/null
	timed big "$IMGSLIM" --insecure --sets none --remove /usr/share/doc "docker://$REG/bench:big" "oci:$WORK/out-big:slim"
fi

# The outputs must be valid images: crane validate reads every layer.
for o in out-node out-node2; do
	[ -f "$WORK/$o/index.json" ] || continue
	if ! "$CRANE" push "$WORK/$o" "$REG/bench:$o" >"$LOGS/validate-$o.log" 2>&1 ||
		! "$CRANE" validate --remote "$REG/bench:$o" >>"$LOGS/validate-$o.log" 2>&1; then
		say "$o: INVALID (see $LOGS/validate-$o.log)"
		STATUS=1
	fi
done
# The two app images' base layers: the same rewritten blobs?
SHARED=-
if [ -f "$WORK/out-node/index.json" ] && [ -f "$WORK/out-node2/index.json" ]; then
	a=$("$CRANE" manifest "$REG/bench:out-node" | grep -o 'sha256:[0-9a-f]*' | sort)
	b=$("$CRANE" manifest "$REG/bench:out-node2" | grep -o 'sha256:[0-9a-f]*' | sort)
	SHARED="$(comm -12 <(echo "$a") <(echo "$b") | wc -l) blobs shared of $(echo "$a" | wc -l)"
fi

# --- report ------------------------------------------------------------------

mib() { awk "BEGIN { printf \"%.1f\", $1 / 1048576 }"; }
ratio() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk "BEGIN { printf \"%.3f\", $1 / $2 }" || echo -; }
verdict() { [[ $1 =~ ^[0-9.]+$ ]] || { echo 'FAIL  <<<<'; return; }; [ "$(calc "$1 <= $2")" = 1 ] && echo PASS || echo 'FAIL  <<<<'; }

echo
echo "imgslim bench ($(date -u +%FT%TZ), $(nproc) CPUs, $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "node: $NODE_TAG, $(mib "$(du -sb "$NODE_LAYOUT/blobs" | cut -f1)") MiB compressed; node2 = node + one app layer"
[ "$BIG" = 1 ] && echo "big: testdata/gen -size $BIG_SIZE, $(mib "$(du -sb "$BIG_LAYOUT/blobs" | cut -f1)") MiB compressed"
[ -n "$HAVE_CACHE" ] || echo "imgslim has no --cache-dir: the second image runs without a layer cache"
echo
printf '%-30s %9s %9s %14s %6s\n' run 'wall s' 'RSS MiB' 'temp peak MiB' load
for k in export flatten slim dryrun analyze second bigexport big; do
	[ -n "${W[$k]:-}" ] || continue
	t=${T[$k]}
	[[ $t =~ ^[0-9]+$ ]] && t=$(mib "$t")
	printf '%-30s %9s %9s %14s %6s\n' "$k" "${W[$k]}" "${R[$k]}" "$t" "${L[$k]}"
done
echo
printf '%-44s %9s %9s   %s\n' target value limit result
line() { printf '%-44s %9s %9s   %s\n' "$1" "$2" "<= $3" "$(verdict "$2" "$3")"; }
line 'slim / crane export (node)' "$(ratio "${W[slim]}" "${W[export]}")" 0.6
line 'slim / crane flatten (node)' "$(ratio "${W[slim]}" "${W[flatten]}")" 0.6
line '--dry-run / crane export' "$(ratio "${W[dryrun]}" "${W[export]}")" 0.35
line 'analyze / crane export' "$(ratio "${W[analyze]}" "${W[export]}")" 0.35
line 'slim peak RSS MiB (node)' "${R[slim]}" 128
line 'slim peak temp MiB (node)' "$([[ ${T[slim]} =~ ^[0-9]+$ ]] && mib "${T[slim]}" || echo -)" "$(mib "$(du -sb "$NODE_LAYOUT/blobs" | cut -f1)")"
line 'second image / first (same base)' "$(ratio "${W[second]}" "${W[slim]}")" 0.25
if [ "$BIG" = 1 ]; then
	line 'big slim / crane export (big)' "$(ratio "${W[big]}" "${W[bigexport]}")" 0.6
	line 'big slim peak RSS MiB' "${R[big]}" 192
fi
echo "rewritten base layers of node and node2: $SHARED"
if [ -f "$LOGS/slim-report.json" ]; then
	echo "imgslim stages (s): $(grep -oE '"(planSeconds|rewriteSeconds|verifySeconds)": [0-9.e+-]+' "$LOGS/slim-report.json" | tr -d '"' | tr '\n' ' ')"
fi
echo "logs: $LOGS"
exit "$STATUS"
