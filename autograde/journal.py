"""What was graded, and what must be graded again: hashes, the journal and the results kept on disk.

The journal (``.grading/journal.jsonl``) has one line per submission whose
grades reached the gradebook: hashes of the submission, of the course
(solutions, autograde, gdlib) and of the checks, the sandbox setting, the
scores left in the gradebook and a hash of the autograded notebooks. Anything
that changed since (the submission, the course, the gradebook, the feedback)
is graded again; a line cut short by an interruption is ignored, so that
submission is graded again.

The results of the sandboxed checks are kept too, one file per submission
(``.grading/results/<assignment>/<student>.json``), under a key of everything
they depend on (:func:`result_key`). A run that was interrupted after
computing some of them (or while nbgrader wrote the gradebook) does not run
those students' code again when it resumes; ``--force`` recomputes everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _hash_files(base, paths):
    """A short hash of files, named relative to ``base`` (moving the course changes nothing)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(str(path.relative_to(base)).encode() + b"\0")
        try:
            digest.update(f"-> {os.readlink(path)}".encode() if path.is_symlink() else path.read_bytes())
        except OSError as exc:
            digest.update(f"<{type(exc).__name__}>".encode())
    return digest.hexdigest()[:16]


def check_version():
    """A hash of the checks and their references: a change grades everything again."""
    from .checker import check_sources

    return _hash_files(PACKAGE, check_sources())


def course_version(root, assignment):
    """A hash of the assignment's source, the grading code and gdlib's sources."""
    source = Path(root) / "solutions" / assignment
    files = [p for p in source.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts]
    code = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "gdlib").rglob("*.py")]
    return _hash_files(source, files) + _hash_files(PACKAGE.parent, code)


def submission_hash(root, student, assignment):
    directory = Path(root) / "submitted" / student / assignment
    files = [p for p in directory.rglob("*") if p.is_file() or p.is_symlink()] if directory.is_dir() else []
    return _hash_files(directory, files) + ("-link" if directory.is_symlink() else "")


def autograded_hash(root, student, assignment):
    directory = Path(root) / "autograded" / student / assignment
    return _hash_files(directory, directory.glob("*.ipynb")) if directory.is_dir() else "none"


def read(root):
    """{(student, assignment): the journal's last entry for it}."""
    path = Path(root) / ".grading" / "journal.jsonl"
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
                done[(entry["student"], entry["assignment"])] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by an interruption: that submission is graded again
    return done


def append(root, entry):
    with open(Path(root) / ".grading" / "journal.jsonl", "a") as journal:
        journal.write(json.dumps(entry) + "\n")


# ------------------------------------------------------------- kept results
def result_key(root, student, assignment, *, course, checks, sandbox, call_timeout):
    """Everything a submission's results depend on."""
    return "/".join([submission_hash(root, student, assignment), course, checks, f"sandbox={bool(sandbox)}",
                     f"timeout={float(call_timeout)!r}"])


def _result_path(results_dir, student, assignment):
    return Path(results_dir) / assignment / f"{student}.json"


def load_results(results_dir, student, assignment, key):
    """The kept results of a submission ({notebook: {grade_id: {score, points, report}}}), or None
    when there are none for this key."""
    try:
        kept = json.loads(_result_path(results_dir, student, assignment).read_text())
    except (OSError, ValueError):
        return None
    return kept.get("notebooks") if isinstance(kept, dict) and kept.get("key") == key else None


def store_results(results_dir, student, assignment, key, notebooks):
    path = _result_path(results_dir, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps({"key": key, "notebooks": notebooks}, sort_keys=True))
    os.replace(partial, path)  # never half a file: an interrupted write leaves the old one or none


# ------------------------------------------------------------------ the plan
class UsageError(ValueError):
    """A name on the command line that the course does not have (one line, with a suggestion)."""


def _suggest(name, known, what):
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known)) or 'none'}"
    return UsageError(f"unknown {what} {name!r} ({hint})")


def gradebook_scores(gb, student, assignment):
    """{notebook: {grade_id: auto_score}} as the gradebook holds them now (None: not graded)."""
    from nbgrader.api import MissingEntry

    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return None
    return {nb.name: {g.name: g.auto_score for g in nb.grades if g.cell_type == "code" and g.max_score}
            for nb in submission.notebooks}


def plan(root, assignments, students=None, force=False, sandbox=True):
    """What grading would do: [(student, assignment, why)] to grade, the submissions, and the versions."""
    from . import course

    root = Path(root).resolve()
    known = sorted(set(course.ASSIGNMENTS) | {p.name for p in (root / "solutions").glob("*") if p.is_dir()})
    for name in assignments:
        if name not in known:
            raise _suggest(name, known, "assignment")
    present = sorted(p.name for p in (root / "submitted").glob("*") if p.is_dir())
    for name in students or ():
        if name not in present:
            raise _suggest(name, present, "student (no folder in submitted/)")
    submissions = sorted((s, a) for a in assignments for s in present
                         if (root / "submitted" / s / a).is_dir() and (not students or s in students))
    done = read(root)
    versions = {a: course_version(root, a) for a in assignments}
    checks = check_version()
    current = {}
    db = root / ".grading" / "gradebook.db"
    if db.exists() and not force:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{db}") as gb:
            for s, a in submissions:
                current[(s, a)] = gradebook_scores(gb, s, a)
    todo = []
    for s, a in submissions:
        entry = done.get((s, a))
        if force:
            why = "--force"
        elif entry is None:
            why = "new"
        elif entry.get("submission") != submission_hash(root, s, a):
            why = "the submission changed"
        elif entry.get("course") != versions[a] or entry.get("checks") != checks:
            why = "the course or the checks changed"
        elif entry.get("sandbox") != sandbox:
            why = "graded with another sandbox setting"
        elif current.get((s, a)) != entry.get("gradebook"):
            why = "the gradebook changed"
        elif entry.get("autograded") != autograded_hash(root, s, a):
            why = "the autograded notebook changed"
        elif not any((root / "feedback" / s / a).glob("*.html")):
            why = "the feedback is missing"
        else:
            continue
        todo.append((s, a, why))
    return todo, submissions, versions, checks
