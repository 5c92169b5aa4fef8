# The two commands of the README:
#   make book   set up .venv, then build the book (every chapter executed) into _build/html
#   make test   set up .venv, then run ruff, the unit tests, nbval on every chapter, and (where
#               Debian's chromium is installed) build the book and check it in the browser
VENV    ?= .venv
# The ipywidgets 8 HTML manager the site serves itself (no CDN); fetched from the npm registry at build time.
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.15
WIDGETS_JS   := book/_static/widgets/embed.js
# MathJax 3 for the formulas, also served by the site itself.
MATHJAX      := mathjax@3.2.2
MATHJAX_JS   := book/_static/mathjax/tex-mml-chtml.js
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/chapters/*.ipynb))

.PHONY: install book test test-unit-half test-nbval-half lint unit nbval site sync i18n notebooks lab assignments grade bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(WIDGETS_JS):
	rm -rf _build/npm && mkdir -p _build/npm book/_static/widgets
	cd _build/npm && npm pack --silent $(HTML_MANAGER) > /dev/null && tar xzf *.tgz
	cp _build/npm/package/dist/embed.js _build/npm/package/dist/embed.js.LICENSE.txt book/_static/widgets/
	cp _build/npm/package/dist/*.woff* _build/npm/package/dist/*.ttf _build/npm/package/dist/*.eot \
		_build/npm/package/dist/*.svg book/_static/widgets/

$(MATHJAX_JS):
	rm -rf _build/npm-mj && mkdir -p _build/npm-mj book/_static
	cd _build/npm-mj && npm pack --silent $(MATHJAX) > /dev/null && tar xzf *.tgz
	rm -rf book/_static/mathjax && cp -r _build/npm-mj/package/es5 book/_static/mathjax

# BOOK_CONFIG: `make site` passes a copy of _config.yml (beside it: its paths are relative to
# it) that renders the stored outputs
BOOK_CONFIG ?= _config.yml

# The Korean site (_build/html/ko) renders the chapters' stored outputs with the Korean catalogs
# (locale/ko) and the Korean notebooks, which tools/i18n.py writes from the English ones. It
# builds beside the English site, in a second process (its log: _build/ko.log).
book: $(STAMP) $(WIDGETS_JS) $(MATHJAX_JS)
	rm -rf _build/html _build/.doctrees _build/ko _build/ko.log
	$(PY) -m tools.i18n notebooks
	$(PY) -m tools.i18n config ko .ko-config.yml
	$(PY) -m tools.i18n toc .ko-toc.yml
	mkdir -p _build
	$(VENV)/bin/jupyter-book build . --config .ko-config.yml --toc .ko-toc.yml --path-output _build/ko \
		--warningiserror --nitpick --keep-going --builder html > _build/ko.log 2>&1 & ko=$$!; \
	$(VENV)/bin/jupyter-book build . --config $(BOOK_CONFIG) --warningiserror --nitpick --keep-going --builder html; \
	en=$$?; wait $$ko; rc=$$?; \
	if [ $$rc -ne 0 ]; then tail -n 40 _build/ko.log; echo "the Korean build failed (all of it: _build/ko.log)"; fi; \
	[ $$en -eq 0 ] && [ $$rc -eq 0 ]
	cp -r _build/ko/_build/html _build/html/ko

# The unit tests and nbval run side by side, in two halves of about the same length (each waits
# on kernels, sandboxes and files part of the time, so the two cores do more together): the unit
# tests then the last chapter's nbval, beside nbval on the other chapters. Each half's output is
# printed when it ends.
LAST_CHAPTER := $(lastword $(CHAPTERS))

test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-unit-half test-nbval-half
	$(MAKE) --no-print-directory site

test-unit-half: unit
	$(MAKE) --no-print-directory nbval CHAPTERS="$(LAST_CHAPTER)"

test-nbval-half:
	$(MAKE) --no-print-directory nbval CHAPTERS="$(filter-out $(LAST_CHAPTER),$(CHAPTERS))"

# ruff: pyflakes, pycodestyle, import order, bugbear, simplify, pyupgrade, returns, pytest style,
# camlib's docstrings, 120 columns, and the formatter; mypy: camlib's type hints (pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests -q --ignore=tests/site

# nbval compares every stored output with a fresh run; tests/nbval_tolerance.py lets a decimal
# number differ by one unit in its last printed digit (float32 rounding on another CPU or a GPU).
nbval: $(STAMP)
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		-p tests.nbval_tolerance --nbval-cell-timeout 600 -p no:cacheprovider -q $(CHAPTERS)

# The rendered site in headless Chromium (tests/site); needs `apt-get install chromium` (.ci/run does it).
# In `make test` nbval has just re-executed every chapter and matched the stored outputs, so the
# site renders the chapters from those stored outputs instead of executing them a second time;
# the pages that are MyST notebooks (the front page's figure, the appendix's tables) still run.
site: $(STAMP)
	@if command -v chromium >/dev/null 2>&1; then \
		sed 's|^  execute_notebooks: force.*|&\n  exclude_patterns: ["book/chapters/*"]|' _config.yml > .site-config.yml && \
		grep -q 'exclude_patterns: \["book/chapters/\*"\]' .site-config.yml && \
		$(MAKE) book BOOK_CONFIG=.site-config.yml && $(PY) -m pytest tests/site -q -p no:cacheprovider; \
	else \
		echo "site: Debian's chromium is not installed; skipping the browser checks (apt-get install chromium)"; \
	fi

# Each chapter is edited as book/src/NN_name.py (jupytext percent format) and paired with
# book/chapters/NN_name.ipynb (jupytext.toml): copy the cells of every .py into its notebook,
# keeping the stored outputs of unchanged cells.
sync: $(STAMP)
	for src in $(sort $(wildcard book/src/*.py)); do \
		$(VENV)/bin/jupytext --quiet --update --to ipynb --output book/chapters/$$(basename $$src .py).ipynb $$src || exit 1; \
	done

# The Korean edition's catalogs, locale/ko/LC_MESSAGES/**.po (tools/i18n.py): extract every page's
# messages and merge them in; new or changed English text comes back as untranslated or fuzzy.
i18n: $(STAMP)
	$(PY) -m tools.i18n config gettext .i18n-config.yml
	rm -rf _build/i18n
	$(VENV)/bin/jupyter-book build . --config .i18n-config.yml --builder custom --custom-builder gettext \
		--path-output _build/i18n
	$(VENV)/bin/sphinx-intl update -p _build/i18n/_build/gettext -l ko -d locale -w 0 --no-obsolete

# Re-execute every chapter in a fresh kernel and store its outputs (what nbval compares against).
notebooks: sync
	$(PY) tools/execute_notebooks.py $(CHAPTERS)

# Read and run the chapters in JupyterLab (installed into .venv on first use; serves on localhost only).
lab: $(STAMP)
	@test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install --quiet "jupyterlab>=4,<5"
	$(VENV)/bin/jupyter-lab --ServerApp.ip=127.0.0.1 $$([ "$$(id -u)" = 0 ] && echo --allow-root) book/chapters

# Classroom: the student edition (generated from the chapters, with the teacher's answer-key.md and
# points.csv next to it) and the grader, which runs each notebook in a bubblewrap sandbox
# (apt-get install bubblewrap), JOBS at a time (default: the cores); see book/instructor_guide.md.
SUBMISSIONS ?= assignments/submissions
GRADES      ?= assignments/grades/grades.csv
POINTS      ?= assignments/points.csv
JOBS        ?= $(shell nproc 2>/dev/null || echo 1)

assignments: $(STAMP)
	$(PY) -m classroom generate --out assignments/student

grade: $(STAMP)
	$(PY) -m classroom grade $(SUBMISSIONS) --out $(GRADES) --timeout 300 --jobs $(JOBS) \
		$$(test -f $(POINTS) && echo --points $(POINTS))

# The benchmarks of the book's appendix (not part of `make test`). torchcam and grad-cam are
# development requirements of this target only. On a GPU: make bench BENCH_ARGS="--device cuda".
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_ARGS  ?=

$(BENCH_STAMP): requirements-bench.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf _build
