"""People's labels beside a judge's verdicts: the one join every reading of "did the judge agree
with people" goes through.

Two shapes of the same join. ``read_source`` gives the audit's numbers for every judge of a source
at once (aligned numpy arrays from the store's snapshot, fast at 100,000 pairs); ``labelled_verdicts``
gives one judge's verdict beside each labelled pair's consensus (the spot-check page, the gate, the
RLHF arm, the report's disagreements). Both apply the one consensus rule (``core.audit.consensus``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.consensus import aligned_consensus, human_consensus, vote_breakdown
from core.audit.report import SourceData, audit_source
from core.schema import to_response_pairs
from core.store import Store
from core.store.snapshot import rowid_positions


def read_judged(store: Store, source: str) -> dict:
    """The pairs and verdicts of one source (``Store.audit_snapshot``): what changes when a run
    judges, not when a person labels. The dashboard caches it apart from the labels."""
    return store.audit_snapshot(source)


def with_labels(judged: dict, votes: dict[str, np.ndarray]) -> SourceData:
    """``read_judged``'s result with the human votes (``Store.source_vote_codes``) folded in by the
    source's consensus policy. Votes on pairs added since ``judged`` was read are left out."""
    pairs = judged["pairs"]
    consensus = aligned_consensus(len(pairs), rowid_positions(judged["rowid"], votes["rowid"]), votes["code"],
                                  imported=votes.get("imported"), annotator=votes.get("annotator"),
                                  policy=votes.get("policy"))
    pairs = pd.concat([pairs, consensus], axis=1)
    if not pairs["annotators"].notna().any():
        pairs = pairs.drop(columns=["annotators"])
    if (pairs["category"].fillna("") == "").all():
        pairs = pairs.drop(columns=["category"])
    return SourceData(pairs, judged["verdicts"])


def read_source(store: Store, source: str) -> SourceData:
    """Read what ``audit_source`` needs for one source: the I/O half of ``source_audit``."""
    return with_labels(read_judged(store, source), store.source_vote_codes(source))


def source_audit(store: Store, source: str, *, judges: list[str] | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict]:
    """Audit report per judge over the pairs of ``source`` that have a human label."""
    return audit_source(read_source(store, source), judges=judges, n_boot=n_boot, seed=seed)


def labelled_verdicts(store: Store, source: str, judge: str) -> pd.DataFrame:
    """One row per pair of ``source`` with a human label, pair ids sorted: pair_id, human (the
    consensus) and verdict (``judge``'s; None where it has not judged the pair)."""
    consensus = human_consensus(store.source_human_labels(source),
                                policy=store.consensus_policy(source)["policy"])[["pair_id", "human"]]
    verdicts = store.source_judgments(source, judge)[["pair_id", "verdict"]]
    frame = consensus.merge(verdicts, on="pair_id", how="left")
    frame["verdict"] = frame["verdict"].astype(object).where(frame["verdict"].notna(), None)
    return frame


def agreement_flags(store: Store, source: str, judge: str) -> pd.Series:
    """1.0/0.0 per pair with a human label and a verdict: did the judge's verdict match the consensus?"""
    both = labelled_verdicts(store, source, judge).dropna(subset=["verdict"]).set_index("pair_id")
    return (both["human"] == both["verdict"]).astype(float)


def labelled_frame(store: Store, source: str, judge: str) -> pd.DataFrame:
    """Pairs of ``source`` with a human label, in the store's order, with their texts: pair_id, round,
    prompt, response_a, response_b, human and verdict (``labelled_verdicts``)."""
    columns = ["pair_id", "round", "prompt", "response_a", "response_b"]
    pairs = store.source_pairs_frame(source)[columns]
    return pairs.merge(labelled_verdicts(store, source, judge), on="pair_id")


def labelled_pairs(store: Store, source: str):
    """The ResponsePairs of ``source`` that have at least one human label, in the store's order."""
    labelled = set(store.source_human_labels(source)["pair_id"])
    frame = store.source_pairs_frame(source)
    return to_response_pairs(frame[frame["pair_id"].isin(labelled)])


def disagreements(store: Store, source: str, judge: str, *, limit: int = 5) -> list[dict]:
    """Pairs where the judge's verdict differs from the human consensus, with their texts."""
    both = labelled_verdicts(store, source, judge).dropna(subset=["verdict"])
    differ = both[both["human"] != both["verdict"]].head(limit)
    if differ.empty:
        return []
    texts = store.get_pairs(differ["pair_id"].tolist()).set_index("pair_id")
    votes = human_votes(store, source, differ["pair_id"].tolist())
    return [{"pair_id": r.pair_id, "prompt": texts.at[r.pair_id, "prompt"], "response_a": texts.at[r.pair_id, "response_a"],
             "response_b": texts.at[r.pair_id, "response_b"], "human": r.human, "human_votes": votes.get(r.pair_id, ""),
             "verdict": r.verdict} for r in differ.itertuples()]


def human_votes(store: Store, source: str, pair_ids: list[str]) -> dict[str, str]:
    """Each pair's human label with the votes behind it ('TIE, 1–1 split (team A, kim B)'), by the
    source's consensus policy: what every page and the report show beside a human label."""
    policy = store.consensus_policy(source)["policy"]
    labels = store.human_labels_frame(pair_ids=pair_ids)
    return {pair_id: vote_breakdown(list(g["annotator"]), list(g["label"]), list(g["origin"] == "import"),
                                    policy=policy) for pair_id, g in labels.groupby("pair_id", sort=False)}
