"""Constitution versions measured against people: each version as a judge, on the held-out part of
a source's labelled pairs (the claim) with the tuning part beside it (what the editor saw).

A version's judge is the chosen judge shown that version's text (``core/judges/constitutions.py``),
found in the store under its identity key. Versions are compared with a baseline version on the
pairs both judged (``core/audit/versions.py``: paired intervals, McNemar); when several versions
were measured on the same held-out pairs, the best one's lead is reported with a Bonferroni
interval and Holm-adjusted p-values over all of them. The numbers are returned as plain data;
``core/views/constitution.py`` turns them into tables and sentences.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.audit.frames import NONE, label_codes
from core.audit.report import SourceData, audit_source
from core.audit.versions import CHANGES, holm, paired_versions, verdict_changes
from core.config import JudgeConfig
from core.human_labels.splits import HELDOUT, TUNING, ensure_split
from core.human_labels.with_verdicts import read_source
from core.judges.constitutions import ensure_default, principle_configs, with_version
from core.judges.identity import judge_identity
from core.store import Store


@dataclass(frozen=True)
class VersionJudge:
    ref: str  # 'default@2'
    version: int
    key: str  # what its verdicts are stored under
    cfg: JudgeConfig  # resolved: judge.principles is the version's file


def version_judges(store: Store, judge: JudgeConfig, name: str) -> list[VersionJudge]:
    """``judge`` shown each version of constitution ``name``, oldest first."""
    ensure_default(store)
    out = []
    for version in store.constitution_versions(name)["version"].astype(int):
        cfg = with_version(judge, f"{name}@{version}", store)
        out.append(VersionJudge(f"{name}@{version}", int(version), judge_identity(cfg).key, cfg))
    return out


@dataclass(frozen=True)
class SplitData:
    """A source's labelled pairs with their part and every judge's verdicts (``read_source``)."""
    data: SourceData
    part: np.ndarray  # 'tuning' / 'heldout' per pair, '' where the pair has no human label
    human: np.ndarray  # label codes

    def mask(self, part: str) -> np.ndarray:
        return (self.part == part) & (self.human != NONE)

    def codes(self, key: str) -> np.ndarray | None:
        cols = self.data.verdicts.get(key)
        return None if cols is None else np.where(cols["code"] >= 0, cols["code"], -1)


def read_split(store: Store, source: str) -> SplitData:
    split = ensure_split(store, source)
    data = read_source(store, source)
    part = data.pairs["pair_id"].map(dict(zip(split["pair_id"], split["part"]))).fillna("").to_numpy(dtype=object)
    human = label_codes(data.pairs["human"], name="human")
    return SplitData(data, part, human)


def audit_subset(split: SplitData, key: str, mask: np.ndarray, *, n_boot: int, seed: int) -> dict | None:
    """The audit report of judge ``key`` on the pairs of ``mask`` it judged (None if none)."""
    cols = split.data.verdicts.get(key)
    if cols is None:
        return None
    keep = mask & (cols["code"] >= 0)
    if not keep.any():
        return None
    subset = SourceData(split.data.pairs[keep].reset_index(drop=True), {key: {k: v[keep] for k, v in cols.items()}})
    return audit_source(subset, judges=[key], n_boot=n_boot, seed=seed).get(key)


def compare_versions(store: Store, source: str, judge: JudgeConfig, name: str, *, baseline: int = 1,
                     candidate: int | None = None, n_boot: int = 2000, seed: int = 0) -> dict:
    """Every version of ``name`` that judged labelled pairs of ``source``, per part.

    Keys: n (pairs per part), versions (ref, key, per part: the audit report, n_judged, and the
    paired comparison with ``baseline``), changed (per part: the pairs whose verdict differs between
    ``baseline`` and ``candidate`` (default: the newest judged version), by CHANGES), multiple (the
    held-out correction over every version that judged all held-out pairs; None with fewer than
    two versions beside the baseline).
    """
    split = read_split(store, source)
    judges = version_judges(store, judge, name)
    base = next((v for v in judges if v.version == baseline), None)
    if base is None:
        raise ValueError(f"{name}@{baseline} does not exist")
    out = {"source": source, "name": name, "baseline": base.ref, "n": {}, "versions": [], "changed": {}}
    for part in (HELDOUT, TUNING):
        out["n"][part] = int(split.mask(part).sum())
    for v in judges:
        entry = {"ref": v.ref, "version": v.version, "key": v.key, "parts": {}}
        for part in (HELDOUT, TUNING):
            entry["parts"][part] = _part_entry(split, v.key, base.key, part, n_boot=n_boot, seed=seed)
        if any(p is not None for p in entry["parts"].values()):
            out["versions"].append(entry)
    judged = [e for e in out["versions"] if e["version"] != baseline]
    chosen = next((e for e in judged if e["version"] == candidate), judged[-1] if judged else None)
    out["candidate"] = chosen["ref"] if chosen else None
    for part in (HELDOUT, TUNING):
        out["changed"][part] = _changed(split, base.key, chosen["key"], part) if chosen else {}
    out["multiple"] = _multiple(split, out["versions"], base, n_boot=n_boot, seed=seed)
    return out


def _part_entry(split: SplitData, key: str, base_key: str, part: str, *, n_boot: int, seed: int) -> dict | None:
    mask = split.mask(part)
    report = audit_subset(split, key, mask, n_boot=n_boot, seed=seed)
    if report is None:
        return None
    entry = {"report": report, "n_judged": int(report["n_pairs"]), "complete": int(report["n_pairs"]) == int(mask.sum())}
    mine, theirs = split.codes(key), split.codes(base_key)
    if key != base_key and theirs is not None:
        both = mask & (mine >= 0) & (theirs >= 0)
        entry["paired"] = paired_versions(split.human[both], theirs[both], mine[both], n_boot=n_boot, seed=seed)
    return entry


def _changed(split: SplitData, base_key: str, key: str, part: str) -> dict[str, list[str]]:
    base, mine = split.codes(base_key), split.codes(key)
    if base is None or mine is None:
        return {}
    both = split.mask(part) & (base >= 0) & (mine >= 0)
    kind = verdict_changes(split.human[both], base[both], mine[both])
    ids = split.data.pairs["pair_id"].to_numpy()[both]
    return {name: ids[kind == k].tolist() for k, name in enumerate(CHANGES) if name != "unchanged"}


def _multiple(split: SplitData, versions: list[dict], base: VersionJudge, *, n_boot: int, seed: int) -> dict | None:
    """The best held-out version against the baseline, corrected for every version compared on
    the same held-out pairs (those that judged all of them)."""
    complete = [e for e in versions if e["version"] != base.version
                and (e["parts"].get(HELDOUT) or {}).get("complete") and "paired" in e["parts"][HELDOUT]]
    if len(complete) < 2:
        return None
    p = holm([e["parts"][HELDOUT]["paired"]["mcnemar_p"] for e in complete])
    best_i = int(np.nanargmax([e["parts"][HELDOUT]["paired"]["other_agreement"] for e in complete]))
    best, k = complete[best_i], len(complete)
    mask = split.mask(HELDOUT)
    corrected = paired_versions(split.human[mask], split.codes(base.key)[mask], split.codes(best["key"])[mask],
                                n_boot=n_boot, seed=seed, confidence=1 - 0.05 / k)
    return {"n_versions": k, "n_pairs": int(mask.sum()), "best": best["ref"], "baseline": base.ref,
            "holm_p": dict(zip([e["ref"] for e in complete], p.tolist())), "bonferroni": corrected}


def principle_stats(store: Store, source: str, judge: JudgeConfig, ref: str, part: str = TUNING, *,
                    n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per principle of version ``ref`` judged on its own: pairs, agreement with people (95% CI),
    P(prefer the longer), and how it stands to the whole version's verdict: the share of pairs where
    it gives the same verdict, and where it alone (against most other principles) sides with it.
    Empty when no principle was judged alone."""
    split = read_split(store, source)
    whole = with_version(judge, ref, store)
    configs = principle_configs(whole, store)
    keys = [judge_identity(cfg).key for _, cfg in configs]
    mask = split.mask(part)
    overall = split.codes(judge_identity(whole).key)
    codes = [split.codes(k) for k in keys]
    rows = []
    for i, ((line, _), key, mine) in enumerate(zip(configs, keys, codes)):
        report = audit_subset(split, key, mask, n_boot=n_boot, seed=seed)
        if report is None:
            continue
        row = {"principle": i + 1, "text": line, "key": key, "n_pairs": report["n_pairs"],
               "agreement": report["agreement"], "agreement_ci95": report["agreement_ci95"],
               "judge_p_longer": report["judge_p_longer"], "human_p_longer": report["human_p_longer"]}
        row.update(_sides_with_whole(mine, overall, [c for j, c in enumerate(codes) if j != i], mask))
        rows.append(row)
    return pd.DataFrame(rows)


def _sides_with_whole(mine, overall, others, mask) -> dict:
    if overall is None:
        return {"same_as_whole": float("nan"), "decides_whole": float("nan")}
    both = mask & (mine >= 0) & (mine != NONE) & (overall >= 0) & (overall != NONE)
    if not both.any():
        return {"same_as_whole": float("nan"), "decides_whole": float("nan")}
    same = mine[both] == overall[both]
    judged_others = [o for o in others if o is not None]
    if judged_others:  # it sides with the whole while most of the others do not
        agree_others = np.mean([(o[both] == overall[both]) for o in judged_others], axis=0)
        decides = same & (agree_others < 0.5)
    else:
        decides = same
    return {"same_as_whole": float(same.mean()), "decides_whole": float(decides.mean())}
