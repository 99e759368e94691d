"""A hostile class graded with `python -m autograde grade`, as root and as an unprivileged user.

Each hostile student attacks from answer cells (each attack zeroes only the
question it replaced; one answer per student stays honest). An attack that
worked would show: the stolen solution would be run (more points), the grader
would die, a file or the gradebook would change, a connection would arrive, a
process would outlive grading. Asserted on the results of one grading per user.
"""

import csv
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "adam_family" / "adam_family.ipynb"
NOBODY = 65534
MARKER = "autograde-hostile-marker"
SECRET = "autograde-hostile-secret-5d41402a"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("bwrap") is None,
                                reason="bubblewrap is installed by `make test` (Linux only)")


def _cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _solution_of(grade_id):
    return _cells(nbformat.read(SOLUTION, as_version=4))[grade_id].source


def _with(answers, extra_cells=()):
    """The solution notebook with some answer cells replaced by attacks."""
    nb = nbformat.read(SOLUTION, as_version=4)
    cells = _cells(nb)
    for grade_id, source in answers.items():
        cells[grade_id].source = textwrap.dedent(source)
    for index, cell in extra_cells:
        nb.cells.insert(index, cell)
    return nb


def _if_success(grade_id):
    """Code that, run by a successful attack, earns the question's points: the honest solution."""
    return f"exec({_solution_of(grade_id)!r}, globals())"


def _attacks(course, port):
    """{student: (notebook or special, expected score)}."""
    stolen = f"""
        import glob, json, os
        paths = glob.glob('/tmp/**/{{name}}', recursive=True) + glob.glob('/proc/*/cwd/{{name}}')
        paths += [{str(course)!r} + '/{{name}}']
        for path in paths:
            try:
                cells = json.load(open(path))['cells']
            except OSError:
                continue
            for cell in cells:
                if cell['cell_type'] == 'code' and 'def ' in ''.join(cell['source']):
                    exec(''.join(cell['source']).replace('### BEGIN SOLUTION', ''), globals())
        """
    return {
        "alice": (_with({}), 20.0),
        "carol": (_with({"adam_answer": _solution_of("adam_answer").replace(
            "m_hat = m / (1 - beta1**t)\n    v_hat = v / (1 - beta2**t)", "m_hat = m\n    v_hat = v")}),
                  15.0),  # Adam without bias correction: no points for it (a named mistake fails every case)
        "mallory1": (_with({  # kill the grader; kill everything; leave a daemon behind
            "adam_answer": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
            "adamax_answer": "import os\nos.kill(-1, 9)\n",
            "nadam_answer": f"""
                import os, sys
                if os.fork() == 0:
                    os.setsid()
                    if os.fork() == 0:
                        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(120)', '{MARKER}'])
                    os._exit(0)
                os.wait()
                """}), 5.0),
        "mallory2": (_with({  # the instructor's solutions; a classmate's submission; remount and overwrite
            "adam_answer": stolen.replace("{name}", "solutions/adam_family/adam_family.ipynb"),
            "adamax_answer": stolen.replace("{name}", "submitted/alice/adam_family/adam_family.ipynb"),
            "nadam_answer": f"""
                import ctypes
                libc = ctypes.CDLL(None, use_errno=True)
                libc.mount(None, b"/", None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND
                open({str(course / 'victim.txt')!r}, 'w').write('overwritten')
                {_if_success('nadam_answer')}
                """}), 5.0),
        "mallory3": (_with({  # other processes' memory and environment; the network; the gradebook
            "adam_answer": f"""
                import os
                found = False
                for pid in os.listdir('/proc'):
                    if pid.isdigit():
                        for what in ('environ', 'cmdline'):
                            try:
                                found |= b'{SECRET}' in open(f'/proc/{{pid}}/{{what}}', 'rb').read()
                            except OSError:
                                pass
                        try:
                            with open(f'/proc/{{pid}}/mem', 'rb') as mem:
                                mem.seek(0x400000)
                                found |= bool(mem.read(16))
                        except (OSError, ValueError, OverflowError):
                            pass
                if found:
                    {_if_success('adam_answer')}
                """,
            "adamax_answer": f"""
                import socket
                s = socket.create_connection(('127.0.0.1', {port}), timeout=2)
                s.sendall(b'{MARKER}')
                {_if_success('adamax_answer')}
                """,
            "nadam_answer": f"""
                with open({str(course / '.grading' / 'gradebook.db')!r}, 'r+b') as db:
                    db.write(b'garbage' * 100)
                {_if_success('nadam_answer')}
                """}), 5.0),
        "mallory4": (_with({"adam_answer": f"""
                # a fork bomb, bounded by the test itself: 200 processes at most, each gone after 3 s
                import os, sys, time
                children = 0
                for _ in range(200):
                    if os.fork() == 0:
                        time.sleep(3)
                        os._exit(0)
                    children += 1
                {_if_success('adam_answer')}
                """}), 15.0),
        "mallory5": ("link-notebook", 0.0),  # the notebook is a link to the instructor's solution
        "mallory6": ("link-folder", 0.0),  # the assignment folder is a link to alice's
        "mallory7": (_with({}, extra_cells=[  # a forged test cell, a duplicated answer id
            (1, nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
                "grade": True, "grade_id": "check_adam_step", "points": 1000, "solution": False, "locked": False,
                "schema_version": 3}})),
            (1, nbformat.v4.new_code_cell("def adam_step(*a, **k):\n    raise NotImplementedError\n", metadata={
                "nbgrader": {"grade": False, "grade_id": "adam_answer", "solution": True, "locked": False,
                             "schema_version": 3}}))]), 15.0),
    }


