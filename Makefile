# semrouter build. Sources are found by wildcard: every src/<module>/*.c but src/cli goes into
# build/libsemrouter.a (what the server runs); src/cli/*.c (the other commands, training and
# evaluation) into build/libsemrouter_cli.a; src/main.c is the binary, tests/test_*.c are unit
# test binaries, tools/*.c are helper programs (fakellm, calibrators); all link both archives.
CC      ?= cc
BUILD   ?= build
PKGS     = libevent libevent_pthreads libcurl libcjson yaml-0.1 libcrypto lmdb libutf8proc openblas zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm $(EXTRA_LDFLAGS)

LIB_SRC  := $(filter-out src/cli/%,$(wildcard src/*/*.c))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_SRC  := $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o)
# what a program links: the commands' archive first (it uses the library)
LIBS_A   := $(BUILD)/libsemrouter_cli.a $(BUILD)/libsemrouter.a
# The dashboard's page (web/dashboard/*) compiled into the library as a generated C source.
ASSET_SRC := $(sort $(wildcard web/dashboard/*))
ASSET_OBJ := $(BUILD)/obj/gen/dashboard_assets.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/%)
# fuzz/fuzz_NAME.c are libFuzzer targets (make fuzz); make all also builds each as
# $(BUILD)/fuzz/replay_NAME, which replays fuzz/corpus/NAME and fuzz/regress/NAME in make test
# with a step-counting copy of the library code (fuzz/fuzz.h says how work is counted).
FUZZ_SRC    := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES  := $(FUZZ_SRC:fuzz/fuzz_%.c=%)
REPLAY_BIN  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
STEPS_SRC   := $(wildcard src/core/*.c src/guard/*.c src/embed/*.c src/config/*.c src/cache/*.c) \
               src/http/parse.c src/api/texts.c
STEPS_OBJ   := $(STEPS_SRC:src/%.c=$(BUILD)/fuzz/obj/%.o)
STEPS_WRAP  := strstr strcasestr memmem strchr strrchr memchr strlen strnlen memcmp strcmp strncmp \
               strcasecmp strncasecmp memcpy memmove memset strspn strcspn strdup strndup
STEPS_LDFLAGS := $(foreach f,$(STEPS_WRAP),-Wl,--wrap=$(f))
DEPS_OK  := $(BUILD)/.deps-ok

.PHONY: all deps test unit e2e demo run bench asan valgrind fmt clean model fuzz fuzz-merge
all: $(BUILD)/semrouter $(TOOL_BIN) $(TEST_BIN) $(BUILD)/tests/semrouter_stall $(REPLAY_BIN)

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

$(BUILD)/libsemrouter_cli.a: $(CLI_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/semrouter: src/main.c $(LIBS_A)
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(LIBS_A) $(LDLIBS)

# the router with a test-only route (tests/hooks/stall.c: blocks a loop for test_watchdog.sh)
$(BUILD)/tests/semrouter_stall: src/main.c tests/hooks/stall.c $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) src/main.c tests/hooks/stall.c -o $@ $(LIBS_A) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP $< -o $@ $(LIBS_A) $(LDLIBS)

$(BUILD)/%: tools/%.c $(LIBS_A)
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(LIBS_A) $(LDLIBS)

# the step-counting library objects and the replay binaries
$(BUILD)/fuzz/obj/%.o: src/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -fno-builtin -fsanitize-coverage=trace-pc -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libsteps.a: $(STEPS_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay_main.c fuzz/work.c fuzz/steps.c fuzz/fuzz.h \
		$(BUILD)/fuzz/libsteps.a $(BUILD)/libsemrouter.a
	$(CC) $(CFLAGS) -DFUZZ_STEPS -Ifuzz -MMD -MP $< fuzz/replay_main.c fuzz/work.c fuzz/steps.c -o $@ \
	  $(BUILD)/fuzz/libsteps.a $(BUILD)/libsemrouter.a $(LDLIBS) $(STEPS_LDFLAGS)

# make fuzz: every target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS each (default
# 60), starting from fuzz/corpus/NAME + fuzz/regress/NAME; new inputs go to build-fuzz/corpus,
# crashes and slow inputs to build-fuzz/artifacts (copy them to fuzz/regress/NAME with a name
# saying what they found). make fuzz-merge folds build-fuzz/corpus into fuzz/corpus, minimised.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 EXTRA_CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" \
	  EXTRA_LDFLAGS="$(FUZZ_FLAGS)" $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/fuzz_%)
	@scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)
fuzz-merge:
	@scripts/fuzz.sh --merge $(FUZZ_BUILD) 0 $(FUZZ_NAMES)

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/work.c fuzz/fuzz.h $(BUILD)/libsemrouter.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Ifuzz $< fuzz/work.c -o $@ $(BUILD)/libsemrouter.a $(LDLIBS)

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
	clang-format -i $(LIB_SRC) $(CLI_SRC) src/main.c $(TEST_SRC) $(TOOL_SRC) $(wildcard src/*/*.h tests/*.h)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
