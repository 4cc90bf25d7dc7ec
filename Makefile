# semrouter build. Sources are found by wildcard: every src/<module>/*.c goes into
# build/libsemrouter.a, src/main.c is the binary, tests/test_*.c are unit test
# binaries, tools/*.c are helper programs (fakellm, calibrators).
CC      ?= cc
BUILD   ?= build
PKGS     = libevent libevent_pthreads libcurl libcjson yaml-0.1 libcrypto lmdb libutf8proc openblas zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

LIB_SRC  := $(wildcard src/*/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
# The dashboard's page (web/dashboard/*) compiled into the library as a generated C source.
ASSET_SRC := $(sort $(wildcard web/dashboard/*))
ASSET_OBJ := $(BUILD)/obj/gen/dashboard_assets.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all deps test unit e2e demo run bench asan valgrind fmt clean model
all: $(BUILD)/semrouter $(TOOL_BIN) $(TEST_BIN)

# scripts/deps.sh is idempotent and fast when everything is present; the stamp
# keeps it off the hot edit-compile loop.
$(DEPS_OK): scripts/deps.sh
	@scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@
deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: src/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/dashboard_assets.c: $(ASSET_SRC) scripts/embed-assets.sh
	@mkdir -p $(dir $@)
	scripts/embed-assets.sh $@ $(ASSET_SRC)

$(ASSET_OBJ): $(BUILD)/gen/dashboard_assets.c src/api/dashboard.h | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libsemrouter.a: $(LIB_OBJ) $(ASSET_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/semrouter: src/main.c $(BUILD)/libsemrouter.a
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(BUILD)/libsemrouter.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libsemrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP $< -o $@ $(BUILD)/libsemrouter.a $(LDLIBS)

$(BUILD)/%: tools/%.c $(BUILD)/libsemrouter.a
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(BUILD)/libsemrouter.a $(LDLIBS)

model:
	@scripts/fetch-model.sh

test: all
	@scripts/fetch-model.sh
	@scripts/deps.sh --test
	@BUILD=$(BUILD) tests/run.sh

demo: all
	@scripts/fetch-model.sh
	@scripts/demo.sh

run: all
	@scripts/fetch-model.sh
	$(BUILD)/semrouter serve -c config/config.yaml

bench: all
	@scripts/deps.sh --test
	@bench/run.sh

# Sanitizer build in its own tree; runs the whole suite under ASan+UBSan (LeakSanitizer on).
asan:
	$(MAKE) BUILD=build-asan CC=clang OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

fmt:
	clang-format -i $(LIB_SRC) src/main.c $(TEST_SRC) $(TOOL_SRC) $(wildcard src/*/*.h tests/*.h)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
