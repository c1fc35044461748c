"""Path-integration pre-training of the entorhinal cortex in the open arena, and its grid cells measured.

    python -m brain.pretrain_paths --connectome wba_arena --minutes 60 --threads 2 --out runs/paths

Trains one region of a connectome (``--region``, default ``entorhinal``) on random-foraging
trajectories of the open arena (``tasks.foraging``, generated afresh for every update) against its
own teachers: the place-cell and head-direction ensembles of the true pose, with the region's own
auxiliary losses (cross-entropy of its read-outs against them, summed; ``--loss-weights`` weighs
them). As in Banino et al. (2018),
the region's input is self-motion only (the odometry, turn and move, of each step; its ``visual``
input, when the connectome connects one, is zero: path integration in the dark), and its recurrent
state at the start of each trajectory is a learned linear map of the teachers' ensembles at the start
pose, so that it knows where it starts. Each ensemble is standardised first: centre-surround targets
differ from uniform by about a hundredth, too little for the raw map to read. That map is part of
this pre-training, not of the region. A state that the start pose gives exactly (the velocity
integrator's heading, :data:`EXACT_START_STATE`) is set from it instead.

Then it measures the region's ``grid`` units on held-out trajectories: rate maps over the 2.0 m square
the agent's centre covers in the 2.2 m box (``--bins`` x ``--bins``), gridness (``analysis.metrics.gridness``: min(r60, r120) - max(r30, r90,
r150) of the autocorrelogram, best annulus), each unit against ``--shuffles`` circular time shifts of
its own activity (``analysis.cellstats``), with two thresholds: the 95th percentile of the unit's own
shuffles (an untuned unit passes 1 time in 21 with 20 shuffles) and of all units' shuffles pooled
(the grid-cell literature's); and the spacing and orientation of the grid units
(``analysis.metrics.grid_geometry``). The same measures of the **untrained** region (the same initial
weights, before the first update) are the control.

Written to ``--out``: ``entorhinal.pt`` (the trained region's ``state_dict`` under ``"region"``,
what it was built as under ``"architecture"``, the start map, the settings; a run starts its region
from it with ``python -m brain.run --init-region entorhinal=runs/paths/entorhinal.pt``),
``losses.csv`` (update, seconds, samples, each loss), ``grid_over_training.csv`` (the shares of grid
units before training, every ``--measure-minutes`` and after), ``cells.json`` (the measures, trained and
untrained) and ``cells.npz`` (rate maps and autocorrelograms of both, for pages).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from brain.errors import ConnectomeError
from brain.training.pretrained import Architecture
from regions.base import Region, Teacher, TeacherInput
from tasks.foraging import ForagingParams, forage
from tasks.geometry import ARENA, ARENA_SIZE
from tasks.physics import ARENA_COLLISION_RADIUS

#: ``info`` keys a teacher may read here: a foraging trajectory knows the pose and the maze, nothing else.
TRAJECTORY_KEYS = ("pose", "maze")
GRID_PORT = "grid"


@dataclass
class PathSettings:
    """Settings of a pre-training run (``python -m brain.pretrain_paths --help`` prints them)."""

    connectome: str = field(default="wba_arena", metadata={"help": "bundled connectome name or path"})
    region: str = field(default="entorhinal", metadata={"help": "the region to train (its self_motion input)"})
    out: str = field(default="runs/paths", metadata={"help": "output directory"})
    minutes: float = field(default=10.0, metadata={"help": "training time limit, minutes of wall clock"})
    updates: int = field(default=0, metadata={"help": "stop after this many updates (0: only the time limit)"})
    batch: int = field(default=200, metadata={"help": "trajectories per update"})
    steps: int = field(default=20, metadata={"help": "steps per trajectory (0.2 s each)"})
    lr: float = field(default=3e-3, metadata={"help": "Adam learning rate (wba_arena_grid: 1e-3)"})
    weight_decay: float = field(default=1e-5, metadata={"help": "L2 penalty on the region's weights (Banino et al.)"})
    loss_weights: str = field(default="", metadata={
        "help": "weights of the region's losses, e.g. place_cells=4,head_direction=1 (default: 1 each)"})
    seed: int = field(default=0, metadata={"help": "seed of the weights and of every trajectory"})
    threads: int = field(default=1, metadata={"help": "torch threads"})
    eval_batch: int = field(default=1500, metadata={"help": "held-out trajectories for the cell measures"})
    bins: int = field(default=20, metadata={"help": "rate-map bins along each side of the 2.0 m the agent covers"})
    smoothing: float = field(default=0.0, metadata={"help": "rate-map smoothing, metres (Gaussian sigma)"})
    shuffles: int = field(default=20, metadata={"help": "time shifts per unit for the significance threshold"})
    log_seconds: float = field(default=30.0, metadata={"help": "seconds between progress lines"})
    measure_minutes: float = field(default=0.0, metadata={
        "help": "measure the grid units every this many minutes of training too (grid_over_training.csv; the time "
                "spent measuring is not counted); 0: before and after training only"})

    def check(self) -> None:
        """A ``ValueError`` naming the flag for a setting out of range."""
        for name in ("batch", "steps", "threads", "eval_batch", "bins", "shuffles"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("minutes", "lr", "log_seconds"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"--{name.replace('_', '-')} must be a positive number, got {getattr(self, name)}")
        if self.updates < 0 or not all(0 <= value < math.inf for value in
                                       (self.weight_decay, self.smoothing, self.measure_minutes)):
            raise ValueError("--updates, --weight-decay, --smoothing and --measure-minutes must not be negative")
        self.weights()
        if self.steps < 10:
            raise ValueError(f"--steps must be at least 10 (shuffles shift by a tenth of the pooled steps), "
                             f"got {self.steps}")


    def weights(self) -> dict[str, float]:
        """``--loss-weights`` as a mapping (loss name -> weight); names are checked against the region's losses."""
        weights = {}
        for item in filter(None, (part.strip() for part in self.loss_weights.split(","))):
            name, sep, value = item.partition("=")
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                sep = ""
            if not sep or not 0 <= weights.get(name.strip(), -1) < math.inf:
                raise ValueError(f"--loss-weights: bad item {item!r}; expected NAME=WEIGHT with WEIGHT >= 0, "
                                 f"e.g. place_cells=4")
        return weights


