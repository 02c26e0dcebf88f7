# trivsel — GNU make build. Objects out of tree in $(BUILD); header dependencies via -MMD -MP;
# every library through pkg-config.
#
#   make            install missing Debian packages (deploy/install-deps.sh), then build all
#   make run        build, then start the whole system in the foreground (deploy/run.sh)
#   make test       build, then run every test; the last line is "N passed, N failed"
#   make SANITIZE=1 test   the same under ASan and UBSan, in build-san/
#   make chaos      the fault test alone, long: CHAOS_SECONDS (default 600) of kills and load
#   make clean

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build-san
OPT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SANLD := -fsanitize=address,undefined
else
BUILD ?= build
OPT := -O2
SANLD :=
endif

CC := gcc
PKGS := libzmq libprotobuf-c libuv libpq libmicrohttpd jansson
# Recursively expanded on purpose: pkg-config runs only when a recipe needs it, after
# the deps step has installed it on a fresh machine.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))

HARDEN := -fstack-protector-strong -fstack-clash-protection -fcf-protection -D_FORTIFY_SOURCE=2 \
          -fPIE -Wformat=2 -Wformat-security
CFLAGS := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -g $(OPT) $(HARDEN) \
          -D_GNU_SOURCE -Icommon -I$(BUILD)/proto
LDFLAGS := -pie -Wl,-z,relro,-z,now $(SANLD)
LDLIBS = $(PKG_LIBS) -lm

PROTO_SRC := $(shell find proto -name '*.proto' | sort)
PROTO_C := $(PROTO_SRC:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H := $(PROTO_C:.c=.h)
COMMON_SRC := $(wildcard common/*.c)
MIGRATIONS := $(sort $(wildcard services/*/migrations/*.sql))
LIB_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(PROTO_C:.c=.o) $(BUILD)/gen/migrations.o
LIB := $(BUILD)/libtrivsel.a

# A folder under services/ with a main.c is a program: services/ctl is trivselctl, every
# other one trivsel-<folder>.
SERVICES := $(patsubst services/%/main.c,%,$(wildcard services/*/main.c))
binname = $(if $(filter ctl,$(1)),trivselctl,trivsel-$(1))
BINS := $(foreach s,$(SERVICES),$(BUILD)/bin/$(call binname,$(s)))

# tests/unit: pure logic. tests/db: need a PostgreSQL (tests/run.sh gives each its own database).
TEST_SRC := $(wildcard tests/unit/test_*.c tests/db/test_*.c)
UNIT_BINS := $(TEST_SRC:%.c=$(BUILD)/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all deps build run test clean
# Generated sources (protobuf-c output, embedded migrations) are kept, not deleted as
# intermediates, so header dependencies stay valid.
.SECONDARY:
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@deploy/install-deps.sh

build: $(BINS) $(UNIT_BINS) $(TOOL_BINS)

run: deps
	@$(MAKE) --no-print-directory build
	@BUILD=$(BUILD) exec deploy/run.sh

test: deps
	@$(MAKE) --no-print-directory build
	@tests/run.sh $(BUILD)

clean:
	rm -rf build build-san

# The fault test (tests/integration/test_chaos.sh) alone, for CHAOS_SECONDS, printing its counts.
CHAOS_SECONDS ?= 600
.PHONY: chaos
chaos: deps
	@$(MAKE) --no-print-directory build
	@CHAOS_SECONDS=$(CHAOS_SECONDS) TRIVSEL_TEST_FILTER='^integration/test_chaos$$' TRIVSEL_TEST_VERBOSE=1 \
	    tests/run.sh $(BUILD)

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --c_out=$(BUILD)/proto -Iproto $<

$(BUILD)/tools/embed_migrations: common/tools/embed_migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# The migrations are compiled into every program, so a daemon knows the schema it needs and
# trivselctl migrate works without the source tree.
$(BUILD)/gen/migrations.c: $(MIGRATIONS) $(BUILD)/tools/embed_migrations
	@mkdir -p $(dir $@)
	$(BUILD)/tools/embed_migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/proto/%.o: $(BUILD)/proto/%.c $(PROTO_H)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(BUILD)/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

define program
$(BUILD)/bin/$(call binname,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(wildcard services/$(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call program,$(s))))

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/db/%: $(BUILD)/tests/db/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- Fuzzing (issue 10) ----------------------------------------------------------------------
# libFuzzer targets for every decoder of outside input: tests/fuzz/fuzz_*.c, one per decoder, each
# with a seed corpus in tests/fuzz/corpus/<target>/ (see tests/fuzz/README.md).
#
#   make fuzz               build every target, then run each for FUZZ_SECONDS (default 60) over a
#                           scratch copy of its corpus; FUZZ_JOBS targets at once (default: cores)
#   make fuzz FUZZ_TARGETS="fuzz_cpr fuzz_money"    only these
#   make fuzz-build         build only, into $(BUILD)/fuzz/
#   make fuzz-merge         add the inputs of the last `make fuzz` that reach new code to the
#                           corpus in tests/fuzz/corpus/ (the repository's corpus changes only here)
#   make fuzz-seeds         rewrite the generated seeds (every catalogue type) after a .proto or
#                           catalogue change
#
# Everything the targets link is compiled with clang (-fsanitize=fuzzer-no-link,address,undefined)
# in build-fuzz/, never mixed with gcc's objects; a crash is kept in build-fuzz/crashes/.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_OBJ := build-fuzz
FUZZ_BIN ?= $(BUILD)/fuzz
FUZZ_ALL := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)

