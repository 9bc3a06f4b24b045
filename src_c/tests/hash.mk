# Tests of src_c/fp_hash.c (the balancers' hashing and choices), standalone:
#     make -C src_c/tests -f hash.mk check-hash
# or, once src_c/tests/Makefile has `include hash.mk`, `make check-hash`.
# Builds under ASan/UBSan and runs the published XXH64 vectors, the jump-hash
# reference values and the ring/Maglev/jump checks; also compiles fp_hash.c
# with the strict library flags.
HASH_SAVED_GOAL := $(.DEFAULT_GOAL)

HASH_CC ?= $(or $(CC),cc)
HASH_SRC_DIR := ..
HASH_BUILD := build
HASH_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
HASH_CFLAGS := -std=c11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
	-D_DEFAULT_SOURCE -I$(HASH_SRC_DIR) $(HASH_SAN)
HASH_LINT_CFLAGS := -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror

.PHONY: check-hash lint-hash

check-hash: lint-hash $(HASH_BUILD)/test_hash
	$(HASH_BUILD)/test_hash

lint-hash:
	@mkdir -p $(HASH_BUILD)
	$(HASH_CC) $(HASH_LINT_CFLAGS) -c $(HASH_SRC_DIR)/fp_hash.c -o $(HASH_BUILD)/lint_hash.o

$(HASH_BUILD)/test_hash: $(HASH_SRC_DIR)/fp_hash.c $(HASH_SRC_DIR)/fp_hash.h test_hash.c
	@mkdir -p $(HASH_BUILD)
	$(HASH_CC) $(HASH_CFLAGS) -o $@ $(HASH_SRC_DIR)/fp_hash.c test_hash.c

# Included from another makefile, this fragment leaves its default goal alone.
.DEFAULT_GOAL := $(HASH_SAVED_GOAL)
