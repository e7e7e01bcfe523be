# Observability: the Web UI browser check (internal/uicheck) drives Debian's
# Chromium through the DevTools protocol (chromedp, a Go module: no npm
# packages). Installed here when missing; the check prints a skip reason
# only when Chromium cannot be installed.
CHROMIUM ?= /usr/bin/chromium

.PHONY: observability-chromium
observability-chromium:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	echo "installing Debian's chromium for the Web UI browser check"; \
	SUDO=; if [ "$$(id -u)" != 0 ]; then SUDO="sudo -n"; fi; \
	if $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then \
	  echo "chromium installed: $$($(CHROMIUM) --version 2>/dev/null)"; \
	else \
	  echo "WARNING: chromium could not be installed; internal/uicheck will skip the browser check"; \
	fi

TEST_DEPS += observability-chromium
