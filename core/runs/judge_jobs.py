"""Judging a pair source in the background: a job the worker runs like a training run.

A judge job is a row of the runs table whose config is ``{"kind": "judge", "source": ...,
"judge": ...}``: ``launch_run`` starts the same worker process, which beats the same heartbeat,
writes progress to the same store and stops at the same cancel flag; ``label_pairs`` skips what
the judge already judged, so Resume (or a second job) never judges a pair twice. An API judge's
key stays in the environment variable its YAML names: the job records the variable's name only,
and refuses to start when the variable is not set.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from core.config import ConfigError, JudgeConfig
from core.data.sample_workspace import SAMPLE_DIR
from core.human_labels.with_verdicts import labelled_pairs
from core.judges import judge_config_from, make_judge
from core.judges.constitutions import READS_PRINCIPLES, principle_configs, resolve, with_version
from core.judges.identity import readable, readable_name
from core.loop.judging import label_pairs, source_pairs
from core.runs.progress import Reporter
from core.runs.status import display_status
from core.store import RunStatus, Store

JOB_KIND = "judge"
EMBEDDED = "embedded"  # the packaged default judge: SmolLM2-135M, letters, both orders
_EMBEDDED_YAML = SAMPLE_DIR / "default_judge.yaml"


def is_judge_job(run: dict) -> bool:
    config = run.get("config") or {}
    return isinstance(config, dict) and config.get("kind") == JOB_KIND


def judge_spec(choice: str) -> str:
    """What ``make_judge`` takes for a choice of the form: a built-in name, 'embedded', or a YAML path."""
    return str(_EMBEDDED_YAML) if choice == EMBEDDED else choice


def start_judge_job(store: Store, source: str, judge: str, *, constitutions: list[str] = (),
                    per_principle: bool = False, labelled_only: bool = False) -> str:
    """Record a QUEUED job judging every pair of ``source`` with ``judge`` (built-in name,
    'embedded', or a judge YAML); ValueError, with nothing recorded, for a source with no pairs,
    an unknown judge, a bad YAML or an API key variable that is not set.

    With ``constitutions`` (NAME@VERSION, the first is the one being tried), the judge is shown each
    version in turn instead of its own principles (a judge that reads no principles is refused:
    every version would be the same judge); ``per_principle`` also asks it about each principle of
    the first version alone; ``labelled_only`` judges only the pairs people labelled."""
    if source not in store.source_names():
        raise ValueError(f"no pairs in {source}")
    spec = judge_spec(judge)
    cfg = judge_config_from(spec)  # ConfigError (a ValueError) names the file, line and field
    if cfg.backend == "openai" and cfg.api_key_env and not os.environ.get(cfg.api_key_env):
        raise ValueError(f"the judge's API key variable ${cfg.api_key_env} is not set in the dashboard's "
                         "environment; set it and restart the dashboard (keys are never stored)")
    if cfg.constitution:  # a judge YAML naming a version: refused now if the store does not hold it
        resolve(cfg, store)
    refs = list(dict.fromkeys(constitutions))
    if refs and cfg.backend not in READS_PRINCIPLES:
        raise ValueError(f"the {readable_name(cfg)!r} judge does not read principles, so every constitution "
                         "version would be the same judge: pick a local or API judge")
    for ref in refs:
        with_version(cfg, ref, store)  # an unknown version is refused here, before anything is recorded
    n = len(labelled_pairs(store, source) if labelled_only else source_pairs(store, source))
    if labelled_only and n == 0:
        raise ValueError(f"no pair of {source} has a human label yet")
    name = f"judge {source} · {readable_name(cfg)}" + (f" · {refs[0]}" if refs else "")
    config = {"kind": JOB_KIND, "source": source, "judge": spec, "n_pairs": n}
    if refs:
        config.update(constitutions=refs, per_principle=bool(per_principle))
    if labelled_only:
        config["labelled_only"] = True
    return store.create_run(config, name=name)


def job_judges(store: Store, config: dict) -> list[JudgeConfig | str]:
    """What a job judges with, in order: its judge, or the judge shown each constitution version
    (and each principle of the first alone, with ``per_principle``)."""
    refs = config.get("constitutions") or []
    if not refs:
        return [config["judge"]]
    cfg = judge_config_from(config["judge"])
    out = [with_version(cfg, ref, store) for ref in refs]
    if config.get("per_principle"):
        out += [principle for _, principle in principle_configs(out[0], store)]
    return out


def execute_judge_job(store: Store, run_id: str, *, show_bars: bool = True) -> None:
    """Judge the job's source (resuming where it stopped), recording status, progress and errors."""
    config = store.get_run(run_id)["config"]
    reporter = Reporter(store, run_id, show_bars=show_bars)
    with reporter.recording(cancelled="cancelled by request; Resume goes on"):
        source = config["source"]
        pairs = labelled_pairs(store, source) if config.get("labelled_only") else source_pairs(store, source)
        specs, judged, first = job_judges(store, config), 0, None
        with reporter.stage("judging", len(pairs) * len(specs)) as progress:
            for spec in specs:
                store.update_run(run_id, message=f"loading {_spec_name(spec)}")
                judge = make_judge(spec, store=store)
                first = first or judge.name
                try:
                    store.update_run(run_id, message=f"judging with {_spec_name(spec)}")
                    judged += label_pairs(store, judge, pairs, progress=progress, between_chunks=reporter.check_cancel)
                finally:
                    judge.close()
    what = f"{readable(first)} · {config['constitutions'][0]}" if config.get("constitutions") else readable(first)
    extra = f" by {len(specs)} judges (versions, principles)" if len(specs) > 1 else ""
    store.update_run(run_id, status=RunStatus.SUCCEEDED, stage="done", progress=1.0,
                     message=f"{what}: {len(pairs)} pairs of {source} judged{extra} ({judged} judgments now, "
                             f"{len(pairs) * len(specs) - judged} before)")


def _spec_name(spec) -> str:
    if isinstance(spec, JudgeConfig):
        return readable_name(spec) + (f" · {spec.constitution}" if spec.constitution else " · one principle")
    return Path(spec).name


def write_api_judge(folder: Path, *, name: str, base_url: str, model: str, api_key_env: str,
                    principles: str = "") -> Path:
    """A judge YAML for an OpenAI-compatible endpoint, from the dashboard's form. It names the
    environment variable that holds the key, never the key; validated before it is written."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
        raise ValueError(f"judge name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if api_key_env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
        raise ValueError(f"{api_key_env!r} is not an environment variable name (give the variable's NAME, "
                         "not the key)")
    data = {"backend": "openai", "base_url": base_url.strip(), "model": model.strip(), "api_key_env": api_key_env}
    if principles:
        data["principles"] = principles
    try:
        JudgeConfig(**data)
    except ValueError as exc:
        raise ConfigError(f"judge {name}: {exc}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    partial = path.with_suffix(".yaml.partial")
    partial.write_text("# Written by the dashboard. The key itself is never stored: it is read from $"
                       f"{api_key_env or '(none)'} when the judge runs.\n" + yaml.safe_dump(data, sort_keys=False))
    partial.replace(path)
    return path


def judge_jobs(store: Store, source: str | None = None) -> list[dict]:
    """The judge jobs (of ``source``), newest first, each with its display status."""
    runs = store.list_runs()
    out = []
    for run in runs.to_dict("records"):
        if run["kind"] != JOB_KIND:
            continue
        full = store.get_run(run["run_id"])
        if source is None or full["config"]["source"] == source:
            full["display_status"] = display_status(full)
            out.append(full)
    return sorted(out, key=lambda r: r["created_at"], reverse=True)
