"""Typed training configuration, each setting written once: default, help, check and whether resume changes it.

The command line of ``python -m brain.run`` is generated from the fields (every setting has a flag,
its help is the field's), and a run directory's ``config.yaml`` is checked against the same fields on
load, each problem reported like a connectome's (file, line, field, fix)::

    >>> import tempfile; path = Path(tempfile.mkdtemp()) / "config.yaml"
    >>> _ = path.write_text("task: 1-2\\ngamma: '0.9'\\n")
    >>> TrainConfig.from_yaml(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    brain.errors.ConfigError: ...config.yaml:2: gamma: expected a number, got '0.9' (text). Fix: write it without quotes: `gamma: 0.9`

Defaults follow the 2017 agent where it was sound (RMSProp lr 7e-4, decay 0.99, gamma 0.99, entropy
0.01) and fix it where it was not (auxiliary losses averaged, advantage detached, rollouts of 20
steps). RMSProp's eps and the gradient clip are those of A2C with mean losses (1e-5 and 0.5): the 2017
eps of 0.1 belongs to losses summed over the rollout; with means, gradients are ~0.1 in norm, eps 0.1
swamps the running RMS and the brain barely moves (measured: policy entropy still ln 3 after 100k
steps of 1-3).
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from brain.argtypes import executable_file, name_list, number
from brain.errors import ConfigError
from brain.recording.spec import COMPRESSIONS

#: Keys of earlier config.yaml files that no setting reads any more, dropped on load: the auxiliary-loss
#: weights and the place-field width belong to the regions now (``aux_weights:`` and ``params`` in the
#: connectome), ``rgb_size`` to the connectome's ``inputs``.
RETIRED_KEYS = ("aux_weights", "place_sigma", "rgb_size")
#: Environments per worker when none is asked for, by environment (``docs/training.md``, "Batched acting").
DEFAULT_ENVS_PER_WORKER = {"embedded": 16, "unity": 1}
ENVIRONMENTS = ("embedded", "unity")
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Setting:
    """What the command line and the config loader know of one :class:`TrainConfig` field.

    Attributes:
        help: what it does (the flag's help and the field's documentation).
        group: the ``--help`` section it is listed in.
        parse: text -> value, ``argparse.ArgumentTypeError`` when the value is out of range; also checks a
            stored value unless ``stored_check`` is False (a check of this machine, not of the value).
        choices: the values it may take.
        metavar: the flag's placeholder in ``--help``.
        on_resume: a resumed run takes it from the command line (every other setting stays as stored).
        flag: the command-line flag, when not ``--`` + the field name with dashes.
    """

    help: str
    group: str
    parse: Callable[[str], Any] | None = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    on_resume: bool = False
    flag: str | None = None
    stored_check: bool = True


def setting(default: Any, help: str, group: str, **options: Any) -> Any:
    """A dataclass field carrying its :class:`Setting` (an empty list or dict default becomes a factory)."""
    default_kind = {"default_factory": type(default)} if isinstance(default, (list, dict)) else {"default": default}
    return field(**default_kind, metadata={"setting": Setting(help, group, **options)})


def _task_id(text: str) -> str:
    from tasks import ARENA_IDS, TASK_IDS

    if text not in (*TASK_IDS, *ARENA_IDS):
        raise argparse.ArgumentTypeError(f"unknown task {text!r}; valid tasks: {', '.join((*TASK_IDS, *ARENA_IDS))}")
    return text


def _device_name(text: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``; whether CUDA is present is checked when a run starts."""
    index = text.removeprefix("cuda:")
    if text not in ("cpu", "cuda") and not (text.startswith("cuda:") and index.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device: choose cpu or cuda (or cuda:N)")
    return text


def _pair(text: str, what: str, form: str, examples: str) -> tuple[str, str]:
    """``"KEY=VALUE"`` -> ``("KEY", "VALUE")`` (split at the first ``=``), else an error naming ``form``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"bad {what} {text!r}: expected {form}, e.g. {examples}")
    return key.strip(), value.strip()


def lesion_item(text: str) -> tuple[str, str]:
    """``"ca3=remove"`` -> ``("ca3", "remove")``; the connectome schema checks the mode."""
    return _pair(text, "lesion", "REGION=MODE", "hippocampus=remove, amygdala=silence or entorhinal=0.5")


def init_item(text: str) -> tuple[str, str]:
    """``"entorhinal=runs/paths/entorhinal.pt"`` -> ``("entorhinal", "runs/paths/entorhinal.pt")``; the region and
    the file are checked when a new run starts (:mod:`brain.training.pretrained`), not when a run resumes."""
    return _pair(text, "pre-trained region", "REGION=FILE", "entorhinal=runs/paths/entorhinal.pt")


CONNECTOME, RUN, RECORDING, ENVIRONMENT, A3C = (
    "connectome", "training run", "recording (HDF5, RUN_DIR/recording.h5; docs/recording.md)",
    "environment (Unity builds through ML-Agents: docs/unity.md)",
    "A3C (the defaults' reasons: brain/training/config.py)")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the connectome (each setting's help below)."""

    connectome: str = setting("wba", "bundled connectome name (wba, wba_no_memory, ...) or path to a YAML file",
                              CONNECTOME, metavar="NAME_OR_PATH")
    lesions: dict[str, Any] = setting(
        {}, "lesion on top of the file's, REGION=MODE: MODE is remove, silence or a fraction in (0, 1); "
            "'ca3.state->ca3.previous=remove' removes a connection; repeatable",
        CONNECTOME, parse=lesion_item, metavar="REGION=MODE", flag="--lesion")
    init_regions: dict[str, str] = setting(
        {}, "start REGION from the weights in FILE, a pre-trained region (python -m brain.pretrain_paths writes one; "
            "docs/training.md 'Pre-trained regions'), checked against the run's region first; a resumed run loads its "
            "checkpoint instead; repeatable",
        CONNECTOME, parse=init_item, metavar="REGION=FILE", flag="--init-region")
    task: str = setting("1-3", "WBAI 2017 task id, 1-1 ... 3-2 (1-3, the default demo: stop at green for 2.4 s, "
                               "then take the food; learned in minutes), or an open-arena task, openfield or watermaze",
                        RUN, parse=_task_id)
    curriculum: bool = setting(False, "train through the tasks in 2017 order, moving on when the run completes one "
                                      "by the 2017 rule over all its environments' trials (instead of --task)", RUN)
    rehearsal: float = setting(0.0, "with --curriculum: the share of episodes that play a task the run already "
                                    "completed, drawn at random (interleaved rehearsal against forgetting the earlier "
                                    "tasks; they do not count for the current task); 0 = the current task only",
                               RUN, parse=number(float, 0, 0.9), metavar="FRACTION")
    workers: int = setting(2, "A3C worker processes, one thread each", RUN, parse=number(int, 1), on_resume=True)
    envs_per_worker: int | None = setting(
        None, "environments each worker acts on at once, with one batched brain step (its rollout trains as one "
              "[t_max, N] pass); 1 = the classic A3C worker (default: 16 on the embedded simulator, the measured "
              "best on 2 cores, docs/training.md 'Batched acting'; 1 on Unity, one player process each)",
        RUN, parse=number(int, 1), metavar="N", on_resume=True)
    device: str = setting("cpu", "where the workers' brains act and train: cpu, or cuda (cuda:N) where CUDA is "
                                 "present; the simulators, the shared weights and the memory stay on the CPU",
                          RUN, parse=_device_name, on_resume=True)
    backend: str = setting("local", "where the workers run: local processes sharing memory, or Ray actors on this "
                                    "machine or a cluster (pip install -e \".[ray]\"; docs/training.md)",
                           RUN, choices=BACKENDS, on_resume=True)
    address: str = setting("", "with --backend ray: the cluster to join, 'auto' (started with 'ray start' here) or "
                               "HOST:PORT of its head (default: start Ray on this machine)",
                           RUN, metavar="ADDR", on_resume=True)
    steps: int = setting(120_000, "environment steps over all workers; with --resume, the new total", RUN,
                         parse=number(int, 1), on_resume=True)
    seed: int = setting(0, "master seed; worker i seeds with (seed, i, generation)", RUN, parse=number(int))
    out: str = setting("", "run directory (default: runs/<connectome>-<task>)", RUN, metavar="RUN_DIR",
                       on_resume=True)
    until_success: float = setting(0.0, "stop once the success rate over the last 100 episodes of the current task "
                                        "reaches this fraction (0 = never; the 2017-style criterion is 0.8)",
                                   RUN, parse=number(float, 0, 1), metavar="FRACTION", on_resume=True)
    max_minutes: float = setting(0.0, "stop after this much wall-clock time (0 = no limit)", RUN,
                                 parse=number(float, 0), metavar="M", on_resume=True)
    checkpoint_every: int = setting(10_000, "environment steps between checkpoints (a final one is always written)",
                                    RUN, parse=number(int, 1), metavar="STEPS")
    record_every: int = setting(10, "record every K-th episode of each worker (its first, then every K-th), all its "
                                    "steps; 0 = off. 10 keeps the cost within a few percent of the training speed",
                                RECORDING, parse=number(int, 0), metavar="K")
    record_regions: list[str] = setting([], "comma-separated regions whose output ports are recorded (default: all)",
                                        RECORDING, parse=name_list, metavar="A,B")
    record_float16: bool = setting(False, "store region activity as float16 (half the size, about 3 significant "
                                          "digits)", RECORDING)
    record_compression: str = setting("gzip", "HDF5 filter: gzip (any HDF5 tool reads it), lzf (faster, h5py only) "
                                              "or none", RECORDING, choices=COMPRESSIONS)
    record_flush_seconds: float = setting(30.0, "longest wait of a recorded episode before it reaches the file (a run "
                                                "killed with SIGKILL loses at most these)",
                                          RECORDING, parse=number(float, 0), metavar="S", on_resume=True)
    env: str = setting("embedded", "the embedded simulator, or a Unity build through ML-Agents (one player process "
                                   "per environment)", ENVIRONMENT, choices=ENVIRONMENTS)
    unity_build: str = setting("", "the Unity player executable (python -m tasks.unity.peer --make-build DIR writes "
                                   "a stand-in)", ENVIRONMENT, parse=executable_file, metavar="PATH", on_resume=True,
                               stored_check=False)
    unity_base_port: int = setting(5005, "environment i talks to its Unity process on PORT + i (5005 is ML-Agents' "
                                         "own default)", ENVIRONMENT, parse=number(int, 1, 65535), metavar="PORT",
                                   on_resume=True)
    unity_timeout: int = setting(60, "seconds a Unity process may take to start or answer before it counts as hung "
                                     "and is restarted", ENVIRONMENT, parse=number(int, 1), metavar="S", on_resume=True)
    unity_time_scale: float = setting(100.0, "Unity time scale: simulated time runs at most X times faster than real "
                                             "time (ML-Agents trains at 20; 100 leaves the embedded peer unthrottled)",
                                      ENVIRONMENT, parse=number(float, 0, low_inclusive=False), metavar="X",
                                      on_resume=True)
    unity_no_graphics: bool = setting(False, "start the players with -nographics -batchmode (only for scenes whose "
                                             "cameras render without graphics)", ENVIRONMENT, on_resume=True)
    ticks_per_step: int = setting(10, "physics ticks (0.02 s) per action in the embedded simulator", ENVIRONMENT,
                                  parse=number(int, 1), metavar="TICKS")
    t_max: int = setting(20, "rollout length (steps between updates)", A3C, parse=number(int, 1))
    gamma: float = setting(0.99, "discount per agent step", A3C, parse=number(float, 0, 1))
    gae_lambda: float = setting(1.0, "1 = n-step returns (A3C), below 1 = GAE(lambda) advantages", A3C,
                                parse=number(float, 0, 1))
    lr: float = setting(7e-4, "shared RMSProp learning rate", A3C, parse=number(float, 0))
    rms_alpha: float = setting(0.99, "shared RMSProp decay of the squared-gradient average", A3C,
                               parse=number(float, 0, 1))
    rms_eps: float = setting(1e-5, "shared RMSProp epsilon", A3C, parse=number(float, 0, low_inclusive=False))
    entropy_coef: float = setting(0.01, "weight of the entropy bonus", A3C, parse=number(float, 0))
    value_coef: float = setting(0.5, "weight of the critic's loss", A3C, parse=number(float, 0))
    max_grad_norm: float = setting(0.5, "global gradient-norm clip", A3C, parse=number(float, 0, low_inclusive=False))

    def __post_init__(self) -> None:
        if self.envs_per_worker is None:
            self.envs_per_worker = DEFAULT_ENVS_PER_WORKER[self.env]
        if not self.out:
            self.out = str(Path("runs") / f"{Path(self.connectome).stem}-{'curriculum' if self.curriculum else self.task}")

    def to_yaml(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(dataclasses.asdict(self), sort_keys=False))

    @classmethod
    def from_yaml(cls, path: Path) -> "TrainConfig":
        """A stored config (the settings it lacks at their defaults); see :func:`read_settings`."""
        return cls(**read_settings(path))


#: Every setting's :class:`Setting`, by field name, in the order of the fields.
SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in dataclasses.fields(TrainConfig)}
#: Settings a resumed run takes from the command line; every other one stays as the run stored it.
APPLIED_ON_RESUME = tuple(name for name, each in SETTINGS.items() if each.on_resume)