def _tree_hash(path):
    digest = hashlib.sha256()
    for p in sorted(Path(path).rglob("*")):
        digest.update(str(p).encode())
        if p.is_symlink():
            digest.update(os.readlink(p).encode())
        elif p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


def _marked_processes():
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            pass
    return found


def _as_nobody_script(base):
    """A shell script that runs its arguments as uid 65534 in a private mount namespace in which the
    Python runtime and this repository (the grader) are visible to that user even if the machine
    keeps them where only root may look (here the runtime is in /root/.pyenv; CI may clone under
    /root too). Nothing else is changed; the host's own mounts are untouched."""
    needed = [Path(os.path.realpath(sys.base_prefix)), ROOT]
    hidden = {}
    for path in needed:
        top = next((p for p in reversed([path, *path.parents]) if not p.stat().st_mode & stat.S_IXOTH), None)
        if top is not None:
            hidden.setdefault(top, []).append(path)
    lines = ["set -e"]
    for i, path in enumerate(p for paths in hidden.values() for p in paths):
        lines += [f"mkdir -p {base}/view{i}", f"mount --bind {path} {base}/view{i}"]
    for top in hidden:
        lines += [f"mount -t tmpfs -o mode=755 tmpfs {top}"]
    for i, path in enumerate(p for paths in hidden.values() for p in paths):
        lines += [f"mkdir -p {path}", f"mount --move {base}/view{i} {path}"]
    lines += [f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "$@"']
    script = base / "as-nobody.sh"
    script.write_text("\n".join(lines) + "\n")
    return ["unshare", "--mount", "--propagation", "private", "sh", str(script)]


def _grade(course, user, env):
    cmd = [sys.executable, "-m", "autograde", "grade", "adam_family", "--root", str(course), "--no-progress",
           "--timeout", "5"]
    if user == "nobody":
        cmd = _as_nobody_script(course.parent) + cmd
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1500)


def _grades(course):
    with open(course / "grades.csv") as f:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}


