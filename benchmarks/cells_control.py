"""The cells page's untrained control: what it changes and what it costs, per run.

For each run directory (or recording), the measures of ``python -m analysis.cells`` are taken three
times in one process, without a control, with ``--controls K`` untrained brains, and with the perturbations of
the trained brain too (pattern completion, path integration: :mod:`analysis.perturbations`). The script prints
the wall time of each, the perturbations' checklist rows, and per port and measure the share of units
beating their own shuffles (recorded brain; untrained brains, mean and range over seeds), the share
found against the control, and the untrained seeds held out against each other (the control's own
false-positive rate)::

    python -m brain.run --connectome wba.yaml --task 1-3 --steps 6000 --record-every 1 --out runs/c13
    python benchmarks/cells_control.py runs/c13 [--controls 3] [--shuffles 20] [--ports ca3.state,entorhinal.grid]

A brain trained for a few thousand steps is close to an untrained one, so its found shares should lie
near the chance level (5 %) while its shuffle shares do not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.cells import DEFAULT_PORTS, analyse  # noqa: E402
from analysis.cellstats import MEASURES, Settings  # noqa: E402
from analysis.checklist import checklist_rows, spread  # noqa: E402
from analysis.perturbations import CHECKLIST_ITEMS  # noqa: E402
from analysis.recordings import open_recording, recorded_connectome, resolve_ports  # noqa: E402


def measure(path: Path, ports: list[str], settings: Settings, controls: int,
            perturbations: bool = False) -> tuple[float, object]:
    """Seconds taken by the analysis of ``path`` with ``controls`` untrained brains (and the perturbations of the
    trained brain), and its findings."""
    start = time.perf_counter()
    with open_recording(path) as recording:
        keys = resolve_ports(recording, recorded_connectome(recording), ports) if ports else \
            [key for key in DEFAULT_PORTS if key in recording.ports]
        findings = analyse(recording, path, keys, None, settings, controls, perturbations)
    return time.perf_counter() - start, findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", type=Path, nargs="+", metavar="RUN_DIR_or_H5")
    parser.add_argument("--controls", type=int, default=3)
    parser.add_argument("--shuffles", type=int, default=20)
    parser.add_argument("--ports", default="", help="comma-separated ports (default: the cells page's)")
    args = parser.parse_args(argv)
    settings = Settings(shuffles=args.shuffles)
    ports = [name for name in args.ports.split(",") if name]
    for path in args.paths:
        plain, _ = measure(path, ports, settings, 0)
        controlled, findings = measure(path, ports, settings, args.controls)
        perturbed, with_perturbations = measure(path, ports, settings, args.controls, perturbations=True)
        print(f"{path}: maze {findings.pooled.maze}, {findings.pooled.steps} steps, {len(findings.ports)} ports "
              f"({sum(port.units for port in findings.ports)} units), {args.shuffles} shuffles")
        print(f"  wall time: {plain:.1f} s without a control, {controlled:.1f} s with {args.controls} untrained "
              f"brains, {perturbed:.1f} s with the perturbations of the trained brain too")
        for item, _, text in checklist_rows(with_perturbations):
            if item in CHECKLIST_ITEMS:
                print(f"  {item}: {text}")
        print(f"  control: {findings.replay}")
        print("  port / measure: beat the shuffles (recorded brain | untrained brains) -> found against the control "
              "(untrained seeds held out); P(recorded > untrained)")
        for key, control in findings.controls.items():
            kind = " (supervised: not counted)" if key in findings.supervised else ""
            for name, label in MEASURES.items():
                if not control.measured(name):
                    continue
                print(f"  {key} / {label}{kind}: {control.trained.fraction(name):.0%} | "
                      f"{spread(control.untrained_fractions(name))} -> {control.fraction(name):.0%} "
                      f"({spread(control.held_out(name))}); {control.effect(name):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
