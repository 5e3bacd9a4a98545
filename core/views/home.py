"""The first page: what the tool is, and the first steps with where each one stands in this store."""
from __future__ import annotations

from dataclasses import dataclass

from core.judges.baselines import YARDSTICKS
from core.judges.identity import display_names
from core.store import Store

WHAT_IT_IS = (
    "This tool runs the RLAIF loop (prompts → two responses → an AI judge picks one → reward model → RL) "
    "and audits the AI judge against people: how often it agrees with human labels, whether it favours "
    "the first position or the longer answer, how sure it is when it is right, and whether the policy "
    "learns the judge's biases instead of what people want.")


@dataclass(frozen=True)
class Step:
    """One first step: what to do, where it stands in this store, and the page that does it."""
    title: str
    status: str
    page: str
    done: bool


def first_steps(store: Store) -> list[Step]:
    """Bring pairs, judge them, spot-check the judge, read the audit, run the loop: each with its state."""
    sources = store.pair_sources()
    n_pairs, n_labelled = int(sources["n_pairs"].sum()), int(sources["n_labelled"].sum())
    judges = sorted({j for s in sources["source"] for j in store.source_judges(s)})
    real = [j for j in judges if j not in YARDSTICKS]
    shown = display_names(real)
    spot_checks = store.label_origin_counts().get("spot-check", 0)
    runs = store.list_runs()
    trained = runs[runs["kind"] == "train"]
    return [
        Step("Bring labelled pairs in (or use the sample set)",
             f"{len(sources)} source(s), {n_pairs} pairs, {n_labelled} with a human label.", "pages/data.py",
             n_pairs > 0),
        Step("Judge them with the judge you want to audit",
             f"Judged by {', '.join(shown[j] for j in real)} (and the yardsticks)." if real else
             "Only the yardsticks (longest, shortest, random) have judged so far: judge with the embedded model "
             "or an API judge on the Data page.", "pages/data.py", bool(real)),
        Step("Spot-check the judge blind",
             f"{spot_checks} spot-check label(s) so far. Label a few pairs yourself; the judges' verdicts show only "
             "after you answer.", "pages/spotcheck.py", spot_checks > 0),
        Step("Read the audit", "Agreement with people, position and length bias, calibration, cost.",
             "pages/audit.py", bool(real) and n_labelled > 0),
        Step("Run the loop and watch it", f"{len(trained)} training run(s) so far.", "pages/runs.py", len(trained) > 0),
        Step("Hand stakeholders the report", "One self-contained HTML file, readable offline.", "pages/report.py",
             False),
    ]
