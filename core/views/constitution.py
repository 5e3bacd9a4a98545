"""The Constitution page: the versions of a constitution, the faults the audit found on the tuning part
of a source (what an edit aims at), saving an edit as the next version, the diff of any two, and the
judge jobs that judge the labelled pairs with a version (``core/runs/judge_jobs.py``).

How versions compare is ``core/views/constitution_compare.py``; the numbers behind both are
``core/human_labels/constitution_compare.py``.
"""
from __future__ import annotations

import time

import pandas as pd

from core.config import JudgeConfig
from core.human_labels.constitution_compare import audit_subset, principle_stats, read_split, version_judges
from core.human_labels.splits import HELDOUT, TUNING
from core.judges import judge_config_from
from core.judges.constitutions import (
    DEFAULT_NAME,
    MAX_CHARS,
    READS_PRINCIPLES,
    ConstitutionError,
    diff_versions,
    ensure_default,
    save_version,
    version_row,
)
from core.runs import judge_jobs
from core.runs.judge_jobs import EMBEDDED
from core.runs.worker import launch_run
from core.store import Store
from core.views.data_page import saved_judges
from core.views.findings import bias_findings
from core.wording import interval, number, pct

__all__ = ["DEFAULT_NAME", "EMBEDDED", "MAX_CHARS", "ConstitutionError", "diff", "edited_from", "faults", "judge_choices",
           "judge_config", "judge_label", "names", "save", "split_sentence", "start_judging", "version_text",
           "versions", "versions_table"]


def names(store: Store) -> list[str]:
    """Every constitution in the store (``default``, the packaged one, is always there)."""
    ensure_default(store)
    return store.constitution_names()


def versions(store: Store, name: str) -> list[int]:
    """The version numbers of ``name``, newest first."""
    ensure_default(store)
    return sorted(store.constitution_versions(name)["version"].astype(int).tolist(), reverse=True)


def versions_table(store: Store, name: str) -> pd.DataFrame:
    """One row per version: who saved it, when, from which version, why, and how long it is."""
    rows = store.constitution_versions(name)
    return pd.DataFrame({
        "Version": rows["version"].astype(int), "Author": rows["author"],
        "Saved": [time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) for t in rows["created_at"]],
        "Edited from": [("" if pd.isna(b) else f"{name}@{int(b)}") for b in rows["base_version"]],
        "Why": rows["note"], "Characters": rows["text"].str.len()}).iloc[::-1].reset_index(drop=True)


def version_text(store: Store, name: str, version: int) -> str:
    return version_row(store, f"{name}@{version}")["text"]


def save(store: Store, name: str, text: str, *, author: str, note: str, base_version: int) -> tuple[int, str]:
    """Save an edit of ``name``@``base_version`` as the next version: (its number, what to tell the
    person). ConstitutionError, nothing stored, for an empty text, one over 20,000 characters, one
    that changes only whitespace or comments, or a missing author or note."""
    version = save_version(store, name, text, author=author, note=note, base_version=base_version)
    message = f"Saved as {name}@{version} (edited from {name}@{base_version})."
    newer = [f"{name}@{v}" for v in range(base_version + 1, version)]
    if newer:  # e.g. someone saved while this person edited: every version stands, none overwrote another
        message += (f" {', '.join(newer)} {'is' if len(newer) == 1 else 'are'} newer than the version you edited and "
                    "kept as saved; yours does not contain their changes (compare them in the diff below).")
    return version, message


def edited_from(store: Store, name: str, version: int) -> int:
    """The version ``version`` was edited from (itself for the first, or one saved without a base)."""
    row = version_row(store, f"{name}@{version}")
    return version if pd.isna(row["base_version"]) else int(row["base_version"])


def diff(store: Store, name: str, old: int, new: int) -> str:
    """The unified diff of two versions, or a sentence when they say the same."""
    return diff_versions(store, name, old, new) or f"{name}@{old} and {name}@{new} have the same text."


def judge_choices() -> list[str]:
    """Judges that read principles: the embedded one and every judge YAML saved on the Data page."""
    return [EMBEDDED, *saved_judges()]


def judge_label(choice: str) -> str:
    if choice == EMBEDDED:
        return "embedded SmolLM2-135M (letters, both orders; minutes per 100 pairs on CPU)"
    return f"judge YAML: {choice.rsplit('/', 1)[-1]}"


def judge_config(choice: str) -> JudgeConfig:
    """The judge of a choice (or a YAML path); ConstitutionError when it reads no principles."""
    cfg = judge_config_from(judge_jobs.judge_spec(choice))
    if cfg.backend not in READS_PRINCIPLES:
        raise ConstitutionError(f"the {cfg.backend!r} judge does not read principles: pick a local or API judge")
    return cfg


def split_sentence(store: Store, source: str) -> str:
    split = read_split(store, source)
    n_held, n_tune = int(split.mask(HELDOUT).sum()), int(split.mask(TUNING).sum())
    if n_held + n_tune == 0:
        return f"No pair of {source} has a human label yet: label some on the Spot-check page first."
    return (f"The {n_held + n_tune} labelled pairs of {source} are split once, seeded and stored: {n_tune} tuning "
            f"pairs (the faults and examples on this page come from them) and {n_held} held-out pairs (versions "
            "are measured on these; nothing on this page shows them before you judge).")


