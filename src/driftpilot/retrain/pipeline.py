"""``driftpilot register`` and ``driftpilot retrain``: train, judge, log, register, alias.

register
    Bootstraps a deployment: trains the first model on given data with the configured trainer
    (or imports an MLflow model by URI), profiles its held-out rows scored by it (the reference
    the monitor compares production with), logs everything as one MLflow run, registers a
    version and points ``champion`` at it (floors permitting). The profile is also written to
    the workspace's ``reference.json``.
retrain
    Trains a candidate on the latest labeled production window (:mod:`.data`), scores it and
    the champion on the same holdout, applies the gate (:mod:`.gate`) and registers the
    candidate either way, with the comparison, the lineage tags and the reason; only a
    candidate that passes gets ``challenger``. A retrain for a policy decision happens once:
    asking again returns the version it created. Every failure (a refusal of the data, a
    trainer that raises, an unreadable champion, an MLflow server that does not answer) is an
    error that says what failed, and aliases move only after everything else succeeded.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from driftpilot.errors import ConfigError, RegistryError
from driftpilot.registry.client import TAGS, LoadedModel, Registry, VersionInfo, save_model_dir
from driftpilot.retrain.data import LABEL, TIME, TrainingSet, from_log, from_source
from driftpilot.retrain.gate import GateResult, evaluate_gate, gate_metrics
from driftpilot.retrain.trainers import load_trainer, run_trainer, score_model, training_data

if TYPE_CHECKING:
    from driftpilot.engine.backend import Engine
    from driftpilot.workspace import Workspace

__all__ = ["RetrainResult", "promote_version", "register", "retrain"]

_DECISION = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


@dataclass
class RetrainResult:
    version: VersionInfo
    gate: GateResult | None
    champion: str | None  # the champion it was judged against
    alias: str | None  # the alias it received
    existing: bool = False  # created earlier for the same decision
    training: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.existing:
            return (
                f"version {self.version.version} was already trained for decision "
                f"{self.version.tag('decision')}; nothing retrained"
            )
        gate = self.gate.summary() if self.gate else "no gate"
        where = f" → alias {self.alias}" if self.alias else " (no alias)"
        return f"version {self.version.version}{where}; gate {gate}"


def _profile(
    holdout: pd.DataFrame,
    scores: Any,
    workspace: Workspace,
    engine: Engine | None,
    source: str,
    folder: str,
) -> Path:
    """Profile the held-out rows with the model's scores; returns the profile file."""
    from driftpilot.config import ColumnsConfig
    from driftpilot.profile.build import build_profile

    columns = workspace.config.columns
    names = {
        "target": columns.target or "label",
        "prediction": columns.prediction or "score",
        "timestamp": columns.timestamp or "timestamp",
    }
    frame = holdout.drop(columns=["prediction_id"]).rename(
        columns={LABEL: names["target"], TIME: names["timestamp"]}
    )
    frame[names["prediction"]] = scores
    roles = ColumnsConfig(
        timestamp=names["timestamp"],
        target=names["target"],
        prediction=names["prediction"],
        types=columns.types,
    )
    config = workspace.config.model_copy(update={"columns": roles})
    profile = build_profile(frame, config, engine=engine)
    profile = profile.model_copy(update={"source": source})
    return profile.save(Path(folder) / "reference.json")


def _log_training(
    registry: Registry,
    run_id: str,
    data: TrainingSet,
    trained_params: dict[str, Any],
    trained_metrics: dict[str, float],
) -> None:
    params = {
        "rows_train": len(data.train),
        "rows_validation": len(data.validation),
        "rows_holdout": len(data.holdout),
        "rows_blended": data.blended,
        "training_source": data.source,
        **({"training_notes": "; ".join(data.notes)[:500]} if data.notes else {}),
        "window_start": data.window_start,
        "window_end": data.window_end,
        **{f"trainer.{k}": v for k, v in trained_params.items()},
    }
    registry.log_values(run_id, params=params, metrics=trained_metrics)


