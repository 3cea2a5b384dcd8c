# fcgi_upload - plain Makefile.
#
#   make            release build: build/fcgi_upload, build/mpdump
#   make run        the handler behind nginx on 127.0.0.1:$(PORT) (default 8080);
#                   FRONT=lighttpd, FRONT=apache [APACHE_MODE=proxy|fcgid|cgi]
#   make test       everything below, set-up included
#   make bench      throughput and memory figures (bench/)
#   make fuzz       libFuzzer on the parser for FUZZ_SECONDS (default 300)
#   make lint       clang-tidy and the banned-function check
#   make format     clang-format in place; make format-check fails on a diff

CC      ?= cc
CLANG   ?= clang
BUILD   := build
SAN     := $(BUILD)/san
PORT    ?= 8080
FRONT   ?= nginx
# with FRONT=apache: proxy (mod_proxy_fcgi to the pool), fcgid or cgi
APACHE_MODE ?= proxy
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 60

WARN    := -std=c11 -Wall -Wextra -Werror -Wimplicit-fallthrough -Wshadow \
           -Wformat=2 -Wvla -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
DEFS    := -D_GNU_SOURCE -Icommon -Ifcgi_upload
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
           -fstack-clash-protection -fcf-protection
REL_CFLAGS  := $(WARN) $(DEFS) -O2 -g $(HARDEN) $(CFLAGS)
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(LDFLAGS)
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
SAN_CFLAGS  := $(WARN) $(DEFS) -O1 -g $(SAN_FLAGS) $(CFLAGS)
SAN_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

LIBS    := -lfcgi -luuid -lmagic -ljansson -lcrypto -lhiredis -lz -lpthread

