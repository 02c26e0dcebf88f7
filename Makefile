# trivsel — GNU make build. Objects out of tree in $(BUILD); header dependencies via -MMD -MP;
# every library through pkg-config.
#
#   make            install missing Debian packages (deploy/install-deps.sh), then build all
#   make run        build, then start the whole system in the foreground (deploy/run.sh)
#   make test       build, then run every test; the last line is "N passed, N failed"
#   make SANITIZE=1 test   the same under ASan and UBSan, in build-san/
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
