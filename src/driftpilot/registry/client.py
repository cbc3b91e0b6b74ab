"""The MLflow adapter: the only code in driftpilot that imports mlflow.

One registered model per deployment (``model.name``) in one experiment
(``registry.experiment``, default ``driftpilot/<model.name>``). Tracking and registry share
one URI: ``registry.tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else
``sqlite:///WORKSPACE/mlflow.db`` with artifacts in ``WORKSPACE/mlruns``.

Every version driftpilot creates is a run whose artifacts hold ``model/`` (an MLflow model:
xgboost, sklearn or pyfunc flavor), ``driftpilot/features.json`` (the feature schema the model
is scored with), ``driftpilot/reference.json`` (the reference profile, so the reference
travels with the model) and, for retrains, ``driftpilot/gate.json`` (the comparison with the
champion). Lineage lives in version tags (``driftpilot.*``, see :data:`TAGS`).

MLflow's errors (a server that does not answer, a missing artifact, a model that will not
load) become :class:`~driftpilot.errors.RegistryError` naming the URI and what to do.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

from driftpilot.errors import RegistryError, TrainingError
from driftpilot.schema import FeatureType

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from driftpilot.workspace import Workspace

__all__ = [
    "ALIASES",
    "TAGS",
    "LoadedModel",
    "Registry",
    "VersionInfo",
    "in_use",
    "tracking_uri",
]

ALIASES = ("champion", "challenger", "previous")
TAGS = {
    "decision": "driftpilot.decision",  # the policy decision that caused it ("manual", "register")
    "reason": "driftpilot.reason",
    "window_start": "driftpilot.window_start",
    "window_end": "driftpilot.window_end",
    "parent": "driftpilot.parent_version",  # the champion when it was trained
    "fingerprint": "driftpilot.data_fingerprint",
    "rows": "driftpilot.rows",
    "trainer": "driftpilot.trainer",
    "gate": "driftpilot.gate",  # passed | failed | none (first model)
    "gate_reason": "driftpilot.gate_reason",
    "training_data": "driftpilot.training_data",
    "role": "driftpilot.role",  # on runs: train | register | monitoring
    "version": "driftpilot.version",  # on monitoring runs
}
T = TypeVar("T")
# HTTP settings the user exported before driftpilot started (these override registry.*)
_EXPORTED = frozenset(
    k
    for k in (
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    )
    if k in os.environ
)


def tracking_uri(workspace: Workspace) -> str:
    """``registry.tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else the workspace's SQLite."""
    configured = workspace.config.registry.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    return configured or f"sqlite:///{workspace.root / 'mlflow.db'}"


def in_use(workspace: Workspace) -> bool:
    """Whether the workspace has a model registry: one configured, or its own store exists."""
    return bool(
        workspace.config.registry.tracking_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or (workspace.root / "mlflow.db").is_file()
    )


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("sqlite", "file", "")


@dataclass(frozen=True)
class VersionInfo:
    version: str
    run_id: str | None
    tags: dict[str, str]
    aliases: list[str]
    description: str
    created: int

    def tag(self, key: str) -> str | None:
        return self.tags.get(TAGS[key])


