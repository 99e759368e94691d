"""Re-execute every chapter when gdlib changes.

MyST-NB caches executed notebooks keyed on their own cells, so a page whose
text did not change would keep the outputs of an older gdlib. This extension
hashes gdlib's sources (and the vendored-asset list) before MyST-NB opens its
cache; when the hash differs from the one stored beside the cache, the cache is
cleared and every page runs again against the current library.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _library_hash():
    digest = hashlib.sha256()
    for path in sorted((ROOT / "gdlib").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _guard(app):
    cache = Path(app.outdir).parent / ".jupyter_cache"
    stamp = Path(app.outdir).parent / ".gdlib-hash"
    current = _library_hash()
    if stamp.exists() and stamp.read_text() == current:
        return
    if cache.exists():
        shutil.rmtree(cache)
        app.env.all_docs.clear()  # re-read (and so re-execute) every page
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)


def setup(app):
    app.connect("builder-inited", _guard, priority=100)  # before MyST-NB (priority 500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
