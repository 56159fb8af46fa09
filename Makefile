# upas for Linux: one non-recursive Makefile; everything it makes goes under build/.
#   make                  build/upas (static, musl, -Os, stripped)
#   make CC=clang         the same program against the system libc (dynamic)
#   make asan             build/asan/{upas,unit}: AddressSanitizer + UBSan
#   make fuzz             build/fuzz/fuzz-*: libFuzzer targets (clang)
#   make vg               build/vg/{upas,unit}: glibc, dynamic, for valgrind (tests/vg/upas)
#   make test             install test deps, build, unit + e2e, then both again under asan,
#                         a few under valgrind, a short pass of every fuzzer
#   make torture          crash torture at length (3000 killed deliveries, 1500 queued through killed
#                         qer and runq), full and read-only disks,
#                         every applet at once on one mailbox (2 x 120 s)
#   make run              a demo mail system on 127.0.0.1
#   make install PREFIX=/usr DESTDIR=... MAILROOT=/mail

CC        ?= musl-gcc
ifeq ($(origin CC),default)
CC        := musl-gcc
endif
MAILROOT  ?= /mail
PREFIX    ?= /usr/local
DESTDIR   ?=
B         ?= build
TOOL      := $(notdir $(firstword $(CC)))
O         := $(B)/obj/$(TOOL)

WARN      := -Wall -Wextra -Wno-unused-parameter
CFLAGS    ?= -Os
override CFLAGS += -std=c99 -D_GNU_SOURCE $(WARN) -ffunction-sections -fdata-sections \
             -fno-asynchronous-unwind-tables -fno-unwind-tables \
             -DMAILROOT='"$(MAILROOT)"' -Icore -Itls -Iapplets -Ibuild/bearssl/src/inc
ifeq ($(TOOL),musl-gcc)
LDFLAGS   ?= -static -s
endif
LDFLAGS   += -Wl,--gc-sections

BRSRC     := build/bearssl/src
BRLIB     := $(B)/bearssl/$(TOOL)/libbearssl.a
SAN       := $(filter -fsanitize=%,$(CFLAGS))
# BearSSL's deliberate unaligned loads on x86 would trip UBSan
BRCFLAGS  := -Os -w -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -I$(BRSRC)/inc -I$(BRSRC)/src \
             $(SAN) $(if $(SAN),-DBR_LE_UNALIGNED=0 -DBR_BE_UNALIGNED=0)

CORE      := $(sort $(wildcard core/*.c tls/*.c))
APPLETS   := $(sort $(wildcard applets/*.c))
UNITSRC   := $(sort $(wildcard tests/unit/*.c))
HDRS      := $(wildcard core/*.h tls/*.h applets/*.h tests/unit/*.h)
COREOBJ   := $(CORE:%.c=$(O)/%.o)
APPOBJ    := $(APPLETS:%.c=$(O)/%.o)
UNITOBJ   := $(UNITSRC:%.c=$(O)/%.o)

all: $(B)/upas $(B)/unit

$(BRSRC)/inc/bearssl.h:
	@scripts/deps.sh build
	scripts/bearssl.sh build/bearssl

# BearSSL is compiled with the same compiler as upas, once per compiler.
# (compiled on every core: a fresh CI machine builds it three times)
$(BRLIB): $(BRSRC)/inc/bearssl.h
	@mkdir -p $(@D)/o
	@echo "compiling BearSSL with $(CC) into $(@D)"
	cd $(BRSRC)/src && find . -name '*.c' | sort | xargs -P $$(nproc) -I{} sh -c \
		'o=$(CURDIR)/$(@D)/o/$$(echo {} | tr / _ | sed "s/^\._//; s/\.c$$/.o/"); \
		[ -f $$o ] || $(CC) $(BRCFLAGS) -I$(CURDIR)/$(BRSRC)/inc -I. -c {} -o $$o'
	rm -f $@ && ar rcs $@ $(@D)/o/*.o

$(O)/%.o: %.c $(HDRS) | $(BRSRC)/inc/bearssl.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/upas: $(APPOBJ) $(COREOBJ) $(BRLIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(APPOBJ) $(COREOBJ) $(BRLIB)

# The unit harness links core and tls, and every applet but main.c (for the registry).
$(B)/unit: $(UNITOBJ) $(COREOBJ) $(filter-out $(O)/applets/main.o,$(APPOBJ)) $(BRLIB)
	$(CC) $(CFLAGS) $(filter-out -s,$(LDFLAGS)) -o $@ $^

asan:
	$(MAKE) B=build/asan CC=gcc LDFLAGS= \
		CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
		build/asan/upas build/asan/unit

# for valgrind: the system libc, dynamic, so memcheck sees every malloc
vg:
	$(MAKE) B=build/vg CC=gcc LDFLAGS= CFLAGS='-O1 -g -fno-omit-frame-pointer' build/vg/upas build/vg/unit

# libFuzzer targets (clang): build/fuzz/fuzz-NAME from tests/fuzz/NAME.c
FUZZ      := $(basename $(notdir $(wildcard tests/fuzz/*.c)))
fuzz:
	$(MAKE) B=build/fuzz CC=clang LDFLAGS= \
		CFLAGS='-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' fuzzers

fuzzers: $(FUZZ:%=$(B)/fuzz-%)

# some fuzzers include an applet's source to reach its static functions
$(FUZZ:%=$(O)/tests/fuzz/%.o): $(APPLETS) $(wildcard tests/fuzz/*.h)

$(B)/fuzz-%: $(O)/tests/fuzz/%.o $(COREOBJ) $(filter-out $(O)/applets/main.o,$(APPOBJ)) $(BRLIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^

test:
	scripts/deps.sh test
	$(MAKE) -j$$(nproc) all
	$(MAKE) -j$$(nproc) asan
	$(MAKE) -j$$(nproc) fuzz
	$(MAKE) -j$$(nproc) vg
	tests/run

# the torture scripts at length (tests/run runs them short)
torture: all
	$(MAKE) -j$$(nproc) asan
	TORTURE_N=$${TORTURE_N:-3000} sh tests/torture/crash.sh
	TORTURE_N=$${TORTURE_N:-1000} UPAS=build/asan/upas UNIT=build/asan/unit sh tests/torture/crash.sh
	TORTURE_Q=$${TORTURE_Q:-1500} sh tests/torture/queue.sh
	sh tests/torture/full.sh
	MIX_SECS=$${MIX_SECS:-120} sh tests/torture/mix.sh

run: all
	scripts/demo.sh

install: $(B)/upas
	scripts/install.sh $(B)/upas "$(DESTDIR)" "$(PREFIX)" "$(MAILROOT)"

clean:
	rm -rf $(B)/obj $(B)/upas $(B)/unit $(B)/asan $(B)/vg

.PHONY: all asan vg fuzz fuzzers test torture run install clean