.PHONY: fuzz fuzz-build fuzz-merge fuzz-seeds fuzz-clean

fuzz-build:
	@command -v clang >/dev/null || { echo "make fuzz: clang is not installed (apt-get install clang libclang-rt-14-dev llvm)" >&2; exit 1; }
	@$(MAKE) --no-print-directory FUZZ=1 BUILD=$(FUZZ_OBJ) FUZZ_BIN=$(FUZZ_BIN) \
	    $(addprefix $(FUZZ_BIN)/,$(FUZZ_TARGETS))

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh -j $(FUZZ_JOBS) -t $(FUZZ_SECONDS) -w $(FUZZ_OBJ) $(FUZZ_BIN) $(FUZZ_TARGETS)

fuzz-merge: fuzz-build
	@tests/fuzz/run.sh -m -w $(FUZZ_OBJ) $(FUZZ_BIN) $(FUZZ_TARGETS)

fuzz-seeds:
	@$(MAKE) --no-print-directory FUZZ=1 BUILD=$(FUZZ_OBJ) FUZZ_BIN=$(FUZZ_BIN) $(FUZZ_BIN)/make_seeds
	$(FUZZ_BIN)/make_seeds tests/fuzz/corpus deploy/examples/events

fuzz-clean:
	rm -rf $(FUZZ_OBJ) $(FUZZ_BIN)
clean: fuzz-clean

ifeq ($(FUZZ),1)
# The submake of fuzz-build (BUILD=build-fuzz): the rules above, with clang and sanitizers.
CC := clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS := -std=c17 -Wall -Wextra -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -D_GNU_SOURCE \
          -Icommon -I$(BUILD)/proto
LDFLAGS := $(FUZZ_SAN)
# The targets themselves are held to the house rule; the rest warns without stopping the build.
$(BUILD)/tests/fuzz/%.o: CFLAGS += -Werror -Wshadow -Wstrict-prototypes -Wvla

# A daemon's code is linked whole, with its main() renamed so libFuzzer's is the one.
fuzz_program_objs = $(patsubst %.c,$(BUILD)/%.o,$(filter-out services/$(1)/main.c,\
    $(wildcard services/$(1)/*.c))) $(BUILD)/services/$(1)/main.nomain.o
$(BUILD)/%.nomain.o: $(BUILD)/%.o
	objcopy --redefine-sym main=fuzz_unused_main $< $@
# fuzz_ctl_json includes services/ctl/publish.c itself, to reach its static JSON reader;
# fuzz_ctl_catalogue includes catalogue.c, to check what it prints. fuzz_intake_config and
# fuzz_ordering_config include their daemon's main.c (main renamed), to reach its static
# variable table and check_config(), and link the daemon's other files.
FUZZ_BROKER_OBJ := $(call fuzz_program_objs,broker)
FUZZ_CTL_OBJ := $(filter-out $(BUILD)/services/ctl/publish.o,$(call fuzz_program_objs,ctl))
FUZZ_CTL_CATALOGUE_OBJ := $(filter-out $(BUILD)/services/ctl/catalogue.o,$(call fuzz_program_objs,ctl))
fuzz_daemon_objs = $(filter-out %.nomain.o,$(call fuzz_program_objs,$(1)))
$(addprefix $(FUZZ_BIN)/,fuzz_broker_client fuzz_envelope fuzz_permissions): $(FUZZ_BROKER_OBJ)
$(FUZZ_BIN)/fuzz_ctl_json: $(FUZZ_CTL_OBJ)
$(FUZZ_BIN)/fuzz_ctl_catalogue: $(FUZZ_CTL_CATALOGUE_OBJ)
$(FUZZ_BIN)/fuzz_intake_config: $(call fuzz_daemon_objs,intake)
$(FUZZ_BIN)/fuzz_ordering_config: $(call fuzz_daemon_objs,ordering)

$(FUZZ_BIN)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(FUZZ_BIN)/make_seeds: $(BUILD)/tests/fuzz/make_seeds.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)
endif

# ---- Benchmarks (issue 9) --------------------------------------------------------------------
# make bench: the system against the limits of this machine (tests/bench/run.sh); not part of
# make test. The load generator and the seeder are built with everything else, so they compile.
BENCH_BINS := $(BUILD)/tests/bench/loadgen $(BUILD)/tests/bench/seed_intake
.PHONY: bench
build: $(BENCH_BINS)
bench: deps
	@$(MAKE) --no-print-directory build
	@tests/bench/run.sh $(BUILD)

$(BUILD)/tests/bench/loadgen: $(BUILD)/tests/bench/loadgen.o $(BUILD)/tests/bench/underretninger.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The seeder computes the rows with intake's own code: its deadlines and its checks.
$(BUILD)/tests/bench/seed_intake.o: CFLAGS += -Iservices/intake
$(BUILD)/tests/bench/seed_intake: $(BUILD)/tests/bench/seed_intake.o $(BUILD)/tests/bench/underretninger.o \
    $(BUILD)/services/intake/dates.o $(BUILD)/services/intake/validate.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