COMMON_SRC  := $(sort $(wildcard common/*.c))
HANDLER_SRC := $(sort $(wildcard fcgi_upload/*.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
# helpers shared by the unit tests, linked into every one
UNIT_SUPPORT_SRC := $(sort $(wildcard tests/unit/support/*.c))
UNIT_SUPPORT_HDR := $(wildcard tests/unit/support/*.h)
HDRS        := $(wildcard common/*.h fcgi_upload/*.h)

COMMON_OBJ      := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
HANDLER_OBJ     := $(HANDLER_SRC:%.c=$(BUILD)/obj/%.o)
SAN_COMMON_OBJ  := $(COMMON_SRC:%.c=$(SAN)/obj/%.o)
SAN_HANDLER_OBJ := $(HANDLER_SRC:%.c=$(SAN)/obj/%.o)
# handler objects without main(), for unit tests of the responder's pieces
SAN_HANDLER_LIB := $(filter-out $(SAN)/obj/fcgi_upload/main.o,$(SAN_HANDLER_OBJ))
UNIT_BIN        := $(UNIT_SRC:tests/unit/%.c=$(SAN)/tests/%)
SAN_UNIT_SUPPORT_OBJ := $(UNIT_SUPPORT_SRC:%.c=$(SAN)/obj/%.o)

.PHONY: all san deps-build deps-test deps-run test unit conformance splits \
        fuzz fuzz-smoke fuzz-replay integration rq-integration lint format format-check \
        bench run clean

all: deps-build $(BUILD)/fcgi_upload $(BUILD)/mpdump

deps-build:
	@sh deploy/ensure-deps.sh build
deps-test:
	@sh deploy/ensure-deps.sh test
deps-run:
	@sh deploy/ensure-deps.sh run

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c $< -o $@
$(SAN)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c $< -o $@

$(BUILD)/fcgi_upload: $(HANDLER_OBJ) $(COMMON_OBJ)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/mpdump: $(BUILD)/obj/tests/tools/mpdump.o $(COMMON_OBJ)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(LIBS)

$(SAN)/fcgi_upload: $(SAN_HANDLER_OBJ) $(SAN_COMMON_OBJ)
	$(CC) $(SAN_LDFLAGS) -o $@ $^ $(LIBS)
$(SAN)/mpdump: $(SAN)/obj/tests/tools/mpdump.o $(SAN_COMMON_OBJ)
	$(CC) $(SAN_LDFLAGS) -o $@ $^ $(LIBS)
$(SAN)/tests/%: $(SAN)/obj/tests/unit/%.o $(SAN_UNIT_SUPPORT_OBJ) \
                $(SAN_COMMON_OBJ) $(SAN_HANDLER_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_LDFLAGS) -o $@ $^ -lcmocka $(LIBS)
$(UNIT_SRC:%.c=$(SAN)/obj/%.o) $(SAN_UNIT_SUPPORT_OBJ): $(UNIT_SUPPORT_HDR)

$(SAN)/rq_submit: $(SAN)/obj/tests/tools/rq_submit.o \
                  $(SAN)/obj/fcgi_upload/rq_store.o $(SAN_COMMON_OBJ)
	$(CC) $(SAN_LDFLAGS) -o $@ $^ $(LIBS)

san: $(SAN)/fcgi_upload $(SAN)/mpdump $(SAN)/rq_submit $(UNIT_BIN)

# libFuzzer target (clang); the same source also builds a replay main with cc.
# The parser alone: multipart.c, mp_params.c and the utf8 helper it uses.
PARSER_SRC := common/multipart.c common/mp_params.c common/utf8.c
PARSER_SAN_OBJ := $(PARSER_SRC:%.c=$(SAN)/obj/%.o)
$(BUILD)/fuzz/fuzz_multipart: tests/fuzz/fuzz_multipart.c $(PARSER_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -D_GNU_SOURCE -Icommon -g -O1 \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o $@ tests/fuzz/fuzz_multipart.c $(PARSER_SRC) -ljansson
$(SAN)/fuzz_replay: tests/fuzz/fuzz_multipart.c tests/fuzz/replay_main.c $(PARSER_SAN_OBJ)
	$(CC) $(SAN_CFLAGS) -o $@ tests/fuzz/fuzz_multipart.c tests/fuzz/replay_main.c \
	    $(PARSER_SAN_OBJ) $(SAN_LDFLAGS) -ljansson

# ---- tests ---------------------------------------------------------------
test: deps-test all san lint format-check unit conformance splits \
      fuzz-replay fuzz-smoke rq-integration redis-integration integration browser \
      test-faults run-smoke
	@echo "make test: all passed"

# `make run` as a user runs it (deploy/run.sh behind nginx, settings from the
# environment, the printed curl example pasted, SIGTERM stops everything).
.PHONY: run-smoke
run-smoke: all
	@timeout --kill-after=10 180 bash tests/integration/test_run.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	    CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

conformance: $(SAN)/mpdump
	@sh tests/conformance.sh $(SAN)/mpdump

splits: $(SAN)/mpdump
	@sh tests/splits.sh $(SAN)/mpdump

fuzz-replay: $(SAN)/fuzz_replay
	$(SAN)/fuzz_replay tests/fuzz/corpus/*

fuzz-smoke: $(BUILD)/fuzz/fuzz_multipart
	@sh tests/fuzz/run.sh $(BUILD)/fuzz/fuzz_multipart $(FUZZ_SMOKE_SECONDS)

fuzz: deps-test $(BUILD)/fuzz/fuzz_multipart
	@sh tests/fuzz/run.sh $(BUILD)/fuzz/fuzz_multipart $(FUZZ_SECONDS)

# The Redis/RQ hand-off against a real redis-server and a stock rq worker.
rq-integration: $(SAN)/rq_submit
	@bash tests/integration/test_rq.sh $(SAN)/rq_submit

# ---- redis-integration (issue 6: the handler on Redis/RQ) ----------------
# The handler behind nginx with APP_REDIS__URL set, a private redis-server
# and stock rq workers: tests/integration/test_redis.sh (ONLY=regex).
.PHONY: redis-integration
redis-integration: all $(SAN)/fcgi_upload
	@timeout --kill-after=30 900 bash tests/integration/test_redis.sh
# ---- end redis-integration -----------------------------------------------

# ---- test-faults (issue 5: threads, faults survived) ---------------------
# Through nginx, one handler process per stack: kill -9 and the start-up
# sweep, graceful stop, client aborts, disk full (a tmpfs: root), hostile
# bodies, valgrind (tests/integration/test_faults.sh); 64 slow uploads and
# a fast one, 300 uploads 16 at a time (test_concurrency.sh). ONLY=regex.
.PHONY: test-faults
test-faults: all $(SAN)/fcgi_upload
	@timeout --kill-after=30 1200 bash tests/integration/test_faults.sh
	@timeout --kill-after=30 1200 bash tests/integration/test_concurrency.sh
# ---- end test-faults -----------------------------------------------------

integration: all $(SAN)/fcgi_upload
	@bash tests/integration/run.sh

# ---- browser test (issue 4: the upload page) -----------------------------
# deploy/www in headless Debian Chromium, driven by playwright-core, against
# a stack from tests/integration/lib.sh; installs tests/browser/node_modules
# with npm ci when missing. Screenshots: build/browser/.
.PHONY: browser
browser: deps-test all $(SAN)/fcgi_upload
	@bash tests/browser/run.sh
# ---- end browser test ------------------------------------------------------

lint:
	@sh tests/lint.sh

format:
	clang-format -i $(COMMON_SRC) $(HANDLER_SRC) $(HDRS) $(UNIT_SRC) \
	    $(UNIT_SUPPORT_SRC) $(UNIT_SUPPORT_HDR) \
	    $(wildcard tests/tools/*.c tests/fuzz/*.c bench/*.c)
format-check:
	@clang-format --dry-run -Werror $(COMMON_SRC) $(HANDLER_SRC) $(HDRS) \
	    $(UNIT_SRC) $(UNIT_SUPPORT_SRC) $(UNIT_SUPPORT_HDR) \
	    $(wildcard tests/tools/*.c tests/fuzz/*.c bench/*.c)

# ---- run and bench -------------------------------------------------------
run: deps-run all
	@FRONT=$(FRONT) PORT=$(PORT) APACHE_MODE=$(APACHE_MODE) bash deploy/run.sh

bench: deps-test all
	@bash bench/run.sh

clean:
	rm -rf $(BUILD)

# ---- bench: parser throughput, upload ceilings ----------------------------
# build/bench_parser (bench/bench_parser.c) links the parser only (its
# sources are PARSER_SRC, as for the fuzz target), release flags;
# bench/run.sh builds and runs it (make bench), saving
# build/bench/parser.json.
BENCH_PARSER_OBJ := $(BUILD)/obj/bench/bench_parser.o \
                    $(PARSER_SRC:%.c=$(BUILD)/obj/%.o)
$(BUILD)/bench_parser: $(BENCH_PARSER_OBJ)
	$(CC) $(REL_LDFLAGS) -o $@ $^

# build/min_responder (bench/min_responder.c): the ceilings of the
# end-to-end section (bench/run.sh e2e builds it), release flags: a bare
# libfcgi responder (discard, or write DIR with fsync) and a FastCGI reader
# without libfcgi (raw-discard). Tables and JSON: bench/report.py.
$(BUILD)/min_responder: $(BUILD)/obj/bench/min_responder.o
	$(CC) $(REL_LDFLAGS) -o $@ $^ -lfcgi
