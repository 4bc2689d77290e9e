# mk/install.mk: make install / make uninstall (issue 10, item 5), included
# by the main Makefile.
#
#   make install [PREFIX=/usr/local] [DESTDIR=]    builds the executables if
#                          needed, then installs a tree that works where it
#                          lands, with nothing from the checkout:
#     PREFIX/lib/fcgi-pool-lab/bin/       personas, idle-video, video-complete
#     PREFIX/lib/fcgi-pool-lab/scripts/   stack, seed, run, provider, top,
#                                         install-deps, lib/ (what they share)
#     PREFIX/lib/fcgi-pool-lab/schema/    postgres.sql, cache.sql, outbox.sql
#     PREFIX/lib/fcgi-pool-lab/www/       the pages
#     PREFIX/lib/fcgi-pool-lab/conf/      systemd units (their paths made
#                                         PREFIX's), the cron line, the front
#                                         ends' templates and .htaccess, the
#                                         annotated fcgi-pool-lab.conf.example
#     PREFIX/bin/fcgi-pool-lab-stack      -> ../lib/fcgi-pool-lab/scripts/stack
#     PREFIX/share/doc/fcgi-pool-lab/     README.md, docs/*.md, the example
#   make install-strip     the same with the executables stripped (no symbols
#                          nor debug information; smaller)
#   make uninstall         removes what install put there (the folders too,
#                          when empty); leaves /etc and any state alone
#
# DESTDIR stages the tree (packaging, tests/t/26-install.t): every path is
# DESTDIR + PREFIX/..., and nothing installed refers to DESTDIR (the one
# link is relative). The installed scripts/stack finds the executables in
# its tree's bin/ (BIN_DIR unset) and keeps its state in VAR_DIR (default:
# the tree's var/; set VAR_DIR=/var/lib/fcgi-pool-lab, say).
# The settings file is not installed in /etc: copy the example there
# (see README.md, "Install").

PREFIX      ?= /usr/local
DESTDIR     ?=
INSTALL     ?= install
BINDIR       = $(PREFIX)/bin
PKGLIBDIR    = $(PREFIX)/lib/fcgi-pool-lab
DOCDIR       = $(PREFIX)/share/doc/fcgi-pool-lab
# Only the scripts that work from an installed tree: the laboratory's,
# the benchmarks' and the fault suite's tools need the checkout (make, build/).
INST_SCRIPTS = stack seed run provider top install-deps
INST_SHLIBS  = common.sh ports fronts.sh postgres.sh workers.sh metrics-text.mjs \
               $(notdir $(wildcard scripts/lib/front-*.sh))
INST_LIBS    = $(INST_SHLIBS) state-dir fpl-drain
INST_SCHEMAS = $(wildcard schema/*.sql)
INST_WWW     = $(shell find www -type f 2>/dev/null | LC_ALL=C sort)
INST_CONF    = $(filter-out %.service %.logrotate,$(wildcard conf/*))
INST_UNITS   = $(wildcard conf/*.service conf/*.logrotate)
INST_DOCS    = README.md conf/fcgi-pool-lab.conf.example $(wildcard docs/*.md)
# The units (and the logrotate file) name the executables by the default
# layout's paths: made PREFIX's.
UNIT_DEFAULT = /usr/local/lib/fcgi-pool-lab

install: $(BINS)
	@case '$(PREFIX)' in /*) ;; *) echo "make install: PREFIX must be absolute, not '$(PREFIX)'" >&2; exit 1;; esac
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR)/bin \
	    $(DESTDIR)$(PKGLIBDIR)/scripts/lib $(DESTDIR)$(PKGLIBDIR)/schema \
	    $(DESTDIR)$(PKGLIBDIR)/www $(DESTDIR)$(PKGLIBDIR)/conf $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(INSTALL_STRIP) $(BINS) $(DESTDIR)$(PKGLIBDIR)/bin/
	$(INSTALL) -m 0755 $(INST_SCRIPTS:%=scripts/%) $(DESTDIR)$(PKGLIBDIR)/scripts/
	$(INSTALL) -m 0644 $(INST_SHLIBS:%=scripts/lib/%) $(DESTDIR)$(PKGLIBDIR)/scripts/lib/
	$(INSTALL) -m 0755 scripts/lib/state-dir scripts/lib/fpl-drain $(DESTDIR)$(PKGLIBDIR)/scripts/lib/
	$(INSTALL) -m 0644 $(INST_SCHEMAS) $(DESTDIR)$(PKGLIBDIR)/schema/
	for f in $(INST_WWW:www/%=%); do \
	    $(INSTALL) -D -m 0644 "www/$$f" "$(DESTDIR)$(PKGLIBDIR)/www/$$f" || exit 1; \
	done
	$(INSTALL) -m 0644 $(INST_CONF) $(DESTDIR)$(PKGLIBDIR)/conf/
	@mkdir -p $(BUILD)/install
	for f in $(INST_UNITS:conf/%=%); do \
	    sed -e 's|$(UNIT_DEFAULT)/|$(PKGLIBDIR)/|g' -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	        "conf/$$f" >"$(BUILD)/install/$$f" && \
	    $(INSTALL) -m 0644 "$(BUILD)/install/$$f" "$(DESTDIR)$(PKGLIBDIR)/conf/$$f" || exit 1; \
	done
	$(INSTALL) -m 0644 $(INST_DOCS) $(DESTDIR)$(DOCDIR)/
	ln -sfn ../lib/fcgi-pool-lab/scripts/stack $(DESTDIR)$(BINDIR)/fcgi-pool-lab-stack

install-strip:
	$(MAKE) INSTALL_STRIP=-s install

# Removes the files install puts there, then the folders it made if empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/fcgi-pool-lab-stack
	rm -f $(PROGS:%=$(DESTDIR)$(PKGLIBDIR)/bin/%)
	rm -f $(INST_SCRIPTS:%=$(DESTDIR)$(PKGLIBDIR)/scripts/%) \
	    $(INST_LIBS:%=$(DESTDIR)$(PKGLIBDIR)/scripts/lib/%)
	rm -f $(INST_SCHEMAS:schema/%=$(DESTDIR)$(PKGLIBDIR)/schema/%)
	rm -f $(INST_WWW:www/%=$(DESTDIR)$(PKGLIBDIR)/www/%)
	rm -f $(INST_CONF:conf/%=$(DESTDIR)$(PKGLIBDIR)/conf/%) \
	    $(INST_UNITS:conf/%=$(DESTDIR)$(PKGLIBDIR)/conf/%)
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INST_DOCS)))
	-find $(DESTDIR)$(PKGLIBDIR)/www -depth -type d -empty -delete 2>/dev/null
	-rmdir $(DESTDIR)$(PKGLIBDIR)/bin $(DESTDIR)$(PKGLIBDIR)/scripts/lib \
	    $(DESTDIR)$(PKGLIBDIR)/scripts $(DESTDIR)$(PKGLIBDIR)/schema \
	    $(DESTDIR)$(PKGLIBDIR)/conf $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

.PHONY: install install-strip uninstall
