"""Cold start of a chapter-like script: the generic loops against ``specialise=True``.

A fresh process with an empty Numba cache (``NUMBA_CACHE_DIR`` a new
temporary directory) runs what a chapter such as which-optimizer.md runs:
trajectories of 8 optimizers on 2 surfaces, then 3 optimizers training
softmax regression on the digits for a few epochs; once with the default
generic loops, once with ``specialise=True``, and each again with its cache
filled (warm). Prints the seconds of import, trajectories and training, and
the load average.

Run: ``python bench/bench_cold_chapter.py [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = """
import time; t0 = time.perf_counter()
import gdlib
t1 = time.perf_counter()
for name in ("SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AMSGrad"):
    for surface in ("rosenbrock", "beale"):
        gdlib.trajectory(getattr(gdlib, name)(eta=1e-3), surface, n_steps=2000, specialise=SPECIALISE)
t2 = time.perf_counter()
digits = gdlib.data.digits()
for opt in (gdlib.SGD(eta=0.05), gdlib.Momentum(eta=0.05), gdlib.Adam(eta=0.01)):
    gdlib.train(gdlib.models.SoftmaxRegression(64, 10), opt, digits, epochs=5, batch_size=32, specialise=SPECIALISE)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def run(specialise, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", f"SPECIALISE = {specialise}\n" + SCRIPT], env=env,
                         capture_output=True, text=True, check=True, cwd=os.path.join(HERE, ".."))
    return [float(x) for x in out.stdout.split()[-3:]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=1, help="cold runs of each path, alternated")
    args = parser.parse_args(argv)
    print("path | cache | import s | 16 trajectories s | 3 x 5 epochs s | total s | load before")
    for _ in range(args.repeats):
        for specialise in (False, True):
            with tempfile.TemporaryDirectory() as cache:
                for label in ("cold", "warm"):
                    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
                    imp, traj, train = run(specialise, cache)
                    path = "specialised" if specialise else "generic"
                    print(f"{path} | {label} | {imp:.2f} | {traj:.2f} | {train:.2f} | {imp + traj + train:.2f} | {load}",
                          flush=True)


if __name__ == "__main__":
    main()
