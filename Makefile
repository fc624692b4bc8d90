# ipcsweep: build, install and package.
#
#   make                      self-contained release binary (Swift runtime linked statically, no RPATH,
#                             FoundationEssentials only): .build/release/ipcsweep
#   make install              PREFIX=/usr/local (default) DESTDIR= (staging root, for packages):
#                             binary, man pages, completions, systemd units, example drop-in and
#                             the Prometheus alert rules (PREFIX/share/ipcsweep/prometheus)
#   make install-strip        the same with a stripped binary
#   make uninstall            removes exactly what install put there (same PREFIX, DESTDIR)
#   make deb                  Debian package (dpkg-buildpackage -us -uc -b), written to .build/deb/
#   make check-binary         the binary links only system libraries (ldd)
#   make check                Tests/run.sh
#
# Everything in man/ (ipcsweep.N, by section) and completions/ (ipcsweep.bash, _ipcsweep,
# ipcsweep.fish) is installed, so new pages and completions need no change here.

SWIFT        ?= swift
SWIFT_FLAGS  ?=
# Linked by lld with packed relative relocations (DT_RELR, glibc 2.36+): about 40,000 relocations of
# Swift metadata become an 8 KiB bitmap, 1 MiB less binary and less work for ld.so at every start.
# Full RELRO (bindnow): the GOT read-only after start-up, for a tool that runs as root. (libsystemd is
# loaded on first use, not linked: see Sources/CSystemd/sdbus.c.)
SWIFT_LDFLAGS ?= -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs \
                 -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now
# Generic types' metadata reached through their accessor functions, not by mangled name: the runtime
# then never demangles a name at a first use, nor scans the binary's 4,300 conformance records to check
# the name's generic requirements (e.g. that a Set's element is Hashable). A compiler option that
# back-deployment to older runtimes also uses; the same code paths, about 0.25 M instructions less per
# generic type a run first meets: a small system's `list` runs 17 % fewer instructions (DECISIONS.md).
SWIFT_CODEGEN ?= -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors
PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/ipcsweep
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
# zsh searches /usr/share/zsh/vendor-completions for packages and /usr/local/share/zsh/site-functions
# for local installs (Debian's fpath).
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR   ?= $(DATADIR)/zsh/vendor-completions
else
ZSHCOMPDIR   ?= $(DATADIR)/zsh/site-functions
endif
FISHCOMPDIR  ?= $(DATADIR)/fish/vendor_completions.d
# systemd looks in /usr/local/lib/systemd/system and /usr/lib/systemd/system; Debian 12 packages
# ship units in /lib/systemd/system (debian/rules sets UNITDIR).
UNITDIR      ?= $(PREFIX)/lib/systemd/system
# Prometheus alert rules for the audit's series (a Prometheus server loads them with rule_files:).
PROMRULESDIR ?= $(DATADIR)/ipcsweep/prometheus
DEBDIR       ?= $(CURDIR)/.build/deb

INSTALL      ?= install
STRIP        ?= strip

BUILD_DIR    := $(CURDIR)/.build
BINARY       ?= $(BUILD_DIR)/release/ipcsweep

