# Debian packages the tests need: chromium (the Web UI and console browser
# checks drive it through the DevTools protocol with chromedp) and the
# PostgreSQL 15 server (store tests, make cluster). Installed with apt-get
# when missing and this runs as root (CI and these machines do); never with
# sudo: otherwise it prints what to install and the browser checks skip.
CHROMIUM ?= /usr/bin/chromium
SYSTEM_PACKAGES := chromium postgresql-15

.PHONY: system-deps
system-deps:
	@missing=; [ -x $(CHROMIUM) ] || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql-15"; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" != 0 ]; then echo "WARNING: missing Debian packages:$$missing (run make system-deps as root)"; exit 0; fi; \
	echo "installing Debian packages:$$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	  || echo "WARNING: could not install$$missing; the browser checks will skip"

TEST_DEPS += system-deps