@dataclass
class LoadedModel:
    """A registered version ready to score raw feature rows."""

    version: str
    model: Any
    flavor: str
    features: dict[str, FeatureType]
    task: str
    levels: dict[str, list[str]] | None = None  # training levels of categorical features

    def score(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        from driftpilot.retrain.frame import model_frame
        from driftpilot.retrain.trainers import score_model

        typed = model_frame(frame, self.features, self.levels)
        return score_model(self.model, typed, self.task, who=f"version {self.version}")


class Registry:
    """MLflow tracking and registry for one workspace's deployment."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.uri = tracking_uri(workspace)
        self.name = workspace.config.model.name
        self.experiment = workspace.config.registry.experiment or f"driftpilot/{self.name}"
        self._client: Any = None
        self._experiment_id: str | None = None

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            settings = self.workspace.config.registry
            # a server that does not answer must fail in seconds, not after MLflow's default
            # 7 retries with exponential backoff (minutes); what the user exported still wins
            wanted = {
                "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(settings.timeout))),
                "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(settings.retries),
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                # loading a model drew MLflow's download bars over driftpilot's own output
                "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            }
            for key, value in wanted.items():
                if key not in _EXPORTED:
                    os.environ[key] = value
            for noisy in ("mlflow.utils.environment", "mlflow.store.db.utils", "alembic"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            try:
                from mlflow import MlflowClient

                self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            except Exception as exc:  # an unknown scheme, a database driver not installed
                raise self.error("open the tracking store", exc) from exc
        return self._client

    def error(self, what: str, exc: BaseException) -> RegistryError:
        """``exc`` from MLflow as a RegistryError that says what failed and what to do."""
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RegistryError(
            f"MLflow at {self.uri} failed to {what}: {first[:300]}",
            field="registry.tracking_uri",
            hint="check that the tracking server is up and reachable (or unset "
            "registry.tracking_uri / MLFLOW_TRACKING_URI for the workspace's own store); "
            "nothing after this step was done, and aliases move last",
        )

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an MLflow call; its failure becomes a RegistryError that says what failed."""
        try:
            return fn(*args, **kwargs)
        except RegistryError:
            raise
        except Exception as exc:  # MlflowException, requests' and SQLAlchemy's errors alike
            raise self.error(what, exc) from exc

    def _missing(self, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        """``fn(*args)``, or None when MLflow says the thing does not exist."""
        from mlflow.exceptions import MlflowException

        try:
            return fn(*args)
        except MlflowException as exc:
            if str(exc.error_code) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise self.error(what, exc) from exc
        except Exception as exc:  # a connection failure, a broken database
            raise self.error(what, exc) from exc

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            found = self.call(
                "read the experiment", self.client.get_experiment_by_name, self.experiment
            )
            if found is not None:
                self._experiment_id = str(found.experiment_id)
            else:
                location = (
                    (self.workspace.root / "mlruns").as_uri() if _is_local(self.uri) else None
                )
                self._experiment_id = str(
                    self.call(
                        "create the experiment",
                        self.client.create_experiment,
                        self.experiment,
                        artifact_location=location,
                    )
                )
        return self._experiment_id

    def _ensure_model(self) -> None:
        if (
            self._missing("read the registered model", self.client.get_registered_model, self.name)
            is None
        ):
            self.call(
                "create the registered model",
                self.client.create_registered_model,
                self.name,
                description="driftpilot deployment",
            )

    # -- versions and aliases ----------------------------------------------------------------
    def versions(self) -> list[VersionInfo]:
        found = self.call(
            "list model versions", self.client.search_model_versions, f"name = '{self.name}'"
        )
        out = [_info(v) for v in found]
        return sorted(out, key=lambda v: int(v.version))

    def version(self, version: str) -> VersionInfo:
        found = None
        if str(version).isdigit():
            found = self._missing(
                f"read version {version}", self.client.get_model_version, self.name, str(version)
            )
        if found is None:
            from driftpilot.errors import ConfigError

            known = [v.version for v in self.versions()]
            raise ConfigError(
                f"model {self.name!r} has no version {version!r}; it has "
                f"{', '.join(known) if known else 'none yet'}",
                field="version",
                hint="`driftpilot models` lists the versions",
            )
        return _info(found)

    def alias(self, alias: str) -> str | None:
        """The version an alias points at (None when unset or no model exists)."""
        found = self._missing(
            f"read alias {alias}", self.client.get_model_version_by_alias, self.name, alias
        )
        return None if found is None else str(found.version)

    def aliases(self) -> dict[str, str]:
        return {a: v for a in ALIASES if (v := self.alias(a)) is not None}

    def set_alias(self, alias: str, version: str) -> None:
        self.call(
            f"set alias {alias} to version {version}",
            self.client.set_registered_model_alias,
            self.name,
            alias,
            str(version),
        )

    def delete_alias(self, alias: str) -> None:
        if self.alias(alias) is not None:
            self.call(
                f"delete alias {alias}", self.client.delete_registered_model_alias, self.name, alias
            )

    def model_state(self) -> tuple[dict[str, str], dict[str, str]]:
        """Aliases (alias → version) and tags of the registered model, in one call; empty
        when no model is registered yet."""
        found = self._missing(
            "read the registered model", self.client.get_registered_model, self.name
        )
        if found is None:
            return {}, {}
        aliases = {str(a): str(v) for a, v in (found.aliases or {}).items()}
        return aliases, {str(k): str(v) for k, v in (found.tags or {}).items()}

    def set_model_tag(self, key: str, value: str) -> None:
        self._ensure_model()
        self.call(f"set tag {key}", self.client.set_registered_model_tag, self.name, key, value)

    def delete_model_tag(self, key: str) -> None:
        if key in self.model_state()[1]:
            self.call(f"delete tag {key}", self.client.delete_registered_model_tag, self.name, key)

    def set_version_tag(self, version: str, key: str, value: str) -> None:
        self.call(
            f"tag version {version}",
            self.client.set_model_version_tag,
            self.name,
            str(version),
            key,
            value,
        )

    def promote(self, version: str) -> str | None:
        """``version`` becomes ``champion``; the old champion becomes ``previous``. When a step
        fails, the aliases are put back as they were (best effort) and the error raised."""
        old = self.alias("champion")
        if old == str(version):
            return old
        before = {a: self.alias(a) for a in ("previous", "challenger")}
        try:
            self.set_alias("champion", version)
            if old is not None:
                self.set_alias("previous", old)
            if before["challenger"] == str(version):
                self.delete_alias("challenger")
        except Exception:
            self.restore({"champion": old, **before})
            raise
        return old

    def restore(self, aliases: Mapping[str, str | None]) -> None:
        """Point each alias back where it was (None: unset); failures are ignored."""
        for alias, target in aliases.items():
            with suppress(Exception):
                if target is None:
                    self.delete_alias(alias)
                else:
                    self.set_alias(alias, target)

    def find_decision(self, decision: str) -> VersionInfo | None:
        """The version a retrain for ``decision`` created (or was linked to), if any."""
        found: list[Any] = []
        for key, value in ((TAGS["decision"], decision), (_also(decision), "true")):
            found += self.call(
                "search versions",
                self.client.search_model_versions,
                f"name = '{self.name}' and tags.`{key}` = '{value}'",
            )
        versions = sorted((_info(v) for v in found), key=lambda v: int(v.version))
        return versions[0] if versions else None

    def link_decision(self, version: str, decision: str) -> None:
        """Record that ``version`` also answers ``decision`` (one retrain served several)."""
        self.set_version_tag(version, _also(decision), "true")

    def failed_runs(self, decision: str) -> int:
        """Retrain runs for ``decision`` that failed (for ``retrain.max_attempts``)."""
        key = TAGS["decision"]
        runs = self.call(
            "search runs",
            self.client.search_runs,
            [self.experiment_id()],
            f"tags.`{key}` = '{decision}' and attributes.status = 'FAILED'",
        )
        return len(runs)

    # -- runs --------------------------------------------------------------------------------
    @contextmanager
    def run(self, name: str, tags: Mapping[str, str]) -> Iterator[str]:
        """A run that ends FINISHED, or FAILED when the block raises."""
        run = self.call(
            "start a run",
            self.client.create_run,
            self.experiment_id(),
            tags=dict(tags),
            run_name=name,
        )
        run_id = str(run.info.run_id)
        try:
            yield run_id
        except BaseException:
            with suppress(Exception):  # the original failure is the one to report
                self.client.set_terminated(run_id, status="FAILED")
            raise
        self.call("finish the run", self.client.set_terminated, run_id, status="FINISHED")

    def log_values(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        import time

        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        self.call(
            "log parameters and metrics",
            self.client.log_batch,
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)[:6000]) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )

    def log_version(
        self,
        run_id: str,
        model_dir: Path,
        *,
        features: Mapping[str, FeatureType],
        reference: Path | None,
        extra: Mapping[str, dict[str, Any]] | None = None,
        tags: Mapping[str, str],
        description: str,
    ) -> VersionInfo:
        """Log the model folder and driftpilot's files to ``run_id``; register a version."""
        with tempfile.TemporaryDirectory(prefix="driftpilot-version-") as tmp:
            ours = Path(tmp) / "driftpilot"
            ours.mkdir()
            (ours / "features.json").write_text(
                json.dumps({k: str(v) for k, v in features.items()}), encoding="utf-8"
            )
            if reference is not None:
                (ours / "reference.json").write_bytes(reference.read_bytes())
            for name, payload in (extra or {}).items():
                (ours / name).write_text(json.dumps(payload, indent=2, default=str), "utf-8")
            self.call(
                "log the model's artifacts",
                self.client.log_artifacts,
                run_id,
                str(model_dir),
                "model",
            )
            self.call(
                "log driftpilot's artifacts",
                self.client.log_artifacts,
                run_id,
                str(ours),
                "driftpilot",
            )
        self._ensure_model()
        run = self.call("read the run", self.client.get_run, run_id)
        source = f"{run.info.artifact_uri.rstrip('/')}/model"
        created = self.call(
            "register a model version",
            self.client.create_model_version,
            self.name,
            source,
            run_id=run_id,
            tags=dict(tags),
            description=description,
        )
        return _info(created)

    # -- loading -----------------------------------------------------------------------------
    def download(self, version: VersionInfo, path: str, dst: Path) -> Path:
        import mlflow.artifacts

        if version.run_id is None:
            raise RegistryError(
                f"version {version.version} of {self.name!r} has no run to read {path} from",
                hint="register models through driftpilot (driftpilot register)",
            )
        local = self.call(
            f"download {path} of version {version.version}",
            mlflow.artifacts.download_artifacts,
            run_id=version.run_id,
            artifact_path=path,
            dst_path=str(dst),
            tracking_uri=self.uri,
        )
        return Path(local)

    def download_uri(self, uri: str, dst: Path) -> Path:
        """Download any MLflow artifact URI (runs:/, models:/, a path) into ``dst``."""
        import mlflow.artifacts

        dst.mkdir(parents=True, exist_ok=True)
        # MLflow 3 resolves the logged model behind runs:/RUN/NAME through the process-wide
        # tracking URI, whatever tracking_uri says: point it at this registry meanwhile
        before = mlflow.get_tracking_uri() if _tracking_uri_set() else None
        mlflow.set_tracking_uri(self.uri)
        try:
            local = self.call(
                f"download {uri}",
                mlflow.artifacts.download_artifacts,
                artifact_uri=uri,
                dst_path=str(dst),
                tracking_uri=self.uri,
                registry_uri=self.uri,
            )
        finally:
            mlflow.set_tracking_uri(before)  # type: ignore[arg-type]  # None: unset again
        return Path(local)

    def load(self, version: str) -> LoadedModel:
        """Load a version's model and feature schema; unreadable artifacts are a RegistryError."""
        info = self.version(version)
        if info.tag("decision") is None:
            raise RegistryError(
                f"version {version} of {self.name!r} was not registered by driftpilot (it has no "
                "driftpilot.decision tag, so no feature schema or reference travels with it)",
                field="version",
                hint="import the model with `driftpilot register --model-uri models:/NAME/V`",
            )
        with tempfile.TemporaryDirectory(prefix="driftpilot-load-") as tmp:
            features_file = self.download(info, "driftpilot/features.json", Path(tmp))
            model_dir = self.download(info, "model", Path(tmp))
            try:
                features = {
                    k: FeatureType(v)
                    for k, v in json.loads(features_file.read_text("utf-8")).items()
                }
                model, flavor = load_model_dir(model_dir)
                spec = model_dir / "driftpilot.json"
                levels = (
                    json.loads(spec.read_text("utf-8")).get("levels") if spec.is_file() else None
                )
            except Exception as exc:  # a corrupt or foreign artifact, whatever the library says
                raise RegistryError(
                    f"the model of version {version} of {self.name!r} cannot be loaded: "
                    f"{type(exc).__name__}: {str(exc)[:300]}",
                    hint="its artifacts are damaged or incomplete; register a new version or "
                    "point the alias at another one (no alias was moved)",
                ) from exc
        task = self.workspace.config.model.task
        return LoadedModel(str(version), model, flavor, features, task, levels or None)

    def reference_file(self, version: str, dst: Path) -> Path:
        return self.download(self.version(version), "driftpilot/reference.json", dst)


def load_model_dir(path: Path) -> tuple[Any, str]:
    """An MLflow model folder's model object, by its flavor: xgboost, sklearn, else pyfunc."""
    from mlflow.models import Model

    flavors = Model.load(str(path / "MLmodel")).flavors
    if "xgboost" in flavors:
        import mlflow.xgboost

        return mlflow.xgboost.load_model(str(path)), "xgboost"
    if "sklearn" in flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(path)), "sklearn"
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(path)), "pyfunc"