def flag_name(name: str) -> str:
    """The command-line flag of setting ``name`` (``t_max`` -> ``--t-max``, ``lesions`` -> ``--lesion``)."""
    return SETTINGS[name].flag or "--" + name.replace("_", "-")


TrainConfig.__doc__ += "\n\n    Attributes:\n" + "".join(f"        {name}: {each.help}.\n" for name, each in SETTINGS.items())


def setting_kind(name: str) -> tuple[type, bool]:
    """The plain type of a setting (bool, int, float, str, list or dict) and whether it may be None."""
    hint = typing.get_type_hints(TrainConfig)[name]
    arguments = typing.get_args(hint)
    if type(None) in arguments:  # ``X | None``
        return next(arg for arg in arguments if arg is not type(None)), True
    return typing.get_origin(hint) or hint, False


_EXPECTED = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
             list: "a list of names", dict: "a mapping of names to values"}


def _conforms(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, bool) and kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    if kind is list:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind is dict:
        return isinstance(value, dict) and all(isinstance(key, str) and isinstance(item, (str, int, float))
                                               and not isinstance(item, bool) for key, item in value.items())
    return isinstance(value, kind)


def read_settings(path: Path) -> dict[str, Any]:
    """The settings a YAML file (a run's ``config.yaml``, or ``--config FILE``) writes, each checked as its flag
    would be; a :class:`ConfigError` at the line of the first problem. Keys of :data:`RETIRED_KEYS` are dropped."""
    from brain.connectome.yamlmarks import display_path, plain, read_yaml

    file = display_path(path)
    tree = read_yaml(path, file)
    values = {}
    for key, value in tree.items():
        line = tree.marks[key].line
        if key in RETIRED_KEYS:
            continue
        if key not in SETTINGS:
            close = difflib.get_close_matches(str(key), SETTINGS, n=1)
            raise ConfigError(f"unknown setting {key!r}" + (f"; did you mean {close[0]!r}?" if close else ""),
                              file=file, line=line, field=str(key),
                              fix=f"remove it, or use one of: {', '.join(SETTINGS)}")
        values[key] = stored_value(key, plain(value), file, line)
    return values