def _lineage(data: TrainingSet, **extra: str | None) -> dict[str, str]:
    tags = {
        TAGS["window_start"]: data.window_start.isoformat() if data.window_start else "",
        TAGS["window_end"]: data.window_end.isoformat() if data.window_end else "",
        TAGS["fingerprint"]: data.fingerprint(),
        TAGS["rows"]: str(data.rows),
    }
    tags.update({TAGS[k]: v for k, v in extra.items() if v is not None})
    return tags


Levels = dict[str, list[str]]


def _train(
    workspace: Workspace, data: TrainingSet
) -> tuple[Any, dict[str, Any], dict[str, float], Levels]:
    """Train; also returns the categorical features' training levels (the model's vocabulary)."""
    from driftpilot.retrain.frame import levels_of

    config = workspace.config
    settings = config.retrain
    trainer = load_trainer(settings.trainer, root=workspace.root)
    inputs = training_data(
        data.train,
        data.validation,
        data.features,
        config.model.task,
        settings.params,
        settings.seed,
    )
    trained = run_trainer(trainer, inputs, settings.trainer)
    return trained.model, trained.params, trained.metrics, levels_of(inputs.x_train)


def register(
    workspace: Workspace,
    data: pd.DataFrame | None = None,
    *,
    model_uri: str | None = None,
    data_path: str | None = None,
    reason: str = "initial model",
    force: bool = False,
    engine: Engine | None = None,
) -> RetrainResult:
    """Bootstrap the deployment's first champion (see the module docstring)."""
    from driftpilot.schema import infer_schema

    registry = Registry(workspace)
    current = registry.alias("champion")
    if current is not None and not force:
        raise ConfigError(
            f"model {registry.name!r} already has a champion (version {current})",
            hint="retrain with `driftpilot retrain`, promote a version with "
            "`driftpilot models promote V`, or pass --force to register a new champion",
        )
    if data is None:
        raise ConfigError(
            "register needs data: the training data, or with --model-uri the "
            "reference data the imported model is profiled on",
            field="--data",
            hint="pass --data FILE",
        )
    config = workspace.config
    features = dict(config.model.features)
    if not features:
        import ibis
        import pyarrow as pa

        sample = pa.Table.from_pandas(data.head(1000), preserve_index=False)
        dtypes = dict(ibis.memtable(sample).schema().items())
        roles = config.columns
        if roles.prediction is not None and roles.prediction not in dtypes:
            roles = roles.model_copy(update={"prediction": None})  # training data has no scores
        features = dict(infer_schema(dtypes, roles).features)
    training = from_source(data, config, features)
    tags = _lineage(
        training,
        decision="register",
        reason=reason,
        trainer=("import" if model_uri else config.retrain.trainer),
        training_data=None if model_uri else data_path,  # imported: the data is a reference
    )
    role = {TAGS["role"]: "register", TAGS["decision"]: "register"}
    with (
        registry.run("import" if model_uri else "register", role) as run_id,
        tempfile.TemporaryDirectory(prefix="driftpilot-model-") as tmp,
    ):
        model_dir = Path(tmp) / "model"
        if model_uri:
            model, _ = _import_model(registry, model_uri, model_dir)
            holdout = pd.concat([training.train, training.validation, training.holdout])
            params: dict[str, Any] = {"model_uri": model_uri}
            metrics: dict[str, float] = {}
            levels: Levels | None = None
        else:
            model, params, metrics, levels = _train(workspace, training)
            save_model_dir(
                model, model_dir, features=features, task=config.model.task, levels=levels
            )
            holdout = training.holdout
        from driftpilot.retrain.frame import model_frame

        typed = model_frame(holdout, features, levels)
        scores = score_model(model, typed, config.model.task, who="the new model")
        gate = evaluate_gate(
            holdout,
            scores,
            None,
            task=config.model.task,
            settings=config.retrain.gate,
            threshold=config.model.threshold,
        )
        _log_training(registry, run_id, training, params, {**metrics, **gate_metrics(gate)})
        reference = _profile(holdout, scores, workspace, engine, f"{registry.name} register", tmp)
        tags[TAGS["gate"]] = "passed" if gate.passed else "failed"
        tags[TAGS["gate_reason"]] = gate.summary()[:4000]
        version = registry.log_version(
            run_id,
            model_dir,
            features=features,
            reference=reference,
            extra={"gate.json": gate.to_dict()},
            tags=tags,
            description=f"registered: {reason}",
        )
        alias = None
        if gate.passed:
            from driftpilot.profile.model import Profile

            registry.promote(version.version)
            alias = "champion"
            Profile.load(reference).save(workspace.reference_path)
    return RetrainResult(version, gate, current, alias, training=_summary(training))


