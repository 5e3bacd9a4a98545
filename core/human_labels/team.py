"""The people behind a source's human labels: who labelled what, how well they agree, and how
their votes become the one human label a judge is measured against.

The consensus rule (``core.audit.consensus``): the source's consensus policy says which votes
decide (by default, imported labels where a pair has them, else the spot-checks), and their
majority is the pair's human label; a split vote counts as a tie. So a new label can change a
pair's consensus, and the spot-check page says so, with what it did to each judge's agreement,
when it does (``record_label``).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from core.audit.agreement import joint_counts, stats_from_counts
from core.audit.consensus import check_policy, consensus_of, decisive, is_split, vote_breakdown
from core.audit.frames import label_codes
from core.audit.human import krippendorff_alpha
from core.human_labels.with_verdicts import labelled_verdicts
from core.judges.identity import display_names
from core.store import Store


def annotator_summary(store: Store, source: str) -> dict:
    """Per-annotator counts, pairwise Cohen's kappa on shared pairs, Krippendorff's alpha, and how
    the consensus came out (unanimous, majority, split into a tie) over the source's labelled pairs."""
    labels = store.source_human_labels(source)
    policy = store.consensus_policy(source)
    if labels.empty:
        return {"n_labels": 0, "n_pairs": 0, "annotators": pd.DataFrame(), "pairwise": pd.DataFrame(),
                "alpha": float("nan"), "consensus": {}, "policy": policy, "not_counted": 0}
    votes = labels.groupby("pair_id")["label"].agg(list)
    pair, ids = pd.factorize(labels["pair_id"], sort=True)
    counted = decisive(pair, len(ids), imported=(labels["origin"] == "import").to_numpy(),
                       annotator=labels["annotator"].to_numpy(), policy=policy["policy"])
    deciding = labels[counted].groupby("pair_id")["label"].agg(list).reindex(votes.index, fill_value=[])
    n_votes = deciding.map(len)
    unanimous = deciding.map(lambda v: len(set(v)) == 1)
    split = deciding.map(is_split)
    every = votes.map(len)  # agreement between people reads every vote, decisive or not
    shared = set(every[every >= 2].index)
    per_person = []
    for who, mine in labels.groupby("annotator"):
        with_others = mine[mine["pair_id"].isin(shared)]
        agree = [(votes[p].count(lab) - 1) / (len(votes[p]) - 1) for p, lab in zip(with_others["pair_id"],
                                                                                    with_others["label"])]
        per_person.append({"Annotator": who, "Labels": len(mine),
                           "Pairs also labelled by others": len(with_others),
                           "Agrees with the others' votes": float(np.mean(agree)) if agree else float("nan")})
    wide = labels.pivot_table(index="pair_id", columns="annotator", values="label", aggfunc="last")
    pairwise = []
    for a, b in combinations(wide.columns, 2):
        both = wide[[a, b]].dropna()
        if both.empty:
            continue
        stats = stats_from_counts(joint_counts(label_codes(both[a]), label_codes(both[b])))
        pairwise.append({"Annotator 1": a, "Annotator 2": b, "Pairs both labelled": len(both),
                         "Agreement": float(stats["agreement"]), "Cohen's kappa": float(stats["cohen_kappa"])})
    multi = votes[every >= 2]
    return {
        "n_labels": len(labels), "n_pairs": len(votes), "policy": policy, "not_counted": int((~counted).sum()),
        "not_counted_agree": _agree_with_consensus(labels[~counted], deciding),
        "annotators": pd.DataFrame(per_person).sort_values("Labels", ascending=False, ignore_index=True),
        "pairwise": pd.DataFrame(pairwise),
        "alpha": krippendorff_alpha(list(multi)) if len(multi) else float("nan"),
        "consensus": {"single vote": int((n_votes == 1).sum()), "unanimous": int((unanimous & (n_votes >= 2)).sum()),
                      "majority": int(((~unanimous) & ~split & (n_votes >= 2)).sum()), "split, counted as a tie": int(split.sum())},
    }


def _agree_with_consensus(votes: pd.DataFrame, deciding: pd.Series) -> float:
    """Share of ``votes`` (not counted under the policy) that match their pair's human label."""
    if votes.empty:
        return float("nan")
    human = deciding.map(lambda v: consensus_of(v))
    return float((votes["label"].to_numpy() == human.reindex(votes["pair_id"]).to_numpy()).mean())


