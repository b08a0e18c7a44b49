# SPDX-License-Identifier: GPL-2.0
# Tools and flags shared by the top-level Makefile and selftests/Makefile.
SHELL		:= /bin/bash
TOP		:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
OUT		?= $(TOP)/build
CLANG		?= clang-19
LLVM_STRIP	?= llvm-strip-19
BPFTOOL		?= bpftool
PROTOC_C	?= protoc-c
CC		?= gcc
CFLAGS		?= -O2 -g
NL_CFLAGS	:= $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS		:= $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
USER_CFLAGS	:= $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -I$(TOP)/include \
		   -I$(TOP)/agent -I$(OUT)/bpf -I$(OUT)/agent $(NL_CFLAGS) $(EXTRA_CFLAGS)
USER_LDLIBS	:= -lbpf -lelf -lz -lm $(NL_LIBS) -ljson-c -lprotobuf-c -linih -lmicrohttpd -lsystemd -lpthread $(EXTRA_LDFLAGS)
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
		   -I$(OUT) -I$(TOP)/include -I$(TOP)/bpf
# Library code shared by the agent binaries and the selftests.
AGENT_LIB	:= $(OUT)/agent/libkhist.a
