# The console's layout library (internal/console/static/dagre.min.js) is
# committed as built, so make build needs no npm; this refreshes it from the
# npm registry at the pinned version.
CONSOLE_DAGRE_VERSION := 3.1.3

.PHONY: console-assets
console-assets:
	@tmp=$$(mktemp -d) && cd $$tmp && echo '{"private":true}' > package.json && \
	  npm install --no-audit --no-fund @dagrejs/dagre@$(CONSOLE_DAGRE_VERSION) >/dev/null && \
	  cp node_modules/@dagrejs/dagre/dist/dagre.min.js $(CURDIR)/internal/console/static/dagre.min.js && \
	  cp node_modules/@dagrejs/dagre/dist/dagre.min.js.LEGAL.txt $(CURDIR)/internal/console/static/dagre.LICENSE.txt && \
	  rm -rf $$tmp && echo "dagre $(CONSOLE_DAGRE_VERSION) copied to internal/console/static"
