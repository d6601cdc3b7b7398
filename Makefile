# imgslim — see README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/imgslim

# Test services started by .ci/services; the tests read these.
export IMGSLIM_TEST_REGISTRY          ?= 127.0.0.1:5000
export IMGSLIM_TEST_REGISTRY_USER     ?= imgslim
export IMGSLIM_TEST_REGISTRY_PASSWORD ?= imgslim-test
export IMGSLIM_TEST_BASE              ?= imgslim-test/bookworm:minbase

# Packages under testdata/ are not matched by ./..., so they are named.
PKGS := ./... ./testdata/dockertest/ ./testdata/gen/

.PHONY: build image demo test unit e2e test-host fuzz-short services bench lint fuzz clean

# A static binary: no libc, runs on any Linux and in an empty image. The
# version comes from the build info (module version, VCS revision):
# -buildvcs=auto overrides a GOFLAGS=-buildvcs=false, and is quiet outside
# a git checkout.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/imgslim

# imgslim's own image, without Docker Hub: the static binary, the host's CA
# bundle and a non-root user (65532) on one layer (testdata/imagebuild),
# written as an OCI layout to bin/image and, when a daemon answers, loaded
# into it as $(IMAGE) by imgslim itself.
IMAGE ?= imgslim/imgslim:dev
image: build
	$(GO) run ./testdata/imagebuild -bin $(BIN) -out bin/image -tag latest
	if docker version >/dev/null 2>&1; then \
		./$(BIN) -q --sets none oci:bin/image:latest docker-daemon:$(IMAGE); fi

# Generates a bloated single-stage image offline (testdata/gen), slims it
# into an OCI layout, and prints the report.
demo: build
	rm -rf demo-out && mkdir -p demo-out
	$(GO) run ./testdata/gen -out demo-out/bloated -tag demo
	./$(BIN) --rules testdata/demo.rules --report demo-out/report.json \
		oci:demo-out/bloated:demo oci:demo-out/slim:demo
	@echo "slimmed image: demo-out/slim (OCI layout), JSON report: demo-out/report.json"

services:
	bash .ci/services

# The packages with end-to-end tests: see .ci/e2e-packages.
E2E_PKGS = $(shell bash .ci/e2e-packages)

# Every test that matters, with the services the end-to-end ones need (see
# "Tests" in README.md): vet (each build), then at once the unit tests under
# the race detector, the end-to-end tests without it and a short fuzz of
# each target. The end-to-end tests spend most of their time waiting on the
# daemon (docker build, run, load, save), so the CPU-bound unit tests and
# fuzzing fit beside them on two cores; each target's output is printed
# whole when it ends.
test: services
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e $(PKGS)
	$(GO) vet -tags host $(PKGS)
	$(MAKE) --no-print-directory -j3 --output-sync=target unit e2e fuzz-short

# Unit tests: no daemon, no registry, no network; under the race detector,
# with -short (which picks the small variant of a test's input: 64 MiB
# instead of layers' 20 GiB sparse file). Tests that need a service call
# testdata/dockertest, which skips them in a binary built without -tags e2e.
unit:
	$(GO) test -race -short -count=1 -timeout 30m $(PKGS)

# End-to-end tests: files tagged //go:build e2e and the tests that call
# testdata/dockertest, against the services; without -race (the images are
# GB-sized). In CI (CI=true) a missing service fails the test. They run in
# parallel (t.Parallel) and mostly wait on the daemon, so more of them run
# at once than there are cores (-parallel).
E2E_PARALLEL ?= 4
e2e: services
	$(GO) test -tags e2e -count=1 -timeout 60m -parallel $(E2E_PARALLEL) $(E2E_PKGS)

# Opt-in tests that depend on this host and the network (README.md, Tests).
test-host:
	$(GO) test -tags host -count=1 -timeout 30m -v -run 'TestHostLddEverything|TestRealNpm' ./slim/elfdeps/ ./slim/npm/

# 20 s of each fuzz target, the three at once (one target a package, so
# their caches and corpora do not meet), one worker each: the seed corpus of
# each and a short search, in 20 s of wall time instead of 60.
FUZZ_SHORT = FuzzRewrite:./layers/ FuzzResolve:./slim/elfdeps/ FuzzImage:./slim/
fuzz-short:
	@pids=(); for t in $(FUZZ_SHORT); do \
		$(GO) test -run='^$$' -fuzz="^$${t%%:*}$$" -fuzztime=20s -parallel 1 "$${t#*:}" & pids+=($$!); \
	done; rc=0; for p in "$${pids[@]}"; do wait $$p || rc=1; done; exit $$rc

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzRewrite -fuzztime=10m ./layers/
	$(GO) test -run='^$$' -fuzz=FuzzResolve -fuzztime=10m ./slim/elfdeps/
	$(GO) test -run='^$$' -fuzz=FuzzImage -fuzztime=10m ./slim/

bench: build
	bash testdata/bench.sh

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e $(PKGS)
	$(GO) vet -tags host $(PKGS)

clean:
	rm -rf bin demo-out