def _unquoted(text: str) -> Any:
    """What ``text`` would be in YAML without its quotes (None where that is not YAML)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _example(name: str) -> str:
    """The default of setting ``name`` as YAML (``gamma: 0.99``), for a fix."""
    return f"`{name}: {json.dumps(getattr(TrainConfig(), name))}`"


def stored_value(name: str, value: Any, file: str, line: int | None) -> Any:
    """``value`` of setting ``name`` as read from ``file``: of its type and within its range, or a ConfigError."""
    spec, (kind, optional) = SETTINGS[name], setting_kind(name)

    def error(problem: str, fix: str) -> ConfigError:
        return ConfigError(problem, file=file, line=line, field=name, fix=fix)

    if value is None and optional:
        return value
    if not _conforms(value, kind):
        shown = f"{value!r} ({'text' if isinstance(value, str) else type(value).__name__})"
        unquoted = _unquoted(value) if isinstance(value, str) else None
        fix = (f"write it without quotes: `{name}: {value}`" if _conforms(unquoted, kind)
               else f"write {_EXPECTED[kind]}, e.g. the default {_example(name)}")
        raise error(f"expected {_EXPECTED[kind]}{' or null' if optional else ''}, got {shown}", fix)
    if spec.choices and value not in spec.choices:
        raise error(f"{value!r} is not one of {', '.join(spec.choices)}", f"write one of them, e.g. {_example(name)}")
    checked = [f"{key}={item}" for key, item in value.items()] if kind is dict else [] if kind is list else [value]
    for text in checked if spec.parse and spec.stored_check else ():
        try:
            spec.parse(str(text))
        except argparse.ArgumentTypeError as problem:
            raise error(str(problem), f"write a value in range, e.g. the default {_example(name)}") from None
    return float(value) if kind is float else value
