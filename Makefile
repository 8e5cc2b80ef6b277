# Makefile: builds every program into bin/.  GNU make.
#
#   make          build (checks Debian packages first: scripts/deps)
#   make test     unit tests + black-box tests; ends with "N passed, N failed"
#   make run      build, create ./var with user demo, run in the foreground
#   make asan     rebuild into build-asan/ with ASan+UBSan and run unit tests
#   make clean
#
# Each program is one main file src/DIR/PROG.c plus the modules of its DIR
# listed in PROG_MODS_<prog>, linked with the general library (src/lib) and
# the mail library (src/mail).

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
           -Wno-unused-parameter -D_FORTIFY_SOURCE=2 \
           -fstack-protector-strong -fPIE -Isrc/lib -Isrc/mail -MMD -MP
override LDFLAGS += -pie -Wl,-z,relro,-z,now
LIBS    := -lcdb -lcrypt -lseccomp
# extra libraries for the programs of one directory, and for the unit
# tests that link its modules
LIBS_src/remote := -lunbound

LIB_SRC  := $(wildcard src/lib/*.c) $(wildcard src/mail/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_A    := $(BUILD)/libqmail.a

# program -> main source; helpers of a program live beside it
PROGS := qmail-queue qmail-inject sendmail qmail-send qmail-clean \
         qmail-start qmail-lspawn qmail-local qmailctl qmail-qread \
         qmail-qstat qmail-tcpd qmail-tcprules qmail-smtpd qmail-popup \
         qmail-pop3d qmail-checkpw qmail-newu
PROGS += qmail-rspawn
main_qmail-rspawn := src/rspawn/qmail-rspawn.c
PROGS += qmail-remote
# QMTP and QMQP (issue 7)
PROGS += qmail-qmtpd qmail-qmqpd qmail-qmqpc
main_qmail-qmtpd := src/qmtpd/qmail-qmtpd.c
main_qmail-qmqpd := src/qmtpd/qmail-qmqpd.c
main_qmail-qmqpc := src/qmqpc/qmail-qmqpc.c
# the long-lived queue writer behind qmail-queue's interface
PROGS += qmail-queued
main_qmail-queued := src/queue/qmail-queued.c
main_qmail-remote := src/remote/qmail-remote.c
main_qmail-queue  := src/queue/qmail-queue.c
main_qmail-inject := src/inject/qmail-inject.c
main_sendmail     := src/inject/sendmail.c
main_qmail-send   := src/send/qmail-send.c
main_qmail-clean  := src/clean/qmail-clean.c
main_qmail-start  := src/start/qmail-start.c
main_qmail-lspawn := src/local/qmail-lspawn.c
main_qmail-local  := src/local/qmail-local.c
main_qmailctl     := src/ctl/qmailctl.c
main_qmail-qread  := src/qread/qmail-qread.c
main_qmail-qstat  := src/qread/qmail-qstat.c
main_qmail-tcpd   := src/tcpd/qmail-tcpd.c
main_qmail-tcprules := src/tcpd/qmail-tcprules.c
main_qmail-smtpd  := src/smtpd/qmail-smtpd.c
main_qmail-popup  := src/pop3/qmail-popup.c
main_qmail-pop3d  := src/pop3/qmail-pop3d.c
main_qmail-checkpw := src/checkpw/qmail-checkpw.c
main_qmail-newu   := src/newu/qmail-newu.c
# modules (non-main .c files) per program directory, shared by its programs
mods = $(filter-out $(foreach p,$(PROGS),$(main_$(p))),$(wildcard $(1)/*.c))

# programs whose source exists (later issues add the others)
BINS := $(addprefix bin/,$(foreach p,$(PROGS),$(if $(wildcard $(main_$(p))),$(p))))

all: deps $(BINS)

deps:
	@scripts/deps build

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

define prog_rule
bin/$(1): $(BUILD)/$(main_$(1):.c=.o) $(patsubst %.c,$(BUILD)/%.o,$(call mods,$(patsubst %/,%,$(dir $(main_$(1)))))) $(LIB_A)
	@mkdir -p bin
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS) $$(LIBS_$(patsubst %/,%,$(dir $(main_$(1)))))
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

# ---- tests ---------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

# a unit test may link the modules of one program directory: name them in
# tests/unit/test_X.c with a comment line "// modules: src/DIR"
unit_mods = $(foreach d,$(shell sed -n 's,^// modules: ,,p' $(1)),$(call mods,$(d)))

define unit_rule
$(BUILD)/tests/$(1): tests/unit/$(1).c $(patsubst %.c,$(BUILD)/%.o,$(call unit_mods,tests/unit/$(1).c)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -Wno-error=shadow $(CHECK_CFLAGS) $(addprefix -I,$(shell sed -n 's,^// modules: ,,p' tests/unit/$(1).c)) $$(LDFLAGS) -o $$@ $$(filter %.c %.o %.a,$$^) $$(LIBS) $(foreach d,$(shell sed -n 's,^// modules: ,,p' tests/unit/$(1).c),$$(LIBS_$(d))) $(CHECK_LIBS)
endef
$(foreach t,$(UNIT_SRC:tests/unit/%.c=%),$(eval $(call unit_rule,$(t))))

unit: all $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

test: all $(UNIT_BIN)
	@scripts/deps test
	@tests/run-all $(UNIT_BIN)

asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" build-asan/unit-tests

build-asan/unit-tests: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

run: all
	@scripts/make-run

# ---- install and benchmarks -------------------------------------------------
# make install [DESTDIR=...] [QMAILHOME=/var/qmail]: see INSTALL.md
QMAILHOME ?= /var/qmail
install: all
	@scripts/install "$(DESTDIR)" "$(QMAILHOME)"

uninstall:
	@scripts/uninstall "$(DESTDIR)" "$(QMAILHOME)"

# make bench [BENCH=quick|full]: ours against Postfix, docs/PERFORMANCE.md
BENCH ?= quick
bench: all
	@scripts/bench $(BENCH)

# ---- fuzzing ---------------------------------------------------------------
# `make fuzz` builds every libFuzzer harness tests/fuzz/fuzz_*.c with clang,
# ASan and UBSan, and runs each for FUZZ_SECONDS seconds, keeping its corpus
# in $(BUILD)/fuzz/corpus/NAME and any crash input in $(BUILD)/fuzz/.  A
# harness names the sources (wildcards allowed) and libraries it links on
# a line "// fuzz-sources: ...", and may name a dictionary on a line
# "// fuzz-dict: ..." and more libFuzzer flags on "// fuzz-flags: ...".
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
                -Wno-unused-parameter -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Isrc/lib -Isrc/mail -Isrc/smtpd
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
fuzz_line = $(shell sed -n 's,^// fuzz-$(2): ,,p' $(1))

define fuzz_rule
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c $(wildcard $(filter-out -l%,$(call fuzz_line,tests/fuzz/$(1).c,sources)))
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) -o $$@ $$^ $(filter -l%,$(call fuzz_line,tests/fuzz/$(1).c,sources))
endef
$(foreach f,$(FUZZ_SRC:tests/fuzz/%.c=%),$(eval $(call fuzz_rule,$(f))))

fuzz: $(FUZZ_BIN)
	@rc=0; for f in $(FUZZ_BIN); do \
	  n=$$(basename $$f); src=tests/fuzz/$$n.c; \
	  dict=$$(sed -n 's,^// fuzz-dict: ,,p' $$src); \
	  flags=$$(sed -n 's,^// fuzz-flags: ,,p' $$src); \
	  mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  if $$f -max_total_time=$(FUZZ_SECONDS) $${dict:+-dict=$$dict} $$flags \
	       -artifact_prefix=$(CURDIR)/$(BUILD)/fuzz/$$n- \
	       $(CURDIR)/$(BUILD)/fuzz/corpus/$$n \
	       >$(BUILD)/fuzz/$$n.log 2>&1; then \
	    tail -n 1 $(BUILD)/fuzz/$$n.log; \
	  else \
	    tail -n 40 $(BUILD)/fuzz/$$n.log; echo "fuzz: $$n FAILED"; rc=1; \
	  fi; \
	done; exit $$rc

.PHONY: fuzz

clean:
	rm -rf build build-asan bin

.PHONY: all deps unit test asan run clean install uninstall bench

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