# --- teachers of a trajectory ----------------------------------------------------------------------
@dataclass(frozen=True)
class TrajectoryTeacherInput(TeacherInput):
    """A :class:`~regions.base.TeacherInput` whose ``info`` keys are arrays ``[T, B, ...]`` (no per-step dicts)."""

    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)

    def stack(self, key: str) -> np.ndarray:
        return self.arrays[key]


def teacher_targets(teachers: Mapping[str, Teacher], poses: np.ndarray) -> dict[str, torch.Tensor]:
    """Each teacher's signal ``[T, B, ...]`` at poses ``[T, B, 3]`` in the arena."""
    steps = TrajectoryTeacherInput(infos=(), rewards=np.zeros(poses.shape[:2], np.float32),
                                   arrays={"pose": poses.astype(np.float32), "maze": np.full(poses.shape[:2], ARENA)})
    return {name: teacher.signal(steps).float() for name, teacher in teachers.items()}


def trajectory_teachers(region: Region, name: str) -> dict[str, Teacher]:
    """The region's teachers, refused unless a foraging trajectory can compute them (pose and maze only)."""
    teachers = region.teachers()
    if not teachers:
        raise ValueError(f"region {name!r} ({type(region).__name__}) has no teacher to pre-train against")
    for key, teacher in teachers.items():
        missing = set(teacher.info_keys) - set(TRAJECTORY_KEYS)
        if missing:
            raise ValueError(f"region {name!r}: teacher {key!r} reads {sorted(missing)}, which a foraging trajectory "
                             f"does not give (only {', '.join(TRAJECTORY_KEYS)})")
    return teachers


def standardised(ensemble: torch.Tensor) -> torch.Tensor:
    """Each row at zero mean and unit variance: centre-surround targets differ from uniform by a hundredth."""
    return (ensemble - ensemble.mean(dim=-1, keepdim=True)) / ensemble.std(dim=-1, keepdim=True).clamp_min(1e-8)


# --- the region with its start map -------------------------------------------------------------------
def heading_vector(poses: np.ndarray) -> torch.Tensor:
    """The unit heading ``(x, z)`` of poses ``[..., 3]`` (heading 0 = north = +z, +pi/2 = east = +x)."""
    heading = torch.from_numpy(np.ascontiguousarray(poses[..., 2])).float()
    return torch.stack([heading.sin(), heading.cos()], dim=-1)


#: State tensors given exactly by the start pose instead of the learned map: the velocity integrator's heading
#: (its head-direction integration is imposed, an ideal integrator, so is the heading it starts from, as in
#: Sorscher et al., whose network is given the allocentric velocity).
EXACT_START_STATE = {"heading": heading_vector}


