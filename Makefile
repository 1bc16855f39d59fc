# husk — see README.md. `make help` lists the targets.

# sudo resets PATH (secure_path), so make sure the Go toolchain is found.
export PATH := $(PATH):/usr/local/go/bin

GO      ?= go
# encoding/json on its v2 engine: same behaviour, but its first decode of a
# runtime-spec config (which every husk process does cold) takes half the
# time, as it doesn't build encoders for every type the spec reaches.
# Only husk's own module: tests/clients builds containerd's client.
# nogreenteagc, where the toolchain has it: Go 1.26's default collector
# keeps each small-object span's mark bits inside the span, and
# initialising them writes a page of the span that its first objects often
# leave untouched. husk's processes are short and never collect; with the
# bits kept aside a `run` took 113 fewer page faults (512 to 399) and 0.46
# ms less wall time and CPU (150 paired runs of /bin/true, 2-core AMD EPYC
# VM, 2026-12-05).
GOEXP   := jsonv2$(shell PATH="$(PATH)" GOEXPERIMENT=jsonv2,nogreenteagc $(GO) env GOEXPERIMENT >/dev/null 2>&1 && echo ,nogreenteagc)
HUSKGO  := GOEXPERIMENT=$(GOEXP) $(GO)
VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0-dev)
COMMIT  ?= $(or $(shell git rev-parse --verify -q HEAD 2>/dev/null),unknown)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
TIMEOUT ?= 20m

LDFLAGS := -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)
# husk runs several times per container (create, its init stage, start,
# delete), so its start-up time counts: urfave_cli_no_docs leaves out
# urfave/cli's man page generator and its markdown library, and a static
# binary (glibc and libseccomp linked in) skips the dynamic loader. netgo
# and osusergo keep glibc's NSS, which can't be linked statically, out.
TAGS    := urfave_cli_no_docs netgo osusergo
LDFLAGS += -linkmode external -extldflags -static

.PHONY: all husk test clients clients-runc unit integration install uninstall bench bench-v2vm demo clean vet fmt-check help fuzz stress

all: husk

# OUT: where to put the binary (the integration tests build their own).
OUT ?= husk
husk:
	$(HUSKGO) build -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(OUT) .

# Unit tests everywhere plus the root-only integration tests.
# Unit and integration tests, then husk under podman and containerd
# (tests/clients is a module of its own, to keep containerd's client out of
# husk's dependencies).
test:
	$(HUSKGO) test -count=1 -timeout $(TIMEOUT) ./...
	$(MAKE) --no-print-directory clients

# tests/clientkit, the helpers tests/clients and tests/cri share, is vetted
# with each.
clients:
	cd tests/clientkit && $(GO) vet ./...
	cd tests/clients && $(GO) vet ./... && $(GO) test -count=1 -timeout $(TIMEOUT) -v ./...

# The same client tests with Debian's runc, to show they test the clients.
clients-runc:
	cd tests/clients && RUNTIME=$${RUNTIME:-/usr/sbin/runc} $(GO) test -count=1 -timeout $(TIMEOUT) -v ./...

unit:
	$(HUSKGO) test -count=1 -timeout $(TIMEOUT) $$($(GO) list ./... | grep -v '/tests/')

integration:
	$(HUSKGO) test -count=1 -timeout $(TIMEOUT) -v ./tests/integration/...

install: husk
	install -D -m 0755 husk $(DESTDIR)$(BINDIR)/husk
	install -D -m 0644 contrib/completions/bash/husk $(DESTDIR)$(BASHCOMPDIR)/husk

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/husk $(DESTDIR)$(BASHCOMPDIR)/husk

bench:
	bash contrib/bench/bench.sh

# make bench's driver in the cgroup v2 guest, with crun (contrib/bench/v2vm.sh).
bench-v2vm:
	bash contrib/bench/v2vm.sh

demo:
	bash contrib/demo.sh

vet:
	$(HUSKGO) vet ./...

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

clean:
	rm -f husk

# The OCI runtime-tools validation suite against ./husk (RUNTIME=path for
# another runtime); see tests/conformance/README.md.
.PHONY: conformance
conformance: husk
	RUNTIME=$${RUNTIME:-$(CURDIR)/husk} bash tests/conformance/run.sh

# Every Go fuzz target (func FuzzXxx outside tests/), one after the other,
# FUZZTIME each; FUZZ=REGEXP runs only the matching ones. See
# tests/fuzz/run.sh.
FUZZTIME ?= 30s
FUZZ ?= .
fuzz:
	GO="$(GO)" FUZZTIME="$(FUZZTIME)" FUZZ="$(FUZZ)" TIMEOUT="$(TIMEOUT)" bash tests/fuzz/run.sh