def set_policy(store: Store, source: str, policy: str, *, set_by: str) -> str:
    """Set how ``source``'s votes combine (``core.audit.consensus.check_policy`` refuses an unknown one);
    the change is recorded with who made it, and every reading of the source shows it."""
    policy = check_policy(policy)
    if not set_by.strip():
        raise ValueError("say who changes the consensus policy: it changes what everyone reads on this source")
    store.set_consensus_policy(source, policy, set_by=set_by.strip())
    return policy


def record_label(store: Store, pair_id: str, annotator: str, label: str) -> dict:
    """Save one label and say what it did to the pair's human label under its source's consensus
    policy: ``before`` and ``after`` (None where the pair had no votes), ``votes`` (annotator -> label
    after), ``breakdown`` (the label with its votes), ``agreement`` (judge -> (before, after) share on
    the source, where the human label moved) and a ``sentence``."""
    source = _source_of(store, pair_id)
    policy = store.consensus_policy(source)["policy"]
    before = _human(store, pair_id, policy)
    store.set_human_label(pair_id, annotator, label)
    frame = store.human_labels_frame(pair_ids=[pair_id])
    after = _human(store, pair_id, policy)
    me = annotator.strip()
    votes = dict(zip(frame["annotator"], frame["label"]))
    breakdown = vote_breakdown(list(frame["annotator"]), list(frame["label"]), list(frame["origin"] == "import"),
                               policy=policy)
    mine_counts = bool(decisive([0] * len(frame), 1, imported=list(frame["origin"] == "import"),
                                annotator=list(frame["annotator"]), policy=policy)[list(frame["annotator"]).index(me)])
    changed = before is not None and before != after
    moved = _agreement_moves(store, source, pair_id, before, after) if before != after else {}
    if len(votes) == 1:
        sentence = f"Your label {after} is this pair's human label (nobody else labelled it)."
    elif not mine_counts:
        deciding = breakdown.split("; measured against it")[0]
        sentence = (f"The pair's human label stays {after}, decided by {deciding}. Your {votes[me]} is measured against "
                    f"it, not counted (consensus policy '{policy or 'imported'}'; the Agreement page can change it).")
    elif not changed:
        sentence = f"The pair's human label stays {after}: {breakdown}."
    else:
        why = " (a split vote counts as a tie)" if after == "TIE" and votes[me] != "TIE" else ""
        sentence = f"Your label changed this pair's human label from {before} to {after}{why}: {breakdown}."
    if moved:
        shown = display_names(list(moved))
        sentence += " It moved agreement with people on this source: " + "; ".join(
            f"{shown[j]} {_share(b)} → {_share(a)}" for j, (b, a) in moved.items()) + "."
    return {"before": before, "after": after, "votes": votes, "changed": changed, "breakdown": breakdown,
            "agreement": moved, "counted": mine_counts, "sentence": sentence}


def _source_of(store: Store, pair_id: str) -> str:
    row = store.get_pairs([pair_id]).iloc[0]
    return f"run:{row['run_id']}" if isinstance(row["run_id"], str) else f"dataset:{row['dataset']}"


def _human(store: Store, pair_id: str, policy: str | None) -> str | None:
    frame = store.human_labels_frame(pair_ids=[pair_id])
    return consensus_of(list(frame["label"]), imported=list(frame["origin"] == "import"),
                        annotators=list(frame["annotator"]), policy=policy)


def _agreement_moves(store: Store, source: str, pair_id: str, before: str | None, after: str | None) -> dict:
    """judge -> (agreement before, agreement after) on the source, for each judge with a verdict on the pair."""
    out = {}
    for judge, verdict in zip(*(store.pair_judgments(pair_id)[c] for c in ("judge", "verdict"))):
        rows = labelled_verdicts(store, source, judge).dropna(subset=["verdict"])
        hits, n = int((rows["human"] == rows["verdict"]).sum()), len(rows)
        was_counted = before is not None
        hits_before = hits - int(verdict == after) + (int(verdict == before) if was_counted else 0)
        n_before = n if was_counted else n - 1
        out[judge] = (hits_before / n_before if n_before else float("nan"), hits / n if n else float("nan"))
    return out


def _share(x: float) -> str:
    return "n/a" if x != x else f"{x:.1%}"
