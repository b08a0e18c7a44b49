# SPDX-License-Identifier: GPL-2.0
# khist top-level build. `make` builds everything; `make check` runs every
# test (host + VM); `make run` starts the main job. Dependencies are installed
# by scripts/deps.sh the first time (a stamp keeps warm machines fast).

include config.mk
# Test kernels (scripts/kernel/targets): each gets its own module build and
# VM run. `make` builds for those installed or built, `make check` for all.
TARGETS		?= $(shell scripts/kernel.sh names --available)
BTF_TARGET	?= cloud

# The module is built for every target unless KDIR is given, the kbuild way.
ifeq ($(origin KDIR),undefined)
KDIRS = $(foreach t,$(TARGETS),$(shell scripts/kernel.sh kdir $(t)))
else
KDIRS = $(KDIR)
endif
# BTF of the default test kernel: vmlinux.h for every BPF program (CO-RE
# relocates them on other kernels, the host included).
VMLINUX_BTF	?= $(shell scripts/kernel.sh kdir $(BTF_TARGET))/vmlinux

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
BPF_OBJS	:= $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS	:= $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.skel.h,$(BPF_SRCS))

# Library code shared by the agent binaries and the selftests.
# Collectors: one descriptor each in agent/collectors/ (with its bpf/NAME.bpf.c).
COLLECTOR_SRCS	:= $(sort $(wildcard agent/collectors/*.c))
COLLECTOR_NAMES	:= $(patsubst agent/collectors/%.c,%,$(COLLECTOR_SRCS))
AGENT_LIB_SRCS	:= agent/bpffs.c agent/buckets.c agent/error.c agent/kmod_client.c agent/collector.c \
		   agent/loader.c agent/reader.c agent/snapshot.c agent/text.c agent/json.c \
		   agent/kmod_stats.c agent/config.c agent/prometheus.c agent/protobuf.c \
		   agent/http.c agent/memory.c agent/cgroup.c agent/ksyms.c agent/stacks.c \
		   agent/flamegraph.c $(COLLECTOR_SRCS)
KHIST_SRCS	:= agent/cli.c agent/cli_show.c agent/cli_kmod.c agent/cli_memory.c agent/cli_stacks.c
AGENT_BINS	:= $(OUT)/khist $(OUT)/khistd

.DEFAULT_GOAL := all
.SECONDARY:
.PHONY: all deps build bpf agent agent-lib kmod selftests check run clean help install install-dkms deb \
	sanitize-check bench bench-build debug-kernel

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
DOCDIR		?= $(PREFIX)/share/doc/khist
MANDIR		?= $(PREFIX)/share/man
# Where `make install-dkms` puts the module source (khist-dkms).
DKMS_SRCDIR	?= /usr/src/khist-$(KHIST_VERSION)
KHIST_VERSION	:= $(shell sed -n 's/^\#define KHIST_VERSION_STRING[[:space:]]*"\(.*\)"/\1/p' include/uapi/khist.h)

# Entry points first make sure the machine has what the build needs, then
# re-enter make so variables that ask the installed kernels are evaluated
# only after the install.
all: deps
	@$(MAKE) --no-print-directory build

deps:
	@scripts/deps.sh --check || { echo "Installing dependencies (scripts/deps.sh)"; scripts/deps.sh; }

build: bpf agent kmod selftests

bpf: $(BPF_OBJS) $(BPF_SKELS)

agent: $(AGENT_BINS)

agent-lib: $(AGENT_LIB)

$(OUT)/agent/syscall_names.h: scripts/syscall_names.sh
	@mkdir -p $(@D)
	scripts/syscall_names.sh > $@.tmp
	mv $@.tmp $@

# The list of collectors, one line each, in a stable order.
$(OUT)/agent/collector_list.h: Makefile $(COLLECTOR_SRCS)
	@mkdir -p $(@D)
	{ echo '/* Generated from agent/collectors/: do not edit. */'; \
	  echo '#ifndef COLLECTOR_COUNT'; \
	  echo '#define COLLECTOR_COUNT $(words $(COLLECTOR_NAMES))'; \
	  echo '#endif'; \
	  echo '#ifdef COLLECTOR'; \
	  for name in $(COLLECTOR_NAMES); do echo "COLLECTOR($$name)"; done; \
	  echo '#endif'; } > $@.tmp
	mv $@.tmp $@

# The client data model's messages, from agent/metrics.proto (protobuf-c).
$(OUT)/agent/metrics.pb-c.c $(OUT)/agent/metrics.pb-c.h &: agent/metrics.proto
	@mkdir -p $(@D)
	$(PROTOC_C) --c_out=$(OUT)/agent --proto_path=agent $<

$(OUT)/agent/metrics.pb-c.o: $(OUT)/agent/metrics.pb-c.c
	$(CC) $(filter-out -Wextra,$(USER_CFLAGS)) -c $< -o $@

AGENT_GENERATED	:= $(OUT)/agent/syscall_names.h $(OUT)/agent/collector_list.h \
		   $(OUT)/agent/metrics.pb-c.h

$(OUT)/agent/%.o: agent/%.c $(wildcard agent/*.h include/*.h include/uapi/*.h) $(AGENT_GENERATED) $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -c $< -o $@

$(AGENT_LIB): $(patsubst agent/%.c,$(OUT)/agent/%.o,$(AGENT_LIB_SRCS)) $(OUT)/agent/metrics.pb-c.o
	$(AR) rcs $@ $^

$(OUT)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h $(wildcard bpf/*.h include/*.h include/uapi/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@ 2>/dev/null || true

$(OUT)/bpf/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp
	mv $@.tmp $@

$(OUT)/khistd: agent/khistd.c $(wildcard agent/*.h) $(BPF_SKELS) $(AGENT_LIB)
	$(CC) $(USER_CFLAGS) $< -o $@ $(AGENT_LIB) $(USER_LDLIBS)

$(OUT)/khist: $(KHIST_SRCS) $(wildcard agent/*.h) $(BPF_SKELS) $(AGENT_LIB)
	$(CC) $(USER_CFLAGS) $(KHIST_SRCS) -o $@ $(AGENT_LIB) $(USER_LDLIBS)

# One build directory per kernel release (uname -r, which Debian's 6.1
# include/config/kernel.release does not hold), made of links to kmod/, so
# several kernels can be built for side by side (6.12's kbuild has no MO=).
kmod:
	@set -eo pipefail; for kdir in $(KDIRS); do \
		release=$$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' $$kdir/include/generated/utsrelease.h); \
		dir=$(OUT)/kmod/$$release; mkdir -p $$dir; \
		for f in $(TOP)/kmod/*; do ln -sf $$f $$dir/; done; \
		$(MAKE) -C $$kdir M=$$dir KHIST_INCLUDE=$(TOP)/include W=1 modules 2>&1 | tee $$dir/build.log; \
		if grep -q 'warning:' $$dir/build.log; then echo "module build has warnings" >&2; exit 1; fi; \
	done

selftests: bpf agent-lib $(OUT)/selftests/khist-faults
	@$(MAKE) --no-print-directory -C selftests all

# The CLI with steps that fail on request (KHIST_FAIL_LOAD_AT), for the reload tests only.
$(OUT)/selftests/khist-faults: $(KHIST_SRCS) agent/loader.c $(wildcard agent/*.h) $(BPF_SKELS) $(AGENT_LIB)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) -DKHIST_FAULT_INJECTION $(KHIST_SRCS) agent/loader.c -o $@ $(AGENT_LIB) \
		$(USER_LDLIBS)

# make check boots every target, the debug kernel (KASAN, lockdep, kmemleak)
# too, built from Debian's linux-source-6.12 into /var/cache/khist the first time.
CHECK_TARGETS	?= $(shell scripts/kernel.sh names)
check: deps
	@for target in $(CHECK_TARGETS); do scripts/kernel.sh prepare $$target || exit 1; done
	@$(MAKE) --no-print-directory build TARGETS="$(CHECK_TARGETS)"
	@TARGETS="$(CHECK_TARGETS)" scripts/check.sh

# The agent and the host selftests again, built with AddressSanitizer and
# UBSan; any report (written under sanitize/reports) fails the target.
SANITIZE_OUT	:= $(OUT)/sanitize
SANITIZE_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
sanitize-check: deps
	@$(MAKE) --no-print-directory OUT=$(SANITIZE_OUT) EXTRA_CFLAGS="$(SANITIZE_FLAGS)" \
		EXTRA_LDFLAGS="$(SANITIZE_FLAGS)" bpf agent selftests
	@rm -rf $(SANITIZE_OUT)/reports && mkdir -p $(SANITIZE_OUT)/reports
	@status=0; \
	ASAN_OPTIONS=log_path=$(SANITIZE_OUT)/reports/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$(SANITIZE_OUT)/reports/ubsan:print_stacktrace=1 \
		$(SANITIZE_OUT)/selftests/run_tests.sh || status=1; \
	if ls $(SANITIZE_OUT)/reports/* >/dev/null 2>&1; then \
		echo "sanitizer reports:"; cat $(SANITIZE_OUT)/reports/*; status=1; fi; \
	exit $$status

# Benchmarks (not part of check): bench/bench.sh writes build/bench/results.md.
BENCH_BINS	:= $(OUT)/bench/workload $(OUT)/bench/floor $(OUT)/bench/render $(OUT)/bench/vm_inner.sh
bench-build: $(BENCH_BINS)

$(OUT)/bench/workload: bench/workload.c
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS) $< -o $@

$(OUT)/bench/floor.bpf.o: bench/floor.bpf.c $(OUT)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/floor.skel.h: $(OUT)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton $< name floor_bpf > $@.tmp
	mv $@.tmp $@

$(OUT)/bench/floor: bench/floor.c $(OUT)/bench/floor.skel.h
	$(CC) $(USER_CFLAGS) -I$(OUT)/bench $< -o $@ $(USER_LDLIBS)

$(OUT)/bench/render: bench/render.c $(AGENT_LIB)
	$(CC) $(USER_CFLAGS) $< -o $@ $(AGENT_LIB) $(USER_LDLIBS)

$(OUT)/bench/vm_inner.sh: bench/vm_inner.sh
	@mkdir -p $(@D)
	cp $< $@

bench: deps
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build bench-build
	bench/bench.sh

debug-kernel: deps
	scripts/kernel/debug-kernel.sh build

# The main job: khistd in the foreground with its embedded defaults.
run: deps
	@$(MAKE) --no-print-directory build
	$(OUT)/khistd --foreground

# BPF objects are embedded in the binaries (skeletons): nothing else to install.
install:
	@test -x $(OUT)/khistd || { echo "run 'make' first" >&2; exit 1; }
	install -D -m 0755 $(OUT)/khist $(DESTDIR)$(BINDIR)/khist
	install -D -m 0755 $(OUT)/khistd $(DESTDIR)$(SBINDIR)/khistd
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		agent/khistd.service.in > $(DESTDIR)$(UNITDIR)/khistd.service
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/khist
	$(OUT)/khistd --print-default-config > $(DESTDIR)$(SYSCONFDIR)/khist/khistd.conf.new
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/khist/khistd.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/khist/khistd.conf (defaults in khistd.conf.new)"; \
	else mv $(DESTDIR)$(SYSCONFDIR)/khist/khistd.conf.new $(DESTDIR)$(SYSCONFDIR)/khist/khistd.conf; fi
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man8 docs/man/khist.8 docs/man/khistd.8
	install -D -m 0644 -t $(DESTDIR)$(MANDIR)/man5 docs/man/khistd.conf.5

# The module's source as DKMS builds it: kmod/ and the headers it shares.
install-dkms:
	install -D -m 0644 -t $(DESTDIR)$(DKMS_SRCDIR)/kmod kmod/Kbuild kmod/*.c kmod/*.h
	install -D -m 0644 -t $(DESTDIR)$(DKMS_SRCDIR)/include include/*.h
	install -D -m 0644 -t $(DESTDIR)$(DKMS_SRCDIR)/include/uapi include/uapi/*.h
	install -D -m 0755 -t $(DESTDIR)$(DKMS_SRCDIR) scripts/dkms-make.sh scripts/kernel/btf-kdir.sh

# Debian packages (debian/) into build/deb/, built from a copy of the tree
# so the build leaves the work tree alone.
deb: deps
	rm -rf $(OUT)/deb
	mkdir -p $(OUT)/deb/khist-$(KHIST_VERSION)
	tar -c --exclude=./build --exclude=./.git . | tar -x -C $(OUT)/deb/khist-$(KHIST_VERSION)
	cd $(OUT)/deb/khist-$(KHIST_VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(OUT)/deb/*.changes

clean:
	rm -rf $(OUT)
	@for f in kmod/*.o kmod/*.ko kmod/*.mod* kmod/.*.cmd kmod/Module.symvers kmod/modules.order; do rm -f $$f; done
	@rm -f .*.cmd Module.symvers modules.order

help:
	@echo "make            build BPF objects, agent, module (each test kernel) and selftests"
	@echo "make check      build and run unit, host and VM selftests"
	@echo "make run        build and run the main job in the foreground"
	@echo "make KDIR=/lib/modules/\$$(uname -r)/build kmod   build the module for another kernel"
	@echo "make deb        Debian packages khist and khist-dkms into build/deb/"
	@echo "make clean      remove every build product"