# Lifecycles, parallel bursts and races against delete --force with the
# husk built here, then a leak check (as root); STRESS_N and STRESS_P set
# the counts. See tests/stress/main.go.
STRESS_N ?= 1000
STRESS_P ?= 100
stress: husk
	STRESS_N=$(STRESS_N) STRESS_P=$(STRESS_P) $(HUSKGO) run ./tests/stress -husk $(CURDIR)/husk

help:
	@echo "targets: all husk test clients clients-runc v2vm-test conformance unit integration install uninstall bench bench-v2vm demo vet fmt-check clean fuzz stress cri cri-bench"
	@echo "vars:    PREFIX=$(PREFIX) BINDIR=$(BINDIR) DESTDIR= TIMEOUT=$(TIMEOUT) BENCH_N=50"
	@echo "         FUZZTIME=$(FUZZTIME) (per fuzz target) FUZZ=$(FUZZ) (target regexp) STRESS_N=$(STRESS_N) (lifecycles) STRESS_P=$(STRESS_P) (burst size)"

# cgroup v2 tests in a throw-away QEMU guest booted with cgroup v2 only (this
# host is hybrid): see tests/v2vm/README.md. The binaries are built here and
# run in the guest. V2VM_FLAGS=--systemd boots systemd as the guest's PID 1.
V2VM_BUILD := $(CURDIR)/tests/v2vm/.build
V2VM_RUN ?= Cgroup|Lifecycle|Run[^c]|Systemd|AppArmor|Checkpoint|Fallback|ExecWithoutGo|ExecProcessFile|StateWithoutGo|StateInGo|KillWithoutGo|KillInGo
V2VM_PARALLEL ?=
V2VM_FLAGS ?=
V2VM_CRIU ?=
.PHONY: v2vm-test
v2vm-test:
	mkdir -p $(V2VM_BUILD)
	$(HUSKGO) build -trimpath -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(V2VM_BUILD)/husk .
	$(HUSKGO) test -c -o $(V2VM_BUILD)/cgroups.test ./libcontainer/cgroups
	$(HUSKGO) test -c -o $(V2VM_BUILD)/integration.test ./tests/integration
	CGO_ENABLED=0 $(GO) build -o $(V2VM_BUILD)/helper ./tests/helper
	cd tests/clients && $(GO) test -c -o $(V2VM_BUILD)/clients.test .
	HUSK_V2VM_TIMEOUT=$${HUSK_V2VM_TIMEOUT:-1800} tests/v2vm/run.sh --criu $(V2VM_FLAGS) -- \
		env V2VM_BUILD=$(V2VM_BUILD) V2VM_RUN='$(V2VM_RUN)' V2VM_PARALLEL=$(V2VM_PARALLEL) V2VM_CRIU=$(V2VM_CRIU) tests/v2vm/suite.sh

# runc v1.5.1's own integration suite (bats) against ./husk, or against the
# runc 1.5.2 it builds as the reference with RUNC_SUITE_BIN=runc; long (about
# 300 tests), so not part of `make test` or .ci/run. RUNC_SUITE_ARGS: more
# arguments of run.sh (-f FILTER, FILE.bats...). `tests/runcsuite/run.sh
# compare` then lists what runc passes and husk fails; see
# tests/runcsuite/README.md.
RUNC_SUITE_BIN ?= husk
RUNC_SUITE_ARGS ?=
.PHONY: runc-suite
runc-suite: $(if $(filter husk,$(RUNC_SUITE_BIN)),husk)
	bash tests/runcsuite/run.sh run $(RUNC_SUITE_BIN) $(RUNC_SUITE_ARGS)

# husk as a Kubernetes CRI runtime handler: a private containerd (CRI, CNI
# bridge in a network namespace of its own) driven by crictl scenarios and
# critest (cri-tools v1.37.0, built from the Go module proxy); see
# tests/cri/README.md. CRI_HANDLERS / CRITEST_HANDLERS="husk runc" run them
# with runc too (critest then fails on a spec only husk fails).
.PHONY: cri cri-bench
cri: husk
	cd tests/clientkit && $(GO) vet ./...
	cd tests/cri && $(GO) vet ./... && RUNTIME=$(CURDIR)/husk $(GO) test -count=1 -timeout $(TIMEOUT) -v .

# crictl exec latency through the CRI, husk vs runc (CRI_BENCH_N, default 50).
cri-bench: husk
	cd tests/cri && RUNTIME=$(CURDIR)/husk CRI_BENCH=1 CRITEST=0 $(GO) test -count=1 -timeout $(TIMEOUT) -run TestExecLatency -v .