def _import_model(registry: Registry, uri: str, dst: Path) -> tuple[Any, str]:
    from driftpilot.registry.client import load_model_dir

    local = registry.download_uri(uri, dst.parent / "imported")
    if not (local / "MLmodel").is_file():
        raise RegistryError(
            f"{uri} is not an MLflow model (no MLmodel file in it)",
            field="--model-uri",
            hint="give runs:/RUN/PATH, models:/NAME/V or a folder written by save_model",
        )
    local.rename(dst)
    try:
        return load_model_dir(dst)
    except Exception as exc:  # whatever the flavor's loader raises
        raise RegistryError(
            f"the model at {uri} cannot be loaded: {type(exc).__name__}: {exc}",
            field="--model-uri",
        ) from exc


def _summary(data: TrainingSet) -> dict[str, Any]:
    return {
        "rows": data.rows,
        "train": len(data.train),
        "validation": len(data.validation),
        "holdout": len(data.holdout),
        "blended": data.blended,
        "window_start": data.window_start,
        "window_end": data.window_end,
        "source": data.source,
        "notes": list(data.notes),
    }


def _champion(registry: Registry) -> tuple[str, LoadedModel]:
    version = registry.alias("champion")
    if version is None:
        raise ConfigError(
            f"model {registry.name!r} has no champion to retrain",
            hint="register the first model with `driftpilot register --data FILE`",
        )
    return version, registry.load(version)