@pytest.fixture(scope="module", params=["root", "nobody"])
def hostile_class(request):
    user = request.param
    if os.geteuid() != 0:
        pytest.skip("the test changes user with setpriv: run it as root (as CI does)")
    base = Path(tempfile.mkdtemp(prefix="autograde-hostile-", dir="/tmp"))
    os.chmod(base, 0o755)
    course = base / "course"
    course.mkdir()
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, course / name)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    (course / "victim.txt").write_text("the instructor's file")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    for student, (nb, _) in _attacks(course, listener.getsockname()[1]).items():
        folder = course / "submitted" / student / "adam_family"
        if nb == "link-folder":
            folder.parent.mkdir(parents=True)
            folder.symlink_to(course / "submitted" / "alice" / "adam_family")
            continue
        folder.mkdir(parents=True)
        if nb == "link-notebook":
            (folder / "adam_family.ipynb").symlink_to(course / "solutions" / "adam_family" / "adam_family.ipynb")
        else:
            nbformat.write(nb, folder / "adam_family.ipynb")
    (course / ".grading").mkdir()
    (course / "home").mkdir()
    if user == "nobody":
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(course)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(HOME=str(course / "home"), AUTOGRADE_HOSTILE=SECRET, NUMBA_CACHE_DIR=str(course / "home" / "numba"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
    before = {name: _tree_hash(course / name) for name in ("solutions", "submitted")}
    first = _grade(course, user, env)
    grades = _grades(course) if (course / "grades.csv").exists() else {}
    csv_first = (course / "grades.csv").read_bytes() if grades else b""
    feedback = {p.parts[-3]: p.read_text() for p in (course / "feedback").glob("*/adam_family/*.html")}
    left = _marked_processes()
    try:
        connection = listener.accept()[0]
        connection.close()
        connected = True
    except BlockingIOError:
        connected = False
    listener.close()
    after = {name: _tree_hash(course / name) for name in ("solutions", "submitted")}
    again = _grade(course, user, env)
    csv_again = (course / "grades.csv").read_bytes() if grades else b""
    yield dict(course=course, first=first, grades=grades, feedback=feedback, left=left, connected=connected,
               unchanged=before == after, again=again, same_csv=csv_first == csv_again, user=user)
    shutil.rmtree(base, ignore_errors=True)


def test_the_grader_survives_and_exits_0(hostile_class):
    first = hostile_class["first"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert "graded 9 of 9 submissions" in first.stdout, first.stdout


def test_attacks_score_zero_and_honest_students_full_marks(hostile_class):
    expected = {name: score for name, (_, score) in _attacks(hostile_class["course"], 0).items()}
    assert hostile_class["grades"] == pytest.approx(expected, abs=1e-5), hostile_class["first"].stdout


def test_nothing_outside_the_sandbox_changed(hostile_class):
    course = hostile_class["course"]
    assert (course / "victim.txt").read_text() == "the instructor's file"
    assert hostile_class["unchanged"], "solutions/ or submitted/ changed while grading"
    assert not hostile_class["connected"], "a submission connected to the host's loopback"
    assert not hostile_class["left"], "a process started by a submission outlived grading"


def test_each_attack_is_explained_in_its_feedback(hostile_class):
    feedback = hostile_class["feedback"]
    assert "define a function called adam_init" in feedback["mallory1"]  # its cell killed nothing, defined nothing
    assert "define a function called nadam_init" in feedback["mallory1"]
    assert "No such file" in feedback["mallory3"]  # the gradebook is not there
    assert "Connection refused" in feedback["mallory3"] or "unreachable" in feedback["mallory3"]
    assert "Resource temporarily unavailable" in feedback["mallory4"]
    assert "not a plain file" in feedback["mallory5"] and "not a plain file" in feedback["mallory6"]
    assert "m_hat" in feedback["alice"]  # her code, shown to her
    assert "m_hat" not in feedback["mallory5"] + feedback["mallory6"], "a link showed someone else's code"
    assert "appears more than once" in feedback["mallory7"]
    assert not any(str(hostile_class["course"]) in feedback[s] for s in ("alice", "carol")), "grader paths shown"


def test_a_rerun_grades_nothing_and_gives_the_same_csv(hostile_class):
    again = hostile_class["again"]
    assert again.returncode == 0 and "graded 0 of 0 submissions (9 already done)" in again.stdout, again.stdout
    assert hostile_class["same_csv"]
