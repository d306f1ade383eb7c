# Quire's two everyday commands (see README): `make run` and `make test`.
SHELL := /bin/bash
# Build output outside the work tree, so it survives fresh clones and sessions.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/quire-target

.PHONY: run test setup build bindings bench bench-ui fuzz fmt icons bundle
run: ## install what is missing, build the app, launch it on the default workspace
	bash .ci/setup.sh
	bash .ci/build.sh
	bash .ci/launch.sh

test: ## every check and test: fmt, clippy, bindings drift, Rust, Vitest, e2e in the real webview, .deb
	bash .ci/test.sh

setup: ## only install what is missing (Debian packages, npm packages, tauri-driver)
	bash .ci/setup.sh --with-test-tools

build: ## build the UI and the debug app binary (no installer)
	bash .ci/build.sh

bindings: ## regenerate ui/src/bindings.ts from the Rust types
	QUIRE_UPDATE_BINDINGS=1 cargo test -p quire --lib bindings::tests::generated_bindings_are_up_to_date

bench: ## every benchmark suite, release build; figures also in bench.jsonl
	cargo run --release -p quire-bench -- all --json bench.jsonl

bench-ui: ## responsiveness in the real webview under Xvfb (main-thread stalls, grid scrolling), 1M rows
	bash .ci/setup.sh --with-test-tools
	bash .ci/build.sh
	cd tests/e2e && xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- node --import tsx bench/responsiveness.ts

fuzz: ## every fuzz target for 15 s (GROW=1 SECONDS_PER_TARGET=1200 make fuzz: a long run keeping its corpus)
	bash .ci/fuzz.sh

fmt:
	cargo fmt --all

icons: ## regenerate every app icon in icons/ from icons/quire.svg
	bash .ci/icons.sh

bundle: ## installers for this platform, release build with LTO (profile dist); see README
	TAURI_APP_PATH="$(CURDIR)" TAURI_FRONTEND_PATH="$(CURDIR)/ui" ui/node_modules/.bin/tauri build --ci -- --profile dist
