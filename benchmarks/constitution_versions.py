"""Constitution versions of the embedded judge, measured on held-out pairs people labelled.

The protocol the Constitution page enforces, run from the command line on sample_data/human/: the
labelled pairs of each set are split once (seeded) into a tuning part and a held-out part; the
packaged constitution (``default@1``) judges both parts; its faults are read on the tuning part
only; two edited versions written against those faults judge the held-out part; every version is
compared with ``default@1`` on the same held-out pairs (paired 95% CIs, exact McNemar, and the
Bonferroni / Holm correction for comparing two versions on the same pairs). What each version
cost is the judge's own recorded seconds per pair (both orders), and the wall time of the run.

    python benchmarks/constitution_versions.py [--pandalm 300] [--per-principle llmbar] [--store FILE]

Verdicts are cached in the store file, so a rerun judges nothing twice and only reprints.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.store import Store  # noqa: E402

DATA = ROOT / "sample_data" / "human"
DEFAULT_STORE = ROOT / ".rlaif" / "bench_constitution.sqlite"
DATASETS = {"pandalm": "pandalm_testset_v1.jsonl", "llmbar": "llmbar_natural.jsonl"}
HELD_OUT = {"pandalm": 0.5, "llmbar": 0.6}  # LLMBar has 100 pairs: 60 held out, 40 to read faults on

# Written after reading default@1's faults on the tuning parts (printed first by this script): it
# picks the longer answer more often than people do, and it answers "A" whatever the order.
EDITS = [
    ("Length rule: the audit found the judge prefers the longer answer more often than people do. Say that "
     "length is not quality, and drop the completeness rule that rewards length.",
     "# Edited against the length bias the audit found on the tuning pairs.\n"
     "- Length is not quality: never prefer a response because it is longer or more detailed; judge only what it says.\n"
     "- Helpfulness: prefer the response that actually answers the user's question.\n"
     "- Honesty: prefer the response that is factually correct and does not invent facts.\n"
     "- Instruction following: prefer the response that follows the user's instructions exactly, including any "
     "requested format and length.\n"
     "- Concision: when both responses are equally correct, prefer the shorter one.\n"
     "- No filler: prefer the response without padding, repetition or restating of the question.\n"),
    ("Order and instructions: the judge gives the same letter whatever the order (position consistency near 0). "
     "Tell it the order means nothing, and put instruction following first.",
     "# Edited against the position bias and for instruction following.\n"
     "- The order of the two responses means nothing: Response A is not better because it is shown first.\n"
     "- Instruction following first: prefer the response that does exactly what the instruction asks, even if "
     "the other one sounds better.\n"
     "- Correctness: prefer the response without factual errors.\n"
     "- Length is not quality: a longer response is not better for being longer.\n"),
]


def prepare(store, name: str, n_pairs: int | None) -> str:
    from core.data.importers import import_pairs_frame
    from core.data.pairs_file import read_pairs_jsonl
    from core.human_labels.splits import ensure_split

    source = f"dataset:{name}"
    if source not in store.source_names():
        frame = read_pairs_jsonl(DATA / DATASETS[name])
        import_pairs_frame(store, frame if n_pairs is None else frame.head(n_pairs), dataset=name)
    ensure_split(store, source, fraction=HELD_OUT[name])
    return source


def edited_versions(store) -> list[str]:
    """default@1 and the edited versions, saved once (found again by their text on a rerun)."""
    from core.judges.constitutions import ensure_default, save_version, versions_of_text
    from core.judges.local import principles_text

    ensure_default(store)
    refs = ["default@1"]
    for note, text in EDITS:
        found = [r for r in versions_of_text(store, principles_text(text)) if r.startswith("default@")]
        refs.append(found[0] if found else f"default@{save_version(store, 'default', text, author='benchmark', note=note, base_version=1)}")
    return refs


def judge_part(store, source: str, cfg, part: str | None, label: str) -> dict:
    """Judge the pairs of ``part`` (None: all labelled) with ``cfg``; wall seconds and judge seconds."""
    from tqdm import tqdm

    from core.human_labels.constitution_compare import read_split
    from core.judges import make_judge
    from core.loop.judging import label_pairs
    from core.schema import to_response_pairs

    split = read_split(store, source)
    mask = (split.human != 3) if part is None else split.mask(part)
    ids = set(split.data.pairs["pair_id"].to_numpy()[mask])
    frame = store.source_pairs_frame(source)
    pairs = to_response_pairs(frame[frame["pair_id"].isin(ids)])
    t0 = time.perf_counter()
    judge = make_judge(cfg, store=store)
    try:
        with tqdm(total=len(pairs), desc=label, file=sys.stderr) as bar:
            judged = label_pairs(store, judge, pairs, progress=bar.update)
    finally:
        judge.close()
    wall = time.perf_counter() - t0
    rows = store.source_judgments(source, judge.name)
    rows = rows[rows["pair_id"].isin(ids)]
    print(f"{label}: {len(pairs)} pairs, {judged} judged now in {wall:.0f} s wall; judge time "
          f"{rows['seconds'].sum():.0f} s ({rows['seconds'].mean():.2f} s per pair, both orders)",
          file=sys.stderr, flush=True)
    return {"pairs": len(pairs), "judged_now": judged, "wall_s": wall, "judge_s": float(rows["seconds"].sum()),
            "judge_s_per_pair": float(rows["seconds"].mean())}


def markdown(table) -> str:
    """A DataFrame as a markdown table (numbers to 3 places), ready to paste into the docs."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in table.itertuples(index=False)]
    head = "| " + " | ".join(map(str, table.columns)) + " |\n|" + "---|" * len(table.columns)
    return head + "".join("\n| " + " | ".join(row) + " |" for row in cells)


