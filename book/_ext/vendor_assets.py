"""Copy the JavaScript the book serves itself into book/_static/vendor.

Run by ``make book`` after ``npm ci`` has installed book/_assets (versions
pinned in package-lock.json). Only what the pages load is copied: MathJax 3
(the TeX-to-CHTML bundle, its fonts and the components it loads lazily) and
the Jupyter widgets renderer with RequireJS, and Vega, Vega-Lite and
vega-embed for the explorers that work on the static page (gdlib/explore.py;
book/_ext/explorers.py adds them to the pages that show one).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1]
MODULES = BOOK / "_assets" / "node_modules"
VENDOR = BOOK / "_static" / "vendor"

MATHJAX_KEEP = ["tex-chtml-full.js", "output/chtml/fonts/woff-v2", "a11y", "ui", "input/tex/extensions", "adaptors",
                "sre/mathmaps"]
#: (npm package, UMD bundle), in the order the pages load them.
VEGA = [("vega", "vega.min.js"), ("vega-lite", "vega-lite.min.js"), ("vega-embed", "vega-embed.min.js")]
WIDGET_SUFFIXES = {".woff", ".woff2", ".ttf", ".eot", ".svg"}


def main():
    if not MODULES.is_dir():
        sys.exit(f"{MODULES} is missing: run `npm ci --prefix book/_assets` (make book does it)")
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    es5 = MODULES / "mathjax" / "es5"
    for item in MATHJAX_KEEP:
        src, dst = es5 / item, VENDOR / "mathjax" / item
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        elif src.exists():
            shutil.copy2(src, dst)
    dist = MODULES / "@jupyter-widgets" / "html-manager" / "dist"
    (VENDOR / "widgets").mkdir(parents=True)
    shutil.copy2(dist / "embed-amd.js", VENDOR / "widgets" / "embed-amd.js")
    for font in dist.iterdir():
        if font.suffix in WIDGET_SUFFIXES:
            shutil.copy2(font, VENDOR / "widgets" / font.name)
    shutil.copy2(MODULES / "requirejs" / "require.js", VENDOR / "widgets" / "require.js")
    (VENDOR / "vega").mkdir(parents=True)
    for package, name in VEGA:
        shutil.copy2(MODULES / package / "build" / name, VENDOR / "vega" / name)
    size = sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file())
    print(f"vendored book assets into {VENDOR.relative_to(BOOK.parent)} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
