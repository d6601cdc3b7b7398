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

.PHONY: build demo test unit services bench lint fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/imgslim

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

# Every test, with the Docker daemon and registry they need.
test: services
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 40m $(PKGS)
	$(GO) test -run='^$$' -fuzz=FuzzRewrite -fuzztime=20s ./layers/
	$(GO) test -run='^$$' -fuzz=FuzzResolve -fuzztime=20s ./slim/elfdeps/

# Unit tests only: no daemon, no registry.
unit:
	$(GO) test -short -race ./...

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzRewrite -fuzztime=5m ./layers/
	$(GO) test -run='^$$' -fuzz=FuzzResolve -fuzztime=5m ./slim/elfdeps/

bench: build
	bash testdata/bench.sh

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

clean:
	rm -rf bin demo-out