def faults(store, source: str, cfg) -> list[str]:
    from core.human_labels.constitution_compare import audit_subset, read_split
    from core.human_labels.splits import TUNING
    from core.judges.identity import judge_identity
    from core.views.findings import bias_findings, findings

    split = read_split(store, source)
    report = audit_subset(split, judge_identity(cfg).key, split.mask(TUNING), n_boot=2000, seed=0)
    return findings(report)[:1] + bias_findings(report)


def timing(store, source: str, base, refs: list[str], n: int, *, chunk: int = 5) -> dict[str, float]:
    """Seconds per pair (both orders) of each version on the same ``n`` held-out pairs, judged afresh
    (``judge_pairs`` reads and writes no store) in interleaved chunks, so every version meets the same load."""
    from core.human_labels.constitution_compare import read_split
    from core.human_labels.splits import HELDOUT
    from core.judges import judge_pairs, make_judge
    from core.judges.constitutions import with_version
    from core.schema import to_response_pairs

    split = read_split(store, source)
    ids = set(split.data.pairs["pair_id"].to_numpy()[split.mask(HELDOUT)][:n])
    frame = store.source_pairs_frame(source)
    pairs = to_response_pairs(frame[frame["pair_id"].isin(ids)])
    judges = {ref: make_judge(with_version(base, ref, store), store=store) for ref in refs}  # judge_pairs stores nothing
    spent = dict.fromkeys(refs, 0.0)
    try:
        for start in range(0, len(pairs), chunk):
            for ref, judge in judges.items():
                t0 = time.perf_counter()
                judge_pairs(judge, pairs[start:start + chunk])
                spent[ref] += time.perf_counter() - t0
    finally:
        for judge in judges.values():
            judge.close()
    return {ref: spent[ref] / len(pairs) for ref in refs}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pandalm", type=int, default=300, help="PandaLM pairs to use (of 945), from the start")
    ap.add_argument("--datasets", default="llmbar,pandalm")
    ap.add_argument("--per-principle", default="", help="datasets whose tuning part default@1 judges one principle "
                    "at a time (9 judges: about 9x the judge time of that part)")
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--timing", type=int, default=0, help="also time every version afresh on this many held-out "
                    "pairs of each set, interleaved (seconds per pair, and the ratio to default@1, from one run)")
    ap.add_argument("--judge", default="embedded", help="'embedded' (SmolLM2-135M, letters) or a judge YAML")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from core.human_labels.constitution_compare import compare_versions, principle_stats
    from core.human_labels.splits import HELDOUT, TUNING
    from core.judges import judge_config_from
    from core.judges.constitutions import principle_configs, with_version
    from core.runs.judge_jobs import judge_spec
    from core.views.constitution import principle_table
    from core.views.constitution_compare import _multiple_sentence, _sentences, _table

    args.store.parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.store)
    base = judge_config_from(judge_spec(args.judge))
    refs = edited_versions(store)
    results = {"date": time.strftime("%Y-%m-%d"), "load": os.getloadavg(), "cpus": os.cpu_count(), "sets": {}}
    for name in args.datasets.split(","):
        source = prepare(store, name, args.pandalm if name == "pandalm" else None)
        cost = {"default@1": judge_part(store, source, with_version(base, "default@1", store), None,
                                        f"{name} default@1 (both parts)")}
        print(f"\n## {name}: faults of default@1 on the tuning part\n" + "\n".join(f"- {s}" for s in
              faults(store, source, with_version(base, "default@1", store))))
        for ref in refs[1:]:
            cost[ref] = judge_part(store, source, with_version(base, ref, store), HELDOUT, f"{name} {ref} (held-out)")
        data = compare_versions(store, source, base, "default", baseline=1, n_boot=args.n_boot)
        table = _table(data)
        print(f"\n## {name}: versions on {data['n'][HELDOUT]} held-out pairs (tuning: {data['n'][TUNING]})")
        print(markdown(table))
        print("\n".join(_sentences(data) + [_multiple_sentence(data)]))
        entry = {"comparison": table.to_dict("records"), "sentences": _sentences(data),
                 "multiple": _multiple_sentence(data), "cost": cost}
        if name in args.per_principle.split(","):
            whole = with_version(base, "default@1", store)
            for i, (_, cfg) in enumerate(principle_configs(whole, store), start=1):
                cost[f"default@1 principle {i}"] = judge_part(store, source, cfg, TUNING, f"{name} principle {i}")
            stats = principle_table(principle_stats(store, source, base, "default@1", TUNING, n_boot=args.n_boot))
            print(f"\n## {name}: each principle of default@1 alone, tuning part\n{markdown(stats)}")
            entry["principles"] = stats.to_dict("records")
        if args.timing:
            per_pair = timing(store, source, base, refs, args.timing)
            print(f"\n## {name}: judge time afresh on {args.timing} held-out pairs, interleaved (load "
                  f"{os.getloadavg()[0]:.1f}): " + "; ".join(f"{ref} {s:.2f} s per pair ({s / per_pair['default@1']:.2f}x)"
                                                          for ref, s in per_pair.items()))
            entry["timing"] = per_pair
        results["sets"][name] = entry
    out = args.store.with_suffix(".json")
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nresults: {out}; cached verdicts: {args.store}")


if __name__ == "__main__":
    main()
