"""Command line: ``python -m autograde release | grade``."""

from __future__ import annotations

import argparse
import sys

from . import course


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="generate exercises/ from solutions/ (nbgrader generate_assignment)")
    rel.add_argument("assignments", nargs="*", default=list(course.ASSIGNMENTS))
    gr = sub.add_parser("grade", help="grade every new or changed submission in submitted/ and export the grades",
                        description="Grade submitted/<student>/<assignment>/ in the bubblewrap sandbox, record "
                                    "the scores in nbgrader's gradebook, write feedback/ and the CSV.")
    gr.add_argument("assignments", nargs="*", default=list(course.ASSIGNMENTS))
    gr.add_argument("--student", action="append", dest="students", metavar="NAME",
                    help="grade only this student (repeatable)")
    gr.add_argument("--root", default=str(course.ROOT), help="course directory (holds submitted/)")
    gr.add_argument("--force", action="store_true", help="grade again what was already graded")
    gr.add_argument("--dry-run", action="store_true", help="list what would be graded, and why; grade nothing")
    gr.add_argument("--csv", default="grades.csv", help="where to export the grades (relative to --root)")
    gr.add_argument("--timeout", type=float, default=10.0, help="seconds one call of a student's function may take")
    gr.add_argument("--no-sandbox", action="store_true",
                    help="run the students' code WITHOUT isolation (trusted submissions only; the report says so)")
    gr.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                    help="grade N submissions at once on this machine (default: the number of cores)")
    gr.add_argument("--scheduler", metavar="ADDRESS",
                    help="grade on a Dask cluster (e.g. tcp://host:8786); every worker needs this course's "
                         "environment and bubblewrap (checked first). The gradebook stays here")
    gr.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "grade" and args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.command == "release":
        course.release(args.assignments)
        print(f"released {', '.join(args.assignments)} into exercises/")
        return 0
    if not args.no_progress:  # loading gdlib and nbgrader takes seconds: say something at once
        print("autograde: loading the grader ...", file=sys.stderr, flush=True)
    from .grade import UsageError, grade_class
    from .sandbox import SandboxUnavailable

    try:
        summary = grade_class(args.root, args.assignments, students=args.students, force=args.force, csv=args.csv,
                              call_timeout=args.timeout, progress=not args.no_progress,
                              sandbox=not args.no_sandbox, dry_run=args.dry_run, jobs=args.jobs,
                              client=args.scheduler)
    except UsageError as exc:
        print(f"autograde grade: {exc}", file=sys.stderr)
        return 2
    except SandboxUnavailable as exc:
        print(f"autograde grade: refusing to grade: {exc}", file=sys.stderr)
        return 3
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
