# rnn -- recurrent neural networks in C. Hand-written Makefile.
#
#   make                  library (build/librnn.a, build/librnn.so) and command (build/rnn)
#   make test             build and run every test; fails on any failure
#   make test SANITIZE=1  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-torch       randomized cross-check against PyTorch (needs python3-torch)
#   make install PREFIX=/usr/local
#   make BLAS=none        portable GEMM instead of OpenBLAS
#
# OpenBLAS is found (or installed with apt-get when we are root) by
# tools/configure.sh; without it the portable GEMM is used.

BLAS ?= auto
SANITIZE ?= 0
PREFIX ?= /usr/local
WERROR ?= -Werror
PYTHON ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(BLAS),none)
BUILD ?= build/noblas
else
BUILD ?= build
endif

CONFIG := $(BUILD)/config.mk
-include $(CONFIG)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(CFLAGS) $(WARN) \
	-fPIC -fvisibility=hidden -Iinclude -Isrc $(BLAS_CFLAGS) $(SANFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)
LIBS := $(BLAS_LIBS) -lm

LIB_SRC := $(wildcard src/core/*.c src/layers/*.c src/model/*.c src/io/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all test test-torch install uninstall clean examples fixtures demo
.DELETE_ON_ERROR:

all: $(BUILD)/librnn.a $(BUILD)/librnn.so $(BUILD)/rnn examples

$(CONFIG): tools/configure.sh
	@mkdir -p $(@D)
	@sh tools/configure.sh $@ $(BLAS) $(CC)

$(BUILD)/obj/%.o: %.c $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/librnn.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/librnn.so: $(LIB_OBJ)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,librnn.so.0 -o $@ $^ $(LIBS)

$(BUILD)/rnn: $(CLI_OBJ) $(BUILD)/librnn.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/librnn.a $(LIBS)

$(BUILD)/tests/unit: $(TEST_OBJ) $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/librnn.a $(LIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/librnn.a $(ALL_LDFLAGS) $(LIBS)

examples: $(EXAMPLES)

# Every test: the C unit tests (fixtures, gradient checks, file formats) and
# the command-line tests; one "N passed, N failed" line at the end.
test: all $(BUILD)/tests/unit
	@sh tests/run.sh $(BUILD)

test-torch: all
	$(PYTHON) tools/torch_crosscheck.py --rnn $(BUILD)/rnn --cases 120

# Regenerates the committed PyTorch fixtures (needs python3-torch).
fixtures: all
	$(PYTHON) tools/gen_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_optim_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_bad_inputs.py tests/bad_inputs/files

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/librnn.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/librnn.so $(DESTDIR)$(PREFIX)/lib/librnn.so.0
	ln -sf librnn.so.0 $(DESTDIR)$(PREFIX)/lib/librnn.so
	install -m 644 include/rnn.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BUILD)/rnn $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBS@|$(LIBS)|g' rnn.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/rnn.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/librnn.a $(DESTDIR)$(PREFIX)/lib/librnn.so \
		$(DESTDIR)$(PREFIX)/lib/librnn.so.0 $(DESTDIR)$(PREFIX)/include/rnn.h \
		$(DESTDIR)$(PREFIX)/bin/rnn $(DESTDIR)$(PREFIX)/lib/pkgconfig/rnn.pc

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# The README's first command: build everything, then the main job: a
# character-level LSTM learns the project's own sources and documentation
# for about a minute (text that exists on any machine), then writes a sample.
DEMO_TIME ?= 60
demo: all
	@mkdir -p $(BUILD)/demo
	@cat README.md docs/*.md include/rnn.h src/*/*.h src/*/*.c > $(BUILD)/demo/corpus.txt
	$(BUILD)/rnn train $(BUILD)/demo/corpus.txt --out $(BUILD)/demo --max-time $(DEMO_TIME) --eval-every 200
	@echo
	@echo "--- rnn sample $(BUILD)/demo/best.safetensors --length 600 --temperature 0.7 --seed 1"
	@$(BUILD)/rnn sample $(BUILD)/demo/best.safetensors --length 600 --temperature 0.7 --seed 1
