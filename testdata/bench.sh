#!/usr/bin/env bash
# make bench: times imgslim against crane on a >= 1 GB bloated image served by
# a local registry, and checks imgslim's targets:
#
#   wall time <= 0.2 x crane flatten, <= 1.5 x crane export, peak RSS <= 256 MiB.
#
# Steps: build crane (the go-containerregistry version in go.mod) and imgslim;
# generate the image with testdata/gen (cached while the generator and size
# are unchanged); serve a registry on 127.0.0.1 with `crane registry serve`;
# push the image; time `crane export` (the floor: pull and decompress every
# layer), `crane flatten` (pull, rewrite into one layer, push) and imgslim
# (pull, rewrite every layer, push) with /usr/bin/time.
#
# Benchmarks inform, they do not gate: targets that are missed are printed as
# FAIL, but the exit status is 0 unless a step fails (imgslim erring or
# writing an image that crane validate rejects counts as failing). When
# bin/imgslim does not build, its row is skipped and the crane rows still run.
#
# Environment:
#   BENCH_SIZE   uncompressed size of the image (default 1.2GB; at least 1GB
#                for the targets to mean anything)
#   BENCH_RUNS   runs of each command; the fastest is reported (default 1)
#   BENCH_CACHE  where crane, the image and the logs are kept
#                (default ~/.cache/imgslim-bench)
#   GO           the go command (default go)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE=${BENCH_SIZE:-1.2GB}
RUNS=${BENCH_RUNS:-1}
CACHE=${BENCH_CACHE:-$HOME/.cache/imgslim-bench}
GO=${GO:-go}
REMOVE=(--remove '**/.git' --remove /root/.npm --remove /var/cache/apt --remove /var/lib/apt/lists
	--remove /usr/share/doc --remove /usr/share/man --remove /app/src)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
calc() { awk "BEGIN { print $* }"; } # floating-point arithmetic and comparisons

mkdir -p "$CACHE/bin"
LOGS=$CACHE/logs
rm -rf "$LOGS" && mkdir -p "$LOGS"

# --- tools -------------------------------------------------------------------

if [ ! -x /usr/bin/time ]; then
	say "installing GNU time (apt package time)"
	if [ "$(id -u)" = 0 ]; then
		{ apt-get update && apt-get install -y time; } >"$LOGS/apt.log" 2>&1 || die "apt-get install time failed: see $LOGS/apt.log"
	else
		die "/usr/bin/time is missing: apt-get install time"
	fi
fi

GGCR=$($GO list -m -f '{{.Version}}' github.com/google/go-containerregistry)
CRANE=$CACHE/bin/crane-$GGCR
if [ ! -x "$CRANE" ]; then
	say "building crane $GGCR"
	tmpbin=$(mktemp -d "$CACHE/bin/tmp.XXXXXX")
	GOBIN=$tmpbin GOFLAGS= $GO install "github.com/google/go-containerregistry/cmd/crane@$GGCR" ||
		die "go install crane@$GGCR failed"
	mv "$tmpbin/crane" "$CRANE" && rmdir "$tmpbin"
fi
"$CRANE" registry serve --help >/dev/null 2>&1 || die "$CRANE has no 'registry serve'"

IMGSLIM=bin/imgslim
if $GO build -o "$IMGSLIM" ./cmd/imgslim 2>"$LOGS/imgslim-build.log"; then
	say "built $IMGSLIM"
else
	say "imgslim does not build (see $LOGS/imgslim-build.log): its row is skipped"
	IMGSLIM=
fi

# --- image -------------------------------------------------------------------