class PathIntegrator(nn.Module):
    """A region driven by self-motion alone, its state at the start set from the teachers' ensembles there.

    ``start`` maps the concatenated teacher targets at the start pose, each standardised, to each state
    tensor (Banino et al.'s initialisation of the LSTM from the place and head-direction ensembles at t = 0);
    a state in :data:`EXACT_START_STATE` is set from the start pose itself.
    """

    def __init__(self, region: Region, teachers: Mapping[str, Teacher]):
        super().__init__()
        if "self_motion" not in region.input_shapes:
            raise ValueError(f"{type(region).__name__} has no self_motion input to integrate")
        self.region = region
        self.teacher_names = tuple(teachers)
        width = sum(math.prod(teachers[name].shape) for name in self.teacher_names)
        state = region.initial_state(1)
        if not state:
            raise ValueError(f"{type(region).__name__} keeps no state: nothing to integrate the path in")
        self.start = nn.ModuleDict({key: nn.Linear(width, value.shape[-1]) for key, value in state.items()
                                    if key not in EXACT_START_STATE})
        self.exact = tuple(key for key in EXACT_START_STATE if key in state)
        self.blank = {key: shape for key, shape in region.input_shapes.items() if key != "self_motion"}

    def forward(self, odometry: torch.Tensor, start_targets: Mapping[str, torch.Tensor],
                start_poses: np.ndarray) -> dict[str, torch.Tensor]:
        """Outputs ``[T, B, ...]`` of every port over odometry ``[T, B, 2]``, from the state that the start
        targets (and, for :data:`EXACT_START_STATE`, the start poses ``[B, 3]``) set."""
        at_start = torch.cat([standardised(start_targets[name].flatten(1)) for name in self.teacher_names], dim=-1)
        state = {key: layer(at_start) for key, layer in self.start.items()}
        state.update({key: EXACT_START_STATE[key](start_poses) for key in self.exact})
        batch = odometry.shape[1]
        blank = {key: odometry.new_zeros(batch, *shape) for key, shape in self.blank.items()}
        steps = []
        for motion in odometry:
            outputs, state = self.region({"self_motion": motion, **blank}, state)
            steps.append(outputs)
        return {port: torch.stack([step[port] for step in steps]) for port in steps[0]}


def build(settings: PathSettings) -> tuple[PathIntegrator, dict[str, Teacher], Architecture]:
    """The connectome's region (built with the brain, so that its input shapes are the connectome's), its teachers,
    and what it was built as (saved with its weights, so that a run loading them can check that they fit)."""
    from brain.engine import Brain

    torch.manual_seed(settings.seed)
    brain = Brain.from_connectome(settings.connectome)
    if settings.region not in brain.regions:
        raise ValueError(f"connectome {settings.connectome!r} has no region {settings.region!r}; its regions: "
                         f"{', '.join(brain.regions)}")
    region = brain.regions[settings.region]
    teachers = trajectory_teachers(region, settings.region)
    if GRID_PORT not in region.output_shapes:
        raise ValueError(f"region {settings.region!r} has no {GRID_PORT!r} port to measure")
    return PathIntegrator(region, teachers), teachers, Architecture.of(brain.connectome, settings.region, region)


@dataclass
class Paths:
    """A batch of foraging paths: odometry ``[T, B, 2]``, the teachers' targets after each step ``[T, B, ...]``
    and at the start ``[B, ...]``, and the poses ``[T + 1, B, 3]`` (``poses[0]`` the start)."""

    odometry: torch.Tensor
    targets: dict[str, torch.Tensor]
    start_targets: dict[str, torch.Tensor]
    poses: np.ndarray


def batch_of_paths(teachers: Mapping[str, Teacher], steps: int, batch: int, seed: int) -> Paths:
    """``batch`` random-foraging paths of ``steps`` steps in the arena, seeded."""
    trajectory = forage(steps, batch=batch, seed=seed, params=ForagingParams())
    poses = trajectory.poses.transpose(1, 0, 2)  # [T + 1, B, 3]
    targets = teacher_targets(teachers, poses)
    odometry = torch.from_numpy(trajectory.odometry.transpose(1, 0, 2).copy())
    return Paths(odometry, {k: v[1:] for k, v in targets.items()}, {k: v[0] for k, v in targets.items()}, poses)


def outputs_along(integrator: PathIntegrator, paths: Paths) -> dict[str, torch.Tensor]:
    return integrator(paths.odometry, paths.start_targets, paths.poses[0])


