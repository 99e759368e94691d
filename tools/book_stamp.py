"""The book build's source stamp: which sources ``_build/html`` was built from.

``make book`` runs ``python tools/book_stamp.py`` after a successful build:
it records the SHA-256 of every source the build reads (the chapters, the
bibliography, the Sphinx extensions, ``_config.yml``, ``_toc.yml`` and all
of gdlib, which the chapters execute) in ``_build/html/.sources.json``.
``tests/test_book.py`` calls :func:`stale_sources` and fails with "run make
book" when the build it would read is not the build of the sources in the
working tree.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = ROOT / "_build" / "html" / ".sources.json"
PATTERNS = ("book/*.md", "book/references.bib", "book/_ext/*.py", "_config.yml", "_toc.yml", "gdlib/**/*.py")


def source_hashes(root=ROOT):
    """{relative path: sha256} of every source the book build reads."""
    files = sorted({p for pattern in PATTERNS for p in root.glob(pattern) if p.is_file()})
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def write(root=ROOT, stamp=STAMP):
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(source_hashes(root), indent=1, sort_keys=True) + "\n")


def stale_sources(root=ROOT, stamp=STAMP):
    """None if the build is current; otherwise a sentence naming what changed."""
    if not stamp.exists():
        return f"{stamp.relative_to(root)} is missing: the build predates the source stamp or did not finish"
    recorded = json.loads(stamp.read_text())
    now = source_hashes(root)
    changed = sorted(p for p in now.keys() & recorded.keys() if now[p] != recorded[p])
    added, removed = sorted(now.keys() - recorded.keys()), sorted(recorded.keys() - now.keys())
    if not (changed or added or removed):
        return None
    parts = [f"{label}: {', '.join(files[:8])}{' …' if len(files) > 8 else ''}"
             for label, files in (("changed", changed), ("new", added), ("removed", removed)) if files]
    return "sources changed since the build: " + "; ".join(parts)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        problem = stale_sources()
        print(problem or "the build is current")
        sys.exit(1 if problem else 0)
    write()