def retrain(
    workspace: Workspace,
    *,
    decision: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    force: bool = False,
) -> RetrainResult:
    """Retrain on the latest labeled window and judge the candidate (module docstring)."""
    from driftpilot.engine.backend import Engine as _Engine
    from driftpilot.errors import TrainingError
    from driftpilot.retrain.frame import model_frame

    config = workspace.config
    registry = Registry(workspace)
    if decision is not None:
        if not _DECISION.fullmatch(decision) or decision in ("manual", "register"):
            raise ConfigError(
                f"expected a decision id (letters, digits, '_', '.', '-'), got {decision!r}",
                field="decision",
                hint="`driftpilot check` prints the ids; 'manual' and 'register' are reserved",
            )
        done = registry.find_decision(decision)
        if done is not None:
            return _finish_existing(registry, done)
        failed = registry.failed_runs(decision)
        if failed >= config.retrain.max_attempts and not force:
            raise TrainingError(
                f"retraining for decision {decision} failed {failed} times; not trying again",
                field="retrain.max_attempts",
                hint="read the failed runs in MLflow, fix the cause, then run "
                f"`driftpilot retrain --decision {decision} --force`",
            )
    parent, champion = _champion(registry)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:  # a naive time is taken as UTC, like the log's timestamps
        now = now.replace(tzinfo=UTC)
    engine = engine or _Engine.create(config.engine)
    training_source = (
        _training_source(registry, parent, engine)
        if (config.retrain.blend.share > 0 and config.retrain.blend.source == "training")
        else None
    )
    data = from_log(
        workspace, champion.features, now, engine=engine, training_source=training_source
    )
    tags = _lineage(
        data,
        decision=decision or "manual",
        reason=reason or "manual retrain",
        parent=parent,
        trainer=config.retrain.trainer,
        # the original training data stays reachable for blending after this one is promoted
        training_data=registry.version(parent).tag("training_data"),
    )
    run_tags = {TAGS["role"]: "train", TAGS["decision"]: decision or "manual"}
    name = f"retrain {decision}" if decision else "retrain (manual)"
    with (
        registry.run(name, run_tags) as run_id,
        tempfile.TemporaryDirectory(prefix="driftpilot-model-") as tmp,
    ):
        registry.log_values(run_id, tags={TAGS["reason"]: tags[TAGS["reason"]]})
        model, params, metrics, levels = _train(workspace, data)
        model_dir = Path(tmp) / "model"
        save_model_dir(
            model, model_dir, features=champion.features, task=config.model.task, levels=levels
        )
        frame = model_frame(data.holdout, champion.features, levels)
        candidate = score_model(model, frame, config.model.task, who="the candidate")
        current = champion.score(data.holdout)
        gate = evaluate_gate(
            data.holdout,
            candidate,
            current,
            task=config.model.task,
            settings=config.retrain.gate,
            threshold=config.model.threshold,
            segments=config.monitor.segments,
            seed=config.retrain.seed,
        )
        _log_training(registry, run_id, data, params, {**metrics, **gate_metrics(gate)})
        reference = _profile(
            data.holdout, candidate, workspace, engine, f"{registry.name} retrain", tmp
        )
        tags[TAGS["gate"]] = "passed" if gate.passed else "failed"
        tags[TAGS["gate_reason"]] = gate.summary()[:4000]
        version = registry.log_version(
            run_id,
            model_dir,
            features=champion.features,
            reference=reference,
            extra={"gate.json": gate.to_dict()},
            tags=tags,
            description=gate.summary()[:4000],
        )
    alias = None
    if gate.passed:
        registry.set_alias("challenger", version.version)
        alias = "challenger"
    return RetrainResult(version, gate, parent, alias, training=_summary(data))


def _finish_existing(registry: Registry, done: VersionInfo) -> RetrainResult:
    """A version trained earlier for the same decision. If it passed the gate against the
    champion still serving but its alias was never set (MLflow failed in between), set it now."""
    alias = next((a for a, v in registry.aliases().items() if v == done.version), None)
    parent = done.tag("parent")
    if (
        alias is None
        and done.tags.get("driftpilot.canary") is None  # not one a canary already judged
        and done.tag("gate") == "passed"
        and parent is not None
        and registry.alias("champion") == parent
    ):
        registry.set_alias("challenger", done.version)
        alias = "challenger"
    return RetrainResult(done, None, parent, alias, existing=True)


def _training_source(registry: Registry, version: str, engine: Engine) -> pd.DataFrame:
    path = registry.version(version).tag("training_data")
    if not path or not Path(path).exists():
        raise ConfigError(
            f"retrain.blend.source is 'training' but the champion's training data "
            f"({path or 'not recorded'}) is not readable",
            field="retrain.blend.source",
            hint="register the champion with --data FILE and keep the file, or blend with "
            "source: history",
        )
    frame: pd.DataFrame = engine.execute(engine.table(path)).to_pandas()
    return frame


def promote_version(workspace: Workspace, version: str) -> str | None:
    """Make ``version`` the champion (the old one becomes ``previous``) and write its reference
    profile to the workspace, so the monitor compares production with the model now serving.
    The version must load; otherwise nothing moves."""
    from driftpilot.profile.model import Profile

    registry = Registry(workspace)
    registry.load(version)  # an unreadable model is refused before any alias moves
    with tempfile.TemporaryDirectory(prefix="driftpilot-ref-") as tmp:
        profile = Profile.load(registry.reference_file(version, Path(tmp)))
        before = {a: registry.alias(a) for a in ("champion", "previous", "challenger")}
        old = registry.promote(version)
        try:
            profile.save(workspace.reference_path)  # atomic: a reader sees old or new
        except Exception:
            registry.restore(before)
            raise
    return old
