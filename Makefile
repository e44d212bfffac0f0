# Two commands on a fresh Debian/Ubuntu machine:
#   make run    set up everything, open the viewer on the bundled demo recording
#   make test   set up everything, lint (ruff) and type-check (mypy), then run the whole test suite headless
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBS := libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 \
        libxcb-xinerama0 libxcb-randr0 libxcb-shape0 libxkbcommon-x11-0 libegl1 libgl1 \
        libfontconfig1 libdbus-1-3 xvfb xauth poppler-utils \
        fonts-dejavu-core fonts-wqy-zenhei orthanc orthanc-dicomweb dicom3tools dcmtk
DEMO := resources/demo/a4c.dcm resources/demo/a2c.dcm

.PHONY: run test setup debs clean installer installer-test

setup: debs $(STAMP)

debs:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

run: setup
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
	  echo "No display found. The viewer needs a screen; headless, try:"; \
	  echo "  xvfb-run -a $(BIN)/python -m app $(DEMO)    (virtual screen)"; \
	  echo "  $(BIN)/python -m app analyze $(DEMO) --json -   (no window)"; \
	  exit 2; \
	fi
	$(BIN)/python -m app $(DEMO)

test: setup
	$(BIN)/ruff check app lab tests benchmarks
	$(BIN)/mypy app
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build dist *.egg-info

installer: setup
	bash installer/build.sh

installer-test: setup
	bash installer/smoke_test.sh