def start_judging(store: Store, source: str, choice: str, name: str, version: int, *, baseline: int,
                  per_principle: bool = False) -> str:
    """Start a background job judging the labelled pairs of ``source`` with ``name``@``version`` (and
    with the baseline version where it has not judged them yet); its run id. ValueError, nothing
    recorded, for a judge that reads no principles or a source with no labelled pair."""
    judge_config(choice)
    refs = [f"{name}@{version}", f"{name}@{baseline}"]
    read_split(store, source)  # the split exists before any verdict of a new version does
    run_id = judge_jobs.start_judge_job(store, source, choice, constitutions=refs, per_principle=per_principle,
                                        labelled_only=True)
    launch_run(store, run_id)
    return run_id


def faults(store: Store, source: str, choice: str, name: str, version: int, *, n_boot: int = 1000) -> dict:
    """What the audit found on the tuning part with ``name``@``version``: sentences (agreement,
    position, length), the principles people agree with least (when judged one by one), and
    examples where it disagreed with people. ``judged`` is False when that version has not judged
    the tuning pairs yet (then only a hint)."""
    cfg = judge_config(choice)
    split = read_split(store, source)
    mask = split.mask(TUNING)
    keys = {v.version: v.key for v in version_judges(store, cfg, name)}
    ref, lead = f"{name}@{version}", []
    report, shown = None, version
    for shown in _ancestry(store, name, version):  # not judged yet: the faults of the version it was edited from
        report = audit_subset(split, keys[shown], mask, n_boot=n_boot, seed=0)
        if report is not None:
            break
    if report is None:
        return {"judged": False, "sentences": [f"{ref} has not judged the {int(mask.sum())} tuning pairs of {source} "
                                               "yet: judge it below to see its faults here."],
                "principles": pd.DataFrame(), "examples": []}
    if shown != version:
        lead = [f"{ref} has not judged the tuning pairs yet; these are the faults of {name}@{shown}, the version it "
                "was edited from."]
    lo, hi = report["agreement_ci95"]
    head = (f"With {name}@{shown}, on {report['n_pairs']} tuning pairs: agreement with people "
            f"{pct(report['agreement'])} ({interval(lo, hi)}), Cohen's κ {number(report['cohen_kappa'])}.")
    principles = principle_stats(store, source, cfg, f"{name}@{shown}", TUNING, n_boot=n_boot)
    return {"judged": shown == version, "shown": f"{name}@{shown}",
            "sentences": [*lead, head, *bias_findings(report), _principle_sentence(principles)],
            "principles": principle_table(principles), "examples": _examples(store, split, keys[shown], mask)}


def _ancestry(store: Store, name: str, version: int) -> list[int]:
    """``version``, the version it was edited from, that one's, and so on."""
    out = [version]
    while (base := edited_from(store, name, out[-1])) not in out:
        out.append(base)
    return out


def _principle_sentence(stats: pd.DataFrame) -> str:
    if stats.empty:
        return ("Which principle carries a fault? Tick 'each principle on its own' below: the judge is then asked "
                "about each principle alone, and the principles people agree with least show here.")
    worst = stats.sort_values("agreement").head(3)
    listed = "; ".join(f"#{r.principle} ({pct(r.agreement)}, picks the longer {pct(r.judge_p_longer)})"
                       for r in worst.itertuples())
    return f"Principles people agree with least, each judged alone: {listed}."


def principle_table(stats: pd.DataFrame) -> pd.DataFrame:
    """Per principle judged alone: agreement with people (95% CI), P(prefer the longer) beside
    people's, and how often it goes with (and alone decides) the whole version's verdict."""
    if stats.empty:
        return stats
    return pd.DataFrame({
        "#": stats["principle"], "Principle": stats["text"].str.slice(0, 90), "Pairs": stats["n_pairs"],
        "Agreement": stats["agreement"], "95% CI low": [c[0] for c in stats["agreement_ci95"]],
        "95% CI high": [c[1] for c in stats["agreement_ci95"]], "Judge picks longer": stats["judge_p_longer"],
        "People pick longer": stats["human_p_longer"], "Same verdict as the whole": stats["same_as_whole"],
        "Decides the whole (others disagree)": stats["decides_whole"]}).round(3)


def _examples(store: Store, split, key: str, mask, limit: int = 5) -> list[dict]:
    """Tuning pairs where the version disagreed with people, with their texts (never held-out ones)."""
    codes = split.codes(key)
    wrong = mask & (codes >= 0) & (codes != split.human)
    ids = split.data.pairs["pair_id"].to_numpy()[wrong][:limit].tolist()
    if not ids:
        return []
    texts = store.get_pairs(ids).set_index("pair_id")
    human, verdict = split.human[wrong], codes[wrong]
    return [{"pair_id": i, "prompt": texts.at[i, "prompt"], "response_a": texts.at[i, "response_a"],
             "response_b": texts.at[i, "response_b"], "human": _LABELS[human[n]], "verdict": _LABELS[verdict[n]]}
            for n, i in enumerate(ids)]


_LABELS = ("A", "B", "TIE", "INVALID")
