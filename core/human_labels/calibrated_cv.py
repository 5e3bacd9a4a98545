"""How good is a calibrated judge? k-fold cross-validated agreement with human labels, beside the raw
judges and the length yardsticks, its P(prefer longer) beside the humans', and whether it learned
more than length: only when it beats both length rules (``longest`` and ``shortest``) beyond noise.

Every number is over the same pairs: the labelled, non-tie pairs that every raw judge judged. The
calibrated judge's verdict on a pair comes from a model fitted on the other folds only (out of
fold). Agreement = share of pairs where the verdict is the human's side (a TIE verdict is a miss);
its 95% CI is the percentile bootstrap over pairs (``core.audit.agreement``), which leaves out
the variation from refitting. Differences between two judges on the same pairs (calibrated minus
``longest``, say) get a paired bootstrap CI: "beyond noise" means that CI excludes 0.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.human_labels.calibrated_fit import TrainingSet, usable_rows
from core.judges.calibrated_model import CalibratedModel, RawJudge, choose_features, feature_matrix, fit_arrays
from core.wording import interval

LENGTH_RULES = {"longest": "longer", "shortest": "shorter"}  # the yardsticks "it learned more than length" must beat


def cv_predictions(data: TrainingSet, judges: list[RawJudge], *, folds: int = 5, C: float = 1.0,
                   length: bool = True, seed: int = 0, train_size: int | None = None,
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(A) for the usable rows (the mask returned beside it). ``train_size``: fit each
    fold on a random subset of that many of its training pairs (a learning-curve point)."""
    from sklearn.model_selection import StratifiedKFold

    features = choose_features(data.signals, [j.name for j in judges], length=length)
    use = usable_rows(data, features)
    x = feature_matrix(data.signals[use], features)
    y = (data.pairs["human"].to_numpy()[use] == "A").astype(np.int64)
    k = min(folds, int(np.bincount(y, minlength=2).min()))
    if k < 2:
        raise ValueError(f"{len(y)} usable labelled pairs: too few of one side for {folds}-fold cross-validation")
    rng = rng if rng is not None else np.random.default_rng(seed)
    p = np.full(len(y), np.nan)
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y):
        if train_size is not None and train_size < len(train):
            train = rng.choice(train, size=train_size, replace=False)
        if len(set(y[train].tolist())) < 2:  # a tiny subsample with one side only: nothing to learn
            p[test] = 0.5
            continue
        means, scales, coef = fit_arrays(x[train], y[train], features, C=C)
        p[test] = 1.0 / (1.0 + np.exp(-np.clip(((x[test] - means) / scales) @ coef, -60, 60)))
    return p, use


def verdicts_of(p_a: np.ndarray) -> np.ndarray:
    return np.where(p_a > 0.5, "A", np.where(p_a < 0.5, "B", "TIE"))


def length_verdicts(len_a, len_b, prefer: str = "longer") -> np.ndarray:
    d = np.sign(np.asarray(len_a, dtype=float) - np.asarray(len_b, dtype=float)) * (1 if prefer == "longer" else -1)
    return np.where(d > 0, "A", np.where(d < 0, "B", "TIE"))