# --- training ------------------------------------------------------------------------------------------
def train(integrator: PathIntegrator, teachers: Mapping[str, Teacher], settings: PathSettings,
          log=print, every: Callable[[dict[str, float]], None] | None = None) -> list[dict[str, float]]:
    """Adam on the summed losses until ``--minutes`` or ``--updates``; one row per update (losses, time, samples).

    ``every(row)`` is called after each ``--measure-minutes`` of training but the last; its time is not counted.
    """
    optimiser = torch.optim.Adam(integrator.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    weights = settings.weights()
    unknown = set(weights) - set(teachers)
    if unknown:
        raise ValueError(f"--loss-weights: the region has no loss {sorted(unknown)[0]!r}; its losses: "
                         f"{', '.join(teachers)}")
    integrator.train()
    history: list[dict[str, float]] = []
    began = last_log = time.monotonic()
    update = 0
    period = settings.measure_minutes * 60 if every is not None and settings.measure_minutes else math.inf
    next_measure = period
    while True:
        elapsed = time.monotonic() - began
        if (settings.updates and update >= settings.updates) or elapsed >= settings.minutes * 60:
            break
        paths = batch_of_paths(teachers, settings.steps, settings.batch, seed=settings.seed * 1_000_003 + update)
        losses = integrator.region.auxiliary_losses(outputs_along(integrator, paths), paths.targets)
        loss = sum(weights.get(name, 1.0) * value for name, value in losses.items())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        update += 1
        row = {"update": update, "seconds": round(time.monotonic() - began, 2),
               "samples": update * settings.batch * settings.steps, "loss": loss.item(),
               **{name: value.item() for name, value in losses.items()}}
        history.append(row)
        if time.monotonic() - last_log >= settings.log_seconds:
            last_log = time.monotonic()
            log(f"update {update}, {row['seconds']:.0f} s: loss {row['loss']:.4f} "
                + ", ".join(f"{name} {row[name]:.4f}" for name in losses))
        if next_measure <= row["seconds"] < settings.minutes * 60 and update != settings.updates:  # not the last
            paused = time.monotonic()
            every(row)
            integrator.train()
            began += time.monotonic() - paused
            next_measure += period
    return history


# --- measuring ------------------------------------------------------------------------------------------
@dataclass
class GridReport:
    """The grid measures of one network (trained or untrained) on the held-out trajectories."""

    units: int
    samples: int
    loss: dict[str, float]
    share_unit: float  # units above the 95th percentile of their own shuffles
    share_pooled: float  # units above the 95th percentile of all units' shuffles pooled
    pooled_threshold: float
    median_gridness: float
    max_gridness: float
    spacing_m: list[float]  # of the grid units (pooled threshold), NaN where no grid peaks were found
    orientation_deg: list[float]
    gridness: list[float] = field(repr=False)
    #: Each unit's 95th percentile of its own shuffles (None: read from a cells.json written before it was stored).
    thresholds: list[float] | None = field(default=None, repr=False)


def covered_square() -> tuple[float, float, float, float]:
    """``(x_min, x_max, z_min, z_max)`` of the square the agent's centre covers in the arena: the rate maps' box."""
    half = ARENA_SIZE / 2 - ARENA_COLLISION_RADIUS
    return -half, half, -half, half


def measure(integrator: PathIntegrator, teachers: Mapping[str, Teacher], settings: PathSettings):
    """The grid report of ``integrator`` on held-out foraging, and the rate maps and autocorrelograms it read."""
    from analysis.cellstats import Pooled, Settings, measure_units
    from analysis.metrics import autocorrelogram, grid_geometry

    integrator.eval()
    with torch.no_grad():
        paths = batch_of_paths(teachers, settings.steps, settings.eval_batch, seed=2**31 - 1 - settings.seed)
        outputs = outputs_along(integrator, paths)
        losses = integrator.region.auxiliary_losses(outputs, paths.targets)
        loss = {name: float(value) for name, value in losses.items()}
    # Trajectory after trajectory: the shuffles shift along the pooled steps, as along one long recording.
    grid = outputs[GRID_PORT].transpose(0, 1).reshape(-1, outputs[GRID_PORT].shape[-1]).double().numpy()
    poses = paths.poses[1:].transpose(1, 0, 2).reshape(-1, 3)
    extent = covered_square()
    pooled = Pooled(ARENA, [], 0, poses[:, :2], poses[:, 2], extent)
    cell_settings = Settings(bin_size=(extent[1] - extent[0]) / settings.bins, smoothing=settings.smoothing,
                             shuffles=settings.shuffles, seed=settings.seed)
    cells = measure_units(f"{settings.region}.{GRID_PORT}", grid - grid.min(axis=0), pooled, cell_settings,
                          ["gridness"])
    if "gridness" not in cells.scores:
        raise ValueError(f"gridness not measured: {cells.skipped['gridness']}")
    scores = cells.scores["gridness"]
    pooled_threshold = float(np.nanpercentile(scores.null, 95.0, method="higher")) \
        if np.isfinite(scores.null).any() else float("nan")
    with np.errstate(invalid="ignore"):
        grid_units = scores.observed > pooled_threshold
    correlograms = autocorrelogram(cells.maps.rates)
    spacing, orientation = grid_geometry(correlograms, cell_settings.bin_size)
    report = GridReport(
        units=cells.units, samples=pooled.steps, loss=loss,
        share_unit=float(cells.fraction("gridness")), share_pooled=float(grid_units.mean()),
        pooled_threshold=pooled_threshold, median_gridness=float(np.nanmedian(scores.observed)),
        max_gridness=float(np.nanmax(scores.observed)) if np.isfinite(scores.observed).any() else float("nan"),
        spacing_m=[float(v) for v in spacing[grid_units]], orientation_deg=[float(v) for v in orientation[grid_units]],
        gridness=[float(v) for v in scores.observed], thresholds=[float(v) for v in cells.thresholds["gridness"]])
    return report, cells.maps.rates, correlograms


def _summary(name: str, report: GridReport) -> str:
    spacing = np.asarray(report.spacing_m)
    found = spacing[np.isfinite(spacing)]
    geometry = (f"spacing median {np.median(found):.2f} m (IQR {np.percentile(found, 25):.2f}-"
                f"{np.percentile(found, 75):.2f}) over {len(found)} with six-fold peaks" if len(found) else "no spacing")
    losses = ", ".join(f"{key} {value:.3f}" for key, value in report.loss.items())
    return (f"{name}: grid units {report.share_pooled:.1%} (pooled 95th percentile {report.pooled_threshold:.3f}), "
            f"{report.share_unit:.1%} (each unit's own shuffles); gridness median {report.median_gridness:.3f}, "
            f"max {report.max_gridness:.3f}; {geometry}; held-out loss: {losses}")


def write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run(settings: PathSettings, log=print) -> dict[str, GridReport]:
    """Build, measure untrained, train (measuring every ``--measure-minutes``), measure trained, and write
    everything to ``settings.out``."""
    settings.check()
    torch.set_num_threads(settings.threads)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    integrator, teachers, architecture = build(settings)
    log(f"{settings.region} of {settings.connectome}: {sum(p.numel() for p in integrator.region.parameters()):,} "
        f"weights; teachers: " + "; ".join(f"{name}: {teacher.doc}" for name, teacher in teachers.items()))
    reports, arrays, over_training = {}, {}, []

    def measured(name: str, row: Mapping[str, float]) -> GridReport:
        report, maps, correlograms = measure(integrator, teachers, settings)
        if name in ("untrained", "trained"):
            arrays[f"{name}_rate_maps"], arrays[f"{name}_autocorrelograms"] = maps, correlograms
        log(f"update {row['update']}: " + _summary(name, report))
        over_training.append({"update": row["update"], "seconds": row["seconds"], "samples": row["samples"],
                              "share_pooled": report.share_pooled, "share_unit": report.share_unit,
                              "median_gridness": report.median_gridness,
                              **{f"held_out_{key}": value for key, value in report.loss.items()}})
        return report

    reports["untrained"] = measured("untrained", {"update": 0, "seconds": 0.0, "samples": 0})
    history = train(integrator, teachers, settings, log, every=lambda row: measured("so far", row))
    last = history[-1]
    log(f"trained {last['update']} updates ({last['samples']:,} steps of foraging) in {last['seconds']:.0f} s: "
        f"loss {history[0]['loss']:.4f} -> {last['loss']:.4f}")
    torch.save({"region": integrator.region.state_dict(), "start": integrator.start.state_dict(),
                "architecture": architecture.to_dict(), "settings": asdict(settings), "updates": last["update"]},
               out / f"{settings.region}.pt")
    write_csv(out / "losses.csv", history)
    reports["trained"] = measured("trained", last)
    write_csv(out / "grid_over_training.csv", over_training)
    np.savez_compressed(out / "cells.npz", **arrays)
    (out / "cells.json").write_text(json.dumps({"settings": asdict(settings), "updates": last["update"],
                                                "training_seconds": last["seconds"],
                                                **{k: asdict(v) for k, v in reports.items()}}, indent=1))
    log(f"wrote {out / (settings.region + '.pt')}, losses.csv, grid_over_training.csv, cells.json, cells.npz")
    return reports


def parse_settings(argv: list[str] | None = None) -> PathSettings:
    parser = argparse.ArgumentParser(prog="python -m brain.pretrain_paths", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for f in fields(PathSettings):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                            help=f.metadata["help"])
    return PathSettings(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    try:
        run(settings, log=lambda line: print(line, flush=True))
    except (ValueError, ConnectomeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
