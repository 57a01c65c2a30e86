# Aether — top-level entry points. Everything real happens in CMake and scripts/.
#   make deps    install the Debian 12 packages (scripts/install-deps.sh)
#   make build   configure (once) and build everything into build/
#   make test    build, check formatting (scripts/check-format.sh) and
#                clang-tidy on the changed units (scripts/check-tidy.sh), then
#                run every test (ctest), every test again in an ASan + UBSan
#                build (scripts/sanitize.sh; SANITIZE=0 skips it) and every
#                fuzz target for FUZZ_SECONDS each (default 10; 0 skips them;
#                scripts/fuzz.sh)
#   make run     build, then start a local engine serving functions/ (scripts/run-local.sh)
#   make bench   build, then run the benchmarks and print a table (bench/run.sh)
#   make install build the four programs and install them, the guest SDK,
#                example configs and systemd units under $(DESTDIR)$(PREFIX)
#                (PREFIX defaults to /usr/local; docs/operations.md, "Installing")
#   make clean   remove build/

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 10
SANITIZE ?= 1
PREFIX ?= /usr/local
DESTDIR ?=

# ccache, when installed, keeps repeated builds short — CI's clean clones
# included: CCACHE_BASEDIR makes its hits independent of where the tree is.
# CCACHE_NOHASHDIR: with -g (RelWithDebInfo) ccache would otherwise hash the
# build directory, and no two clones would ever share an object.
ifneq ($(shell command -v ccache 2>/dev/null),)
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
LAUNCHER := -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
endif

.PHONY: all deps build test run bench install clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(LAUNCHER); \
	fi
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	bash scripts/check-format.sh
	BUILD_DIR=$(BUILD_DIR) bash scripts/check-tidy.sh
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)
	@if [ "$(SANITIZE)" != 0 ]; then SANITIZE_JOBS=$(JOBS) bash scripts/sanitize.sh; fi
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh; fi

run: build
	bash scripts/run-local.sh

bench: build
	bash bench/run.sh

# Builds only what it installs (no tests, no apt-get). The prefix is fixed
# at configure time: the installed units name $(PREFIX)/bin.
install:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(LAUNCHER) \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD_DIR) -j $(JOBS) --target aether aether-control aether-engine aether-compiler
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