def paired_difference(hits_1: np.ndarray, hits_2: np.ndarray, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Agreement of judge 1 minus judge 2 on the same pairs, with a paired percentile bootstrap CI."""
    d = hits_1.astype(float) - hits_2.astype(float)
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return {"difference": float(d.mean()), "ci95": [float(lo), float(hi)], "beyond_noise": bool(lo > 0 or hi < 0)}


def judge_row(name: str, human: np.ndarray, verdict: np.ndarray, len_a, len_b, *, seed: int = 0) -> dict:
    from core.audit.agreement import agreement_summary
    from core.audit.frames import label_codes
    from core.audit.verbosity import verbosity_from_codes

    agree = agreement_summary(human, verdict, n_boot=1000, seed=seed)
    verb = verbosity_from_codes(label_codes(human), label_codes(verdict), len_a, len_b, n_boot=1000, seed=seed)
    return {"judge": name, "pairs": int(len(human)), "agreement": agree["agreement"],
            "ci95_low": agree["agreement_ci95"][0], "ci95_high": agree["agreement_ci95"][1],
            "p_longer": verb["judge_p_longer"], "p_longer_ci95": verb["judge_p_longer_ci95"],
            "human_p_longer": verb["human_p_longer"], "human_p_longer_ci95": verb["human_p_longer_ci95"],
            "more_length_biased_than_humans": verb["judge_more_length_biased"],
            "length_lean_ci95": verb["verbosity_bias_ci95"]}


def evaluate(data: TrainingSet, judges: list[RawJudge], *, folds: int = 5, C: float = 1.0, seed: int = 0,
             model: CalibratedModel | None = None, name: str = "calibrated") -> dict:
    """The cross-validated report: ``table`` (one row per judge), ``versus`` (paired differences),
    ``same_as_longest`` (share of pairs where its verdict is `longest`'s), ``length_weight_share``
    (of ``model``, the fit on all pairs, when given) and ``findings`` (sentences)."""
    p, use = cv_predictions(data, judges, folds=folds, C=C, seed=seed)
    pairs = data.pairs[use]
    human, la, lb = pairs["human"].to_numpy(), pairs["len_a"].to_numpy(), pairs["len_b"].to_numpy()
    verdicts = {name: verdicts_of(p)}
    for j in judges:
        verdicts[j.name] = verdicts_of(data.signals[f"{j.name}:p_a"].to_numpy()[use])
    verdicts["longest"], verdicts["shortest"] = length_verdicts(la, lb), length_verdicts(la, lb, "shorter")
    table = pd.DataFrame([judge_row(n, human, v, la, lb, seed=seed) for n, v in verdicts.items()])
    hits = {n: v == human for n, v in verdicts.items()}
    versus = {other: paired_difference(hits[name], hits[other], seed=seed) for other in verdicts if other != name}
    unequal = la != lb
    same = float((verdicts[name][unequal] == verdicts["longest"][unequal]).mean()) if unequal.any() else float("nan")
    report = {"judge": name, "folds": min(folds, len(human)), "n_pairs": int(use.sum()),
              "out_of_fold": pairs[["pair_id", "source"]].assign(p_a=p).reset_index(drop=True),
              "n_ties_left_out": int((data.pairs["human"] == "TIE").sum()), "table": table, "versus": versus,
              "same_as_longest": same,
              "length_weight_share": None if model is None else model.length_weight_share()}
    report["findings"] = findings(report, raw=[j.name for j in judges])
    return report


def record_out_of_fold(store, report: dict, *, identity=None, suffix: str = "-cv") -> str:
    """Store the report's out-of-fold P(A) as the judgments of judge ``<name>-cv[@digest]`` on its training
    pairs, so that the Agreement page shows the calibrated judge as one more row without reading
    verdicts it was fitted on; return that judge name."""
    from core.judges.base import side_of
    from core.schema import Judgment

    base, at, digest = report["judge"].partition("@")  # the suffix goes on the readable part of the key
    name = f"{base}{suffix}{at}{digest}"
    oof = report["out_of_fold"]
    store.add_judgments([Judgment(r.pair_id, name, side_of(float(r.p_a)), float(r.p_a), float(r.p_a), float(r.p_a),
                                  True, raw_ab="out of fold", raw_ba="out of fold") for r in oof.itertuples()])
    if identity is not None:  # what the row stands for, for the Agreement page's table of judges
        definition = {**json.loads(identity.to_json()), "out_of_fold": {"folds": report["folds"], "of": identity.key}}
        store.save_judge_definition(name, f"{identity.name}{suffix}", identity.digest,
                                    json.dumps(definition, sort_keys=True, ensure_ascii=False))
    store.warm_audit_snapshots(sorted(set(oof["source"])))
    return name


def findings(report: dict, *, raw: list[str]) -> list[str]:
    """Plain sentences: how it compares, whether it learned more than length, its length lean against people's."""
    name, table = report["judge"], report["table"].set_index("judge")
    me = table.loc[name]
    out = [f"Cross-validated ({report['folds']}-fold) on {report['n_pairs']} human-labelled pairs "
           f"({report['n_ties_left_out']} human ties left out): '{name}' agrees with people on "
           f"{me['agreement']:.1%} ({interval(me['ci95_low'], me['ci95_high'], spec='.1%')})"
           + ("." if me["ci95_low"] > 0.5 else ": not above chance (50%) beyond noise: no evidence, at this n, that "
              "the signals it reads carry anything it could use.")]
    for other in dict.fromkeys([*raw, *LENGTH_RULES]):
        v = report["versus"][other]
        lo, hi = v["ci95"]
        verb = ("beats" if v["difference"] > 0 else "is worse than") if v["beyond_noise"] else "is not different, beyond noise, from"
        out.append(f"It {verb} '{other}' ({table.loc[other, 'agreement']:.1%}): difference {v['difference']:+.1%} "
                   f"({interval(lo, hi, spec='+.1%', label='paired 95% CI')}).")
    out.append(length_rules_sentence(report))
    lo, hi = me["length_lean_ci95"]
    words = ("more often than people, beyond the margin of error" if lo > 0
             else "less often than people, beyond the margin of error" if hi < 0
             else "no different from people within the margin of error (difference "
                  f"{interval(lo, hi, spec='+.0%')})")
    out.append(f"Length: it prefers the longer answer {me['p_longer']:.0%} of the time "
               f"({interval(*me['p_longer_ci95'])}), people "
               f"{me['human_p_longer']:.0%}: {words}.")
    return out


def length_rules_sentence(report: dict) -> str:
    """Whether it learned more than length, from the paired comparisons with both length rules: more
    only when it beats both beyond noise; else which rule it does no better than (or is worse
    than), with its P(longer) beside people's."""
    name, table = report["judge"], report["table"].set_index("judge")
    me = table.loc[name]
    lean = f"it picks the longer answer on {me['p_longer']:.0%} of pairs, people on {me['human_p_longer']:.0%}"
    versus = {rule: report["versus"][rule] for rule in LENGTH_RULES}
    if all(v["beyond_noise"] and v["difference"] > 0 for v in versus.values()):
        return ("It learned more than length: it beats both length rules beyond noise ("
                + ", ".join(f"'{rule}' by {v['difference']:+.1%}" for rule, v in versus.items()) + f"); {lean}.")
    parts = []
    for rule, v in versus.items():
        scores = f"{me['agreement']:.1%} against {table.loc[rule, 'agreement']:.1%}"
        if not v["beyond_noise"]:
            parts.append(f"it does no better than the '{rule}' rule (always picking the {LENGTH_RULES[rule]} answer): "
                         f"{scores}, not different beyond noise")
        elif v["difference"] < 0:
            parts.append(f"it is worse than the '{rule}' rule beyond noise ({scores})")
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}: {lean}."


def learning_curve(data: TrainingSet, judges: list[RawJudge], sizes=(25, 50, 100, 200, 400), *, folds: int = 10,
                   repeats: int = 5, C: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """CV agreement against the number of human labels each fold's model was fitted on.

    A size above what a fold can train on becomes that maximum (``capped``). Per size, ``repeats``
    random subsets per fold; the agreement is the mean over repeats, its CI the bootstrap over pairs of
    each pair's hit rate across repeats."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        hits, n_train = [], None
        for r in range(repeats):
            p, use = cv_predictions(data, judges, folds=folds, C=C, seed=seed + r, train_size=size, rng=rng)
            human = data.pairs["human"].to_numpy()[use]
            hits.append(verdicts_of(p) == human)
            n_train = min(size, int(use.sum() - np.ceil(use.sum() / min(folds, use.sum()))))
        per_pair = np.mean(hits, axis=0)
        boot = per_pair[rng.integers(0, len(per_pair), size=(2000, len(per_pair)))].mean(axis=1)
        lo, hi = np.quantile(boot, [0.025, 0.975])
        rows.append({"requested": size, "train_labels": n_train, "capped": n_train < size,
                     "agreement": float(per_pair.mean()), "ci95_low": float(lo), "ci95_high": float(hi)})
        if n_train < size:
            break  # larger sizes would repeat the capped point
    return pd.DataFrame(rows)