def save_model_dir(
    model: Any,
    path: Path,
    *,
    features: Mapping[str, FeatureType],
    task: str,
    levels: Mapping[str, list[str]] | None = None,
) -> str:
    """Save ``model`` as an MLflow model folder with the flavor its type calls for; xgboost and
    sklearn models also get driftpilot's ``python_function`` flavor (see :mod:`.pyfunc`)."""
    from importlib.metadata import version

    import mlflow.pyfunc
    from mlflow.models import Model

    from driftpilot.registry.pyfunc import SPEC_FILE

    module = type(model).__module__.split(".")[0]
    ours = f"driftpilot=={version('driftpilot')}"
    if module == "xgboost":
        import mlflow.xgboost

        requirements = [f"xgboost=={version('xgboost')}", ours]
        mlflow.xgboost.save_model(model, str(path), pip_requirements=requirements)
        flavor = "xgboost"
    elif module == "sklearn" or (hasattr(model, "get_params") and hasattr(model, "fit")):
        import mlflow.sklearn

        requirements = [f"scikit-learn=={version('scikit-learn')}", ours]
        mlflow.sklearn.save_model(model, str(path), pip_requirements=requirements)
        flavor = "sklearn"
    elif isinstance(model, mlflow.pyfunc.PythonModel):
        mlflow.pyfunc.save_model(str(path), python_model=model, pip_requirements=["pandas"])
        return "pyfunc"
    else:
        raise TrainingError(
            f"the trainer returned a {type(model).__module__}.{type(model).__name__}, which "
            "driftpilot cannot log",
            field="retrain.trainer",
            hint="return an XGBoost model, a scikit-learn estimator or an "
            "mlflow.pyfunc.PythonModel",
        )
    spec = {
        "features": {k: str(v) for k, v in features.items()},
        "task": task,
        "levels": dict(levels or {}),
    }
    (path / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
    described = Model.load(str(path / "MLmodel"))
    env = described.flavors.get("python_function", {}).get("env")
    described.flavors.pop("python_function", None)
    mlflow.pyfunc.add_to_model(described, loader_module="driftpilot.registry.pyfunc", env=env)
    described.save(str(path / "MLmodel"))
    return flavor


def _tracking_uri_set() -> bool:
    """Whether the process chose a tracking URI (set_tracking_uri or the environment)."""
    from mlflow.tracking._tracking_service import utils

    return bool(utils._tracking_uri or os.environ.get("MLFLOW_TRACKING_URI"))


def _also(decision: str) -> str:
    return f"driftpilot.also.{re.sub(r'[^A-Za-z0-9_-]', '_', decision)}"


def _info(found: Any) -> VersionInfo:
    return VersionInfo(
        version=str(found.version),
        run_id=found.run_id,
        tags=dict(found.tags or {}),
        aliases=list(getattr(found, "aliases", []) or []),
        description=found.description or "",
        created=int(found.creation_timestamp or 0),
    )
