"""tools/book_stamp.py: test_book refuses a build that is not of the current sources."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("book_stamp", ROOT / "tools" / "book_stamp.py")
book_stamp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_stamp)


def _tree(tmp_path):
    (tmp_path / "book" / "_ext").mkdir(parents=True)
    (tmp_path / "gdlib" / "optim").mkdir(parents=True)
    for name, text in {"book/adam.md": "# Adam", "book/_ext/x.py": "", "_config.yml": "title: t",
                       "_toc.yml": "root: intro", "gdlib/optim/adam.py": "eta = 1", "README.md": "not a source"}.items():
        (tmp_path / name).write_text(text)
    return tmp_path, tmp_path / "_build" / "html" / ".sources.json"


def test_current_build_passes_and_every_kind_of_source_counts(tmp_path):
    root, stamp = _tree(tmp_path)
    assert "missing" in book_stamp.stale_sources(root, stamp)
    book_stamp.write(root, stamp)
    assert book_stamp.stale_sources(root, stamp) is None
    (root / "README.md").write_text("edited")  # not read by the build
    assert book_stamp.stale_sources(root, stamp) is None
    for name in ("book/adam.md", "book/_ext/x.py", "_config.yml", "_toc.yml", "gdlib/optim/adam.py"):
        book_stamp.write(root, stamp)
        (root / name).write_text("edited")
        assert book_stamp.stale_sources(root, stamp) == f"sources changed since the build: changed: {name}"


def test_new_and_removed_sources_make_the_build_stale(tmp_path):
    root, stamp = _tree(tmp_path)
    book_stamp.write(root, stamp)
    (root / "book" / "new.md").write_text("# New")
    (root / "gdlib" / "optim" / "adam.py").unlink()
    assert book_stamp.stale_sources(root, stamp) == (
        "sources changed since the build: new: book/new.md; removed: gdlib/optim/adam.py")


def test_the_repository_sources_are_found():
    hashes = book_stamp.source_hashes()
    assert {"_config.yml", "_toc.yml", "book/adam.md", "gdlib/optim/adam.py", "gdlib/_numba.py"} <= hashes.keys()
