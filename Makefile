# Keel: the one entry point. `make` builds out/keel.iso, `make run` boots it,
# `make test` runs every test, `make bench` measures. See README.md.
O := $(CURDIR)/out
export KEEL_CACHE ?= /var/cache/keel
PYTHON := /usr/bin/python3
QEMU_TIMEOUT ?= 0

.PHONY: all deps kernel engine sysinit keelos image images iso run test unit bench format format-check clean FORCE
.DEFAULT_GOAL := all

all: $(O)/keel.iso images

# Set-up: install what every folder's packages.txt lists, only when missing.
PACKAGE_LISTS := $(wildcard */packages.txt)
deps: $(O)/.deps
$(O)/.deps: $(PACKAGE_LISTS)
	@mkdir -p $(O)
	@missing=$$(for p in $$(grep -hv '^#' $(PACKAGE_LISTS) | sort -u); do \
	    dpkg-query -W -f '$${Status}\n' "$$p" 2>/dev/null | grep -q 'ok installed' || echo "$$p"; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing" $$missing; \
	    [ "$$(id -u)" = 0 ] || { echo "deps: run as root to install packages" >&2; exit 1; }; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

# Each part rebuilds itself only when its inputs changed; the FORCE lets the
# part's own build decide, and make compares the resulting files' times.
$(O)/kernel/bzImage: FORCE | $(O)/.deps
	@kernel-config/build $(O)/kernel
$(O)/bin/keel: FORCE | $(O)/.deps
	@$(MAKE) -s -C engine O=$(O) all
$(O)/bin/keelos: FORCE | $(O)/.deps
	@$(MAKE) -s -C os O=$(O) all
$(O)/sysinit/init: FORCE | $(O)/.deps
	@$(MAKE) -s -C sysinit O=$(O) all
$(O)/libexec/keel/container-init: FORCE | $(O)/.deps
	@$(MAKE) -s -C engine/container-init O=$(O) all
# The static payload of the runtime's integration tests.
$(O)/tests/bin/keel-probe: FORCE | $(O)/.deps
	@$(MAKE) -s -C tests/probe O=$(O) all

kernel: $(O)/kernel/bzImage
engine: $(O)/bin/keel
keelos: $(O)/bin/keelos
sysinit: $(O)/sysinit/init

$(O)/os/usr.sqfs: $(O)/bin/keel $(O)/bin/keelos $(O)/libexec/keel/container-init os/build-image os/os-release.in $(shell find os/skel -type f -o -type d)
	@os/build-image $(O)
image: $(O)/os/usr.sqfs

# The OCI images of images/, each built reproducibly from its recipe
# directory (images/README.md); any file of that directory triggers a rebuild.
IMAGES := $(patsubst images/%/image.toml,$(O)/images/%.tar,$(wildcard images/*/image.toml))
.SECONDEXPANSION:
$(O)/images/%.tar: images/build $$(shell find images/$$* -type f) | $(O)/.deps
	@images/build images/$* $@
images: $(IMAGES)

$(O)/keel.iso: $(O)/kernel/bzImage $(O)/sysinit/init $(O)/os/usr.sqfs iso/build iso/initramfs iso/grub.cfg
	@iso/build $(O)
iso: $(O)/keel.iso

$(O)/state.img: | $(O)/.deps
	@iso/state-disk $@ 256

# Boot the ISO on this terminal, with a state disk that keeps /var/lib/keel.
run: $(O)/keel.iso $(O)/state.img
	@$(PYTHON) tests/qemu.py run --iso $(O)/keel.iso --disk $(O)/state.img --timeout $(QEMU_TIMEOUT)

unit: | $(O)/.deps
	@$(MAKE) -s -C engine O=$(O) unit
	@$(MAKE) -s -C sysinit O=$(O) unit

# Unit tests, then system tests under QEMU; one summary line at the end.
test: $(O)/keel.iso $(O)/tests/bin/keel-probe images unit
	@$(PYTHON) tests/run $(O)

bench: $(O)/keel.iso images
	@bench/run $(O)

C_SOURCES = $(shell find engine sysinit os tests/probe -name '*.[ch]')
format:
	@clang-format -i $(C_SOURCES)
format-check:
	@clang-format --dry-run --Werror $(C_SOURCES) && echo "format: ok"

clean:
	rm -rf $(O)
