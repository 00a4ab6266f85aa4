# Targets: deps, build, example, test, bench. Run as root on Debian 12 with
# Go 1.26 on PATH or in /usr/local/go (Debian 12's golang-go is too old).

# Go from PATH, else where the Go tarball installs it.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# The tests run go themselves, to build the binaries under test.
export PATH := $(dir $(GO)):$(PATH)
BIN := bin/nullrun
EXAMPLE := _example
TEST_TIMEOUT ?= 60m

# Debian packages the tests drive or need: the runtimes compared against,
# the containerd and podman clients, busybox for root filesystems,
# libseccomp for the seccomp filters, and newuidmap/ip for namespaces.
TEST_DEBS := runc crun bubblewrap containerd podman conmon busybox-static \
	libseccomp-dev pkg-config criu uidmap iproute2
# The build uses cgo for the namespace-joining constructor and libseccomp.
BUILD_DEBS := gcc libc6-dev libseccomp-dev pkg-config busybox-static
BENCH_DEBS := runc crun bc util-linux

# install-missing installs the packages given as arguments that dpkg does
# not list as installed, running apt-get update first only when needed.
define install-missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi
endef

.PHONY: deps build example test bench

deps:
	$(call install-missing,$(BUILD_DEBS) $(TEST_DEBS))

build:
	$(call install-missing,$(BUILD_DEBS))
	$(GO) build -o $(BIN) ./cmd/nullrun

# example makes a busybox bundle under _example from `nullrun spec` and
# runs it once in the foreground.
example: build
	rm -rf $(EXAMPLE)
	mkdir -p $(EXAMPLE)/rootfs/bin $(EXAMPLE)/rootfs/proc $(EXAMPLE)/rootfs/sys \
		$(EXAMPLE)/rootfs/dev $(EXAMPLE)/rootfs/tmp $(EXAMPLE)/rootfs/etc
	cp /bin/busybox $(EXAMPLE)/rootfs/bin/busybox
	for a in $$(/bin/busybox --list); do \
		[ "$$a" = busybox ] || ln -s busybox $(EXAMPLE)/rootfs/bin/$$a; \
	done
	$(BIN) spec --bundle $(EXAMPLE)
	sed -i -e 's/"terminal": *true/"terminal": false/' \
		-e 's|^\([[:space:]]*\)"sh"$$|\1"sh", "-c", "echo hello from nullrun; id; hostname"|' \
		$(EXAMPLE)/config.json
	$(BIN) --root $(CURDIR)/$(EXAMPLE)/state run --bundle $(EXAMPLE) example-$$$$
	@echo "--- a null sandbox: no namespaces, no root, only fds 3 (input) and 4 (output)"
	mkdir -p $(EXAMPLE)/in $(EXAMPLE)/out
	printf 'first line\nsecond line\n' > $(EXAMPLE)/in/lines.txt
	: > $(EXAMPLE)/out/result.txt
	$(BIN) --root $(CURDIR)/$(EXAMPLE)/state sandbox --share time \
		--grant 3=$(CURDIR)/$(EXAMPLE)/in/lines.txt \
		--grant 4=$(CURDIR)/$(EXAMPLE)/out/result.txt:rw \
		-- /bin/busybox sh -c 'while read l; do echo "sandboxed: $$l"; done <&3 >&4; \
			echo "fds 3 and 4 done"; echo x >/etc/passwd || echo "writing /etc/passwd: denied"'
	cat $(EXAMPLE)/out/result.txt

# The OCI validation count is printed after the tests; go test hides the
# output of a package that passes.
test: deps
	rm -f $(CURDIR)/_test-summary.txt
	NULLRUN_TEST_SUMMARY=$(CURDIR)/_test-summary.txt $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	@cat $(CURDIR)/_test-summary.txt 2>/dev/null || true

bench:
	$(call install-missing,$(BUILD_DEBS) $(BENCH_DEBS))
	integration/bench/spawn.sh