MANPAGES     := $(wildcard man/*.[1-8])
BASHCOMP     := $(wildcard completions/*.bash)
ZSHCOMP      := $(wildcard completions/_*)
FISHCOMP     := $(wildcard completions/*.fish)
UNITS        := $(wildcard dist/systemd/*.service dist/systemd/*.timer)
EXAMPLES     := $(wildcard dist/examples/*/*)
PROMRULES    := $(wildcard dist/prometheus/*.yml)

.PHONY: all build install install-strip uninstall deb check check-binary clean

all: build

build:
	$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath --product ipcsweep $(SWIFT_LDFLAGS) $(SWIFT_CODEGEN) $(SWIFT_FLAGS)

$(BINARY):
	$(MAKE) build

install: $(BINARY)
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(BINARY) $(DESTDIR)$(BINDIR)/ipcsweep
	@set -e; for p in $(MANPAGES); do \
	    s=$${p##*.}; \
	    echo "$(INSTALL) -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; \
	    $(INSTALL) -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}; \
	done
	@# bash completions are sourced, not run: a generated "#!/bin/bash" first line is dropped.
	@set -e; for c in $(BASHCOMP); do n=$${c##*/}; n=$${n%.bash}; \
	    echo "sed '1{/^#!/d}' $$c > $(DESTDIR)$(BASHCOMPDIR)/$$n"; \
	    $(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR); \
	    sed '1{/^#!/d}' $$c > $(DESTDIR)$(BASHCOMPDIR)/$$n; chmod 0644 $(DESTDIR)$(BASHCOMPDIR)/$$n; done
	@set -e; for c in $(ZSHCOMP); do \
	    echo "$(INSTALL) -D -m 0644 $$c $(DESTDIR)$(ZSHCOMPDIR)/$${c##*/}"; \
	    $(INSTALL) -D -m 0644 $$c $(DESTDIR)$(ZSHCOMPDIR)/$${c##*/}; done
	@set -e; for c in $(FISHCOMP); do \
	    echo "$(INSTALL) -D -m 0644 $$c $(DESTDIR)$(FISHCOMPDIR)/$${c##*/}"; \
	    $(INSTALL) -D -m 0644 $$c $(DESTDIR)$(FISHCOMPDIR)/$${c##*/}; done
	@set -e; for u in $(UNITS); do \
	    echo "sed s|@BINDIR@|$(BINDIR)|g $$u > $(DESTDIR)$(UNITDIR)/$${u##*/}"; \
	    $(INSTALL) -d $(DESTDIR)$(UNITDIR); \
	    sed 's|@BINDIR@|$(BINDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/}; \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/}; done
	@set -e; for e in $(EXAMPLES); do d=$${e#dist/examples/}; \
	    echo "sed s|@BINDIR@|$(BINDIR)|g $$e > $(DESTDIR)$(DOCDIR)/examples/$$d"; \
	    $(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples/$${d%/*}; \
	    sed 's|@BINDIR@|$(BINDIR)|g' $$e > $(DESTDIR)$(DOCDIR)/examples/$$d; \
	    chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$$d; done
	@set -e; for r in $(PROMRULES); do \
	    echo "$(INSTALL) -D -m 0644 $$r $(DESTDIR)$(PROMRULESDIR)/$${r##*/}"; \
	    $(INSTALL) -D -m 0644 $$r $(DESTDIR)$(PROMRULESDIR)/$${r##*/}; done

install-strip: install
	$(STRIP) --strip-all $(DESTDIR)$(BINDIR)/ipcsweep

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ipcsweep
	@set -e; for p in $(MANPAGES); do s=$${p##*.}; \
	    echo "rm -f $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}; done
	@set -e; for c in $(BASHCOMP); do n=$${c##*/}; n=$${n%.bash}; \
	    echo "rm -f $(DESTDIR)$(BASHCOMPDIR)/$$n"; rm -f $(DESTDIR)$(BASHCOMPDIR)/$$n; done
	@set -e; for c in $(ZSHCOMP) $(FISHCOMP); do case $$c in *.fish) d=$(FISHCOMPDIR);; *) d=$(ZSHCOMPDIR);; esac; \
	    echo "rm -f $(DESTDIR)$$d/$${c##*/}"; rm -f $(DESTDIR)$$d/$${c##*/}; done
	@set -e; for u in $(UNITS); do \
	    echo "rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}"; rm -f $(DESTDIR)$(UNITDIR)/$${u##*/}; done
	@set -e; for e in $(EXAMPLES); do d=$${e#dist/examples/}; \
	    echo "rm -f $(DESTDIR)$(DOCDIR)/examples/$$d"; rm -f $(DESTDIR)$(DOCDIR)/examples/$$d; \
	    rmdir $(DESTDIR)$(DOCDIR)/examples/$${d%/*} 2>/dev/null || true; done
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@set -e; for r in $(PROMRULES); do \
	    echo "rm -f $(DESTDIR)$(PROMRULESDIR)/$${r##*/}"; rm -f $(DESTDIR)$(PROMRULESDIR)/$${r##*/}; done
	-rmdir $(DESTDIR)$(PROMRULESDIR) $(DESTDIR)$(DATADIR)/ipcsweep 2>/dev/null

# The package is built by Debian's own tools (dpkg-buildpackage, debhelper) from debian/, in a copy
# of the checkout's files (tracked and untracked, not ignored) under $(DEBDIR), so that its outputs
# (.deb, .buildinfo, .changes) land in $(DEBDIR) and not in the checkout's parent directory.
deb:
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/ipcsweep
	if git -C $(CURDIR) rev-parse --git-dir >/dev/null 2>&1; then \
	    git -C $(CURDIR) ls-files -z --cached --others --exclude-standard \
	        | tar -C $(CURDIR) --null --ignore-failed-read -T - -cf - | tar -C $(DEBDIR)/ipcsweep -xf -; \
	else \
	    tar -C $(CURDIR) --exclude=./.build --exclude=./.git -cf - . | tar -C $(DEBDIR)/ipcsweep -xf -; \
	fi
	cd $(DEBDIR)/ipcsweep && dpkg-buildpackage -us -uc -b
	@ls -l $(DEBDIR)/*.deb

check-binary: $(BINARY)
	dist/check-binary.sh $(BINARY)

check:
	Tests/run.sh

clean:
	rm -rf $(BUILD_DIR)/release $(BUILD_DIR)/*-linux-gnu/release $(BUILD_DIR)/deb