IMAGE=$CACHE/image-$SIZE
STAMP=$IMAGE.stamp
genhash=$( { printf 'size=%s\n' "$SIZE"; cat $(ls testdata/gen/*.go | grep -v '_test\.go$') go.mod go.sum; } | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$genhash" ] && [ -f "$IMAGE/index.json" ]; then
	say "reusing $IMAGE (generator and size unchanged)"
else
	say "generating a $SIZE image in $IMAGE"
	rm -f "$STAMP"
	$GO build -o "$CACHE/bin/gen" ./testdata/gen
	"$CACHE/bin/gen" -out "$IMAGE" -tag src -size "$SIZE"
	echo "$genhash" >"$STAMP"
fi

# --- registry ----------------------------------------------------------------

REG_PID=
cleanup() {
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

# Port 0: the registry picks a free port and logs it.
"$CRANE" registry serve --address 127.0.0.1:0 >"$LOGS/registry.log" 2>&1 &
REG_PID=$!
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*serving on port \([0-9][0-9]*\).*/\1/p' "$LOGS/registry.log" | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$REG_PID" 2>/dev/null || die "the registry exited: $(cat "$LOGS/registry.log")"
	sleep 0.1
done
[ -n "$PORT" ] || die "the registry did not start: $(cat "$LOGS/registry.log")"
REG=127.0.0.1:$PORT
for _ in $(seq 50); do
	"$CRANE" catalog "$REG" >/dev/null 2>&1 && break
	sleep 0.1
done
say "registry (in memory) on $REG, pid $REG_PID"

# crane and ggcr use plain HTTP for 127.0.0.1 by themselves: no --insecure.
start=$(date +%s.%N)
"$CRANE" push "$IMAGE" "$REG/bench:src" >"$LOGS/push.log" 2>&1 || die "crane push failed: $(tail -5 "$LOGS/push.log")"
say "pushed $REG/bench:src in $(calc "int(($(date +%s.%N) - $start) * 10) / 10")s"

# --- timings -----------------------------------------------------------------

# run NAME CMD...: runs CMD BENCH_RUNS times under /usr/bin/time, stdout to
# $OUT (default $LOGS/NAME.out), stderr to $LOGS/NAME.err, and sets WALL and
# RSS (MiB) of the fastest run.
run() {
	local name=$1 i wall rss out=${OUT:-$LOGS/$1.out}
	shift
	WALL= RSS=
	for i in $(seq "$RUNS"); do
		if ! /usr/bin/time -f '%e %M' -o "$LOGS/$name.time" "$@" >"$out" 2>"$LOGS/$name.err"; then
			say "$name failed ($(head -1 "$LOGS/$name.time")); the end of $LOGS/$name.err:"
			tail -5 "$LOGS/$name.err" >&2
			return 1
		fi
		read -r wall rss < <(tail -1 "$LOGS/$name.time")
		rss=$((rss / 1024))
		say "$name: run $i: ${wall}s, ${rss} MiB"
		if [ -z "$WALL" ] || [ "$(calc "$wall < $WALL")" = 1 ]; then
			WALL=$wall RSS=$rss
		fi
	done
}

# image size: the sum of the config and layer sizes in the manifest.
size_of() {
	"$CRANE" manifest "$1" | grep -o '"size": *[0-9]*' | grep -o '[0-9]*$' | awk '{ s += $1 } END { print s }'
}

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=/dev/null run export "$CRANE" export "$REG/bench:src" - || die "crane export failed"
EXPORT_WALL=$WALL EXPORT_RSS=$RSS
run flatten "$CRANE" flatten "$REG/bench:src" -t "$REG/bench:flat" || die "crane flatten failed"
FLAT_WALL=$WALL FLAT_RSS=$RSS
STATUS=0
if [ -n "$IMGSLIM" ]; then
	if run imgslim "$IMGSLIM" --insecure --sets none --report "$LOGS/imgslim-report.json" "${REMOVE[@]}" "docker://$REG/bench:src" "docker://$REG/bench:slim"; then
		SLIM_WALL=$WALL SLIM_RSS=$RSS
		if "$CRANE" validate --remote "$REG/bench:slim" >"$LOGS/validate.log" 2>&1; then
			SLIM_VALID=valid
		else
			SLIM_VALID="INVALID (crane validate: see $LOGS/validate.log)"
			STATUS=1
		fi
	else
		IMGSLIM_FAILED=1
		STATUS=1
	fi
fi

# --- report ------------------------------------------------------------------

mib() { awk "BEGIN { printf \"%.1f\", $1 / 1048576 }"; }
ratio() { awk "BEGIN { printf \"%.3f\", $1 / $2 }"; }
verdict() { # value limit
	if [ "$(calc "$1 <= $2")" = 1 ]; then echo PASS; else echo 'FAIL  <<<<<<<<'; fi
}

echo
echo "imgslim bench: $SIZE image ($(mib "$(size_of "$REG/bench:src")") MiB compressed), $RUNS run(s) each, $(nproc) CPUs, registry $REG"
echo "load average before the runs: $LOAD (anything else running skews the times)"
echo
printf '%-34s %10s %14s %18s\n' tool 'wall s' 'peak RSS MiB' 'image MiB (gzip)'
printf '%-34s %10s %14s %18s\n' 'crane export (floor)' "$EXPORT_WALL" "$EXPORT_RSS" -
printf '%-34s %10s %14s %18s\n' 'crane flatten' "$FLAT_WALL" "$FLAT_RSS" "$(mib "$(size_of "$REG/bench:flat")")"
if [ -z "$IMGSLIM" ]; then
	printf '%-34s %10s %14s %18s\n' 'imgslim (does not build)' skipped - -
elif [ -n "${IMGSLIM_FAILED:-}" ]; then
	printf '%-34s %10s %14s %18s\n' 'imgslim (erred: see imgslim.err)' FAILED - -
else
	printf '%-34s %10s %14s %18s\n' 'imgslim (7 --remove rules)' "$SLIM_WALL" "$SLIM_RSS" "$(mib "$(size_of "$REG/bench:slim")")"
fi
echo
FAILS=0
if [ -n "$IMGSLIM" ] && [ -z "${IMGSLIM_FAILED:-}" ]; then
	printf '%-34s %10s %14s   %s\n' target value limit result
	line() { # label value limit
		local v
		v=$(verdict "$2" "$3")
		[ "$v" = PASS ] || FAILS=$((FAILS + 1))
		printf '%-34s %10s %14s   %s\n' "$1" "$2" "<= $3" "$v"
	}
	line 'imgslim time / flatten time' "$(ratio "$SLIM_WALL" "$FLAT_WALL")" 0.2
	line 'imgslim time / export time' "$(ratio "$SLIM_WALL" "$EXPORT_WALL")" 1.5
	line 'imgslim peak RSS (MiB)' "$SLIM_RSS" 256
	echo
	echo "slimmed image: $SLIM_VALID; imgslim's report: $LOGS/imgslim.out"
	# The stages' seconds, from the JSON report: the self-verification
	# (reading the source's and the output's filesystems) is its own.
	if [ -f "$LOGS/imgslim-report.json" ]; then
		echo "imgslim stages (s): $(grep -oE '"(planSeconds|rewriteSeconds|verifySeconds)": [0-9.e+-]+' "$LOGS/imgslim-report.json" | tr -d '"' | tr '\n' ' ')"
	fi
	if [ "$FAILS" -gt 0 ]; then
		echo
		echo "!!!!!!!! $FAILS TARGET(S) MISSED — see FAIL above !!!!!!!!"
	fi
else
	echo "targets: not checked (no imgslim run)"
fi
echo "logs: $LOGS"
exit "$STATUS"
