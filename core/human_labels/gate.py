"""The judge gate: before a round's reward model is trained, measure the judge's agreement
with people on a named source, and stop the run (or warn) when the lower end of its 95% CI
is below the configured threshold.

Agreement is the Agreement page's headline: ties counted, over pairs where the human
consensus and the verdict are both readable, with a seeded percentile bootstrap CI
(``core.audit.agreement_summary``). Each round's measurement is kept as metrics of stage
'gate' (``gate/agreement``, ``gate/ci_low``, ``gate/ci_high``, ``gate/n_pairs``,
``gate/threshold``, ``gate/passed``), from which the Runs page rebuilds the same sentence.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from core.config import HUMAN_PAIRS_SOURCE, GateConfig, RunConfig, is_store_source
from core.store import Store
from core.wording import interval

STAGE = "gate"
GATE_STOPPED = "stopped by the judge gate"  # the message of a run the gate stopped


class GateFailed(Exception):
    """The judge's agreement with people was below the run's gate (``gate.action: stop``); the
    message gives the measured agreement, its CI, the threshold and the source."""

    @property
    def run_fields(self) -> dict:
        """What the failed run's row says: the message is the reason, in full, with no class name."""
        return {"error": str(self), "message": GATE_STOPPED}


def measure_agreement(frame: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Judge-human agreement (ties counted) of ``frame``'s ``human`` and ``verdict`` columns:
    agreement, ci_low, ci_high (95% percentile bootstrap) and n_pairs (pairs where both are readable)."""
    from core.audit import agreement_summary

    summary = agreement_summary(frame["human"], frame["verdict"], n_boot=n_boot, seed=seed)
    low, high = summary["agreement_ci95"]
    return {"agreement": summary["agreement"], "ci_low": low, "ci_high": high, "n_pairs": summary["n_valid"]}


def passes(result: dict, gate: GateConfig) -> bool:
    """Whether a measurement clears the gate; nothing measured (no pairs) never does."""
    return result["n_pairs"] > 0 and result["ci_low"] >= gate.min_agreement_lower_ci


def describe_source(cfg: RunConfig, stored: str = "") -> str:
    """The gate's source in words: what the config named and, for a file, where it went in the store."""
    source = cfg.gate.source
    if is_store_source(source):
        return source
    named = f"the run's human_pairs file {Path(cfg.human_pairs).name}" if source == HUMAN_PAIRS_SOURCE else source
    return f"{named} (stored as {stored})" if stored else named


def gate_message(result: dict, gate: GateConfig, source: str) -> str:
    """One paragraph a person reads on the Runs page: the numbers, the threshold, what happened."""
    threshold = gate.min_agreement_lower_ci
    if result["n_pairs"] == 0:
        measured = (f"Judge gate on {source}: no pair has both a human label and a readable verdict of the run's "
                    f"judge, so its agreement with people could not be measured against the threshold "
                    f"{threshold:.2f}.")
    else:
        measured = (f"Judge gate on {source}: the judge agreed with people on {result['agreement']:.2f} of "
                    f"{result['n_pairs']} pairs (ties counted; {interval(result['ci_low'], result['ci_high'], spec='.2f')}); "
                    f"the gate needs the CI's lower end to be at least {threshold:.2f}.")
    if passes(result, gate):
        return f"{measured} Passed."
    if gate.action == "stop":
        return f"{measured} Below it: the run stopped before training the reward model (gate.action: stop)."
    return (f"{measured} Below it, and the run went on (gate.action: warn): its reward model learns from labels "
            f"that disagree with people more often than the gate allows.")


def apply_gate(store: Store, run_id: str, cfg: RunConfig, round_: int, judge: str) -> str | None:
    """Measure the gate for ``round_`` and record it; raise GateFailed when it stops the run.

    Returns the message (None when the gate is off). The run's judgments of the source must
    be in the store (the judging stage reads its labelled pairs first).
    """
    from core.human_labels.sources import gate_source
    from core.human_labels.with_verdicts import labelled_frame

    if not cfg.gate.enabled:
        return None
    source = gate_source(store, cfg)
    result = measure_agreement(labelled_frame(store, source, judge), n_boot=cfg.gate.n_boot, seed=cfg.gate.seed)
    ok = passes(result, cfg.gate)
    store.add_metrics(run_id, round_, STAGE, 0, {f"gate/{k}": v for k, v in result.items()} | {
        "gate/threshold": cfg.gate.min_agreement_lower_ci, "gate/passed": float(ok)})
    message = gate_message(result, cfg.gate, describe_source(cfg, source))
    if not ok and cfg.gate.action == "stop":
        raise GateFailed(message)
    store.update_run(run_id, message=message)
    return message


def latest_gate(store: Store, run_id: str) -> dict | None:
    """The latest round's gate of a run, rebuilt from its stored metrics: round, passed, and the
    message; None when no gate ran."""
    from core.config import config_from_dict

    metrics = store.metrics_frame(run_id, stage=STAGE)
    if metrics.empty:
        return None
    last = metrics[metrics["round"] == metrics["round"].max()]
    values = {k: _num(v) for k, v in zip(last["key"].str.removeprefix("gate/"), last["value"])}
    cfg = config_from_dict(store.get_run(run_id)["config"])
    n_pairs = values.get("n_pairs", math.nan)
    result = {"agreement": values.get("agreement", math.nan), "ci_low": values.get("ci_low", math.nan),
              "ci_high": values.get("ci_high", math.nan), "n_pairs": 0 if math.isnan(n_pairs) else int(n_pairs)}
    round_ = int(last["round"].iloc[0])
    return {"round": round_, "passed": values.get("passed") == 1.0,
            "text": f"Round {round_}: {gate_message(result, cfg.gate, describe_source(cfg))}"}


def gate_reading(store: Store, run_id: str, *, failed_only: bool = False) -> str | None:
    """The latest gate message of a run; None when no gate ran (or, with ``failed_only``, it passed)."""
    gate = latest_gate(store, run_id)
    return None if gate is None or (failed_only and gate["passed"]) else gate["text"]


def _num(value) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)
