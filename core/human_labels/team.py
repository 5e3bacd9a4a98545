"""The people behind a source's human labels: who labelled what, how well they agree, and how
their votes become the one human label a judge is measured against.

The consensus rule (``core.audit.consensus``): each pair's human label is the
majority of its votes; a split vote (say one A and one B) counts as a tie. So a new label can
change a pair's consensus, and the spot-check page says so when it does (``record_label``).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from core.audit.agreement import joint_counts, stats_from_counts
from core.audit.consensus import consensus_of, is_split
from core.audit.frames import label_codes
from core.audit.human import krippendorff_alpha
from core.store import Store


def annotator_summary(store: Store, source: str) -> dict:
    """Per-annotator counts, pairwise Cohen's kappa on shared pairs, Krippendorff's alpha, and how
    the consensus came out (unanimous, majority, split into a tie) over the source's labelled pairs."""
    labels = store.source_human_labels(source)
    if labels.empty:
        return {"n_labels": 0, "n_pairs": 0, "annotators": pd.DataFrame(), "pairwise": pd.DataFrame(),
                "alpha": float("nan"), "consensus": {}}
    votes = labels.groupby("pair_id")["label"].agg(list)
    n_votes = votes.map(len)
    unanimous = votes.map(lambda v: len(set(v)) == 1)
    split = votes.map(is_split)
    shared = set(n_votes[n_votes >= 2].index)
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
    multi = votes[n_votes >= 2]
    return {
        "n_labels": len(labels), "n_pairs": len(votes),
        "annotators": pd.DataFrame(per_person).sort_values("Labels", ascending=False, ignore_index=True),
        "pairwise": pd.DataFrame(pairwise),
        "alpha": krippendorff_alpha(list(multi)) if len(multi) else float("nan"),
        "consensus": {"single vote": int((n_votes == 1).sum()), "unanimous": int((unanimous & (n_votes >= 2)).sum()),
                      "majority": int(((~unanimous) & ~split & (n_votes >= 2)).sum()), "split, counted as a tie": int(split.sum())},
    }


def record_label(store: Store, pair_id: str, annotator: str, label: str) -> dict:
    """Save one label and say what it did to the pair's consensus: ``before`` and ``after`` (None
    where the pair had no votes), ``votes`` (annotator -> label after), and a ``sentence``."""
    before_votes = _votes(store, pair_id)
    store.set_human_label(pair_id, annotator, label)
    after_votes = _votes(store, pair_id)
    before, after = consensus_of(list(before_votes.values())), consensus_of(list(after_votes.values()))
    others = {k: v for k, v in after_votes.items() if k != annotator.strip()}
    if before is None or not others:
        sentence = f"Your label {after} is this pair's human label (nobody else labelled it)."
    elif before == after:
        sentence = (f"The pair's human label stays {after}: "
                    f"{', '.join(f'{k} {v}' for k, v in others.items())}, you {after_votes[annotator.strip()]}.")
    else:
        why = " (a split vote counts as a tie)" if after == "TIE" and after_votes[annotator.strip()] != "TIE" else ""
        sentence = (f"Your label changed this pair's human label from {before} to {after}{why}: "
                    f"{', '.join(f'{k} {v}' for k, v in others.items())}, you {after_votes[annotator.strip()]}.")
    return {"before": before, "after": after, "votes": after_votes, "changed": before is not None and before != after,
            "sentence": sentence}


def _votes(store: Store, pair_id: str) -> dict[str, str]:
    frame = store.human_labels_frame(pair_ids=[pair_id])
    return dict(zip(frame["annotator"], frame["label"]))
