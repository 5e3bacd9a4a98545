"""Fast local judging against generate-and-parse, on the same model and the same human-labelled pairs.

Both judges see every pair in both orders. The fast judge (``core/judges/local.py``) reads
P(A)/P(B) or a per-response Yes/No score from a few packed forward passes over the prompts'
shared prefix tree, and generates no text; the generate-and-parse judge
(``core/judges/generate_parse.py``) generates its answer greedily and parses "A" or "B".
Prints pairs per second for both, their ratio, and agreement with the human label (ties in
the human label are left out; a TIE or INVALID verdict counts as a miss).

    python benchmarks/bench_local_judge.py [--n 48] [--threads 1] [--fast-methods letters,pointwise]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.judges import judge_pairs  # noqa: E402
from core.judges.generate_parse import GenerateParseJudge  # noqa: E402
from core.judges.local import LocalJudge, read_principles  # noqa: E402
from core.schema import ResponsePair  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "human" / "pandalm_testset_v1.jsonl"
PRINCIPLES = Path(__file__).resolve().parents[1] / "core" / "judges" / "constitution.txt"


def load_pairs(path: Path, n: int) -> tuple[list[ResponsePair], list[str]]:
    """The first ``n`` pairs whose human label has a winner, and those labels ('A'/'B')."""
    pairs, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["human_preferred"] == "tie":
            continue
        pairs.append(ResponsePair(str(row["id"]), row["prompt"], row["response_a"], row["response_b"]))
        labels.append(row["human_preferred"].upper())
        if len(pairs) == n:
            break
    return pairs, labels


def measure(judge, pairs, labels) -> dict:
    judge_pairs(judge, pairs[:2])  # warm-up: first-call allocations are not judging speed
    t0, c0 = time.perf_counter(), time.process_time()
    judgments = judge_pairs(judge, pairs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    both = [j.consistent for j in judgments if j.consistent is not None]
    return {
        "judge": judge.name, "pairs_per_s": len(pairs) / seconds, "seconds": seconds, "cpu_seconds": cpu,
        "agreement": sum(j.verdict.value == h for j, h in zip(judgments, labels)) / len(labels),
        "decided": sum(j.verdict.value in ("A", "B") for j in judgments) / len(labels),
        "consistent": sum(both) / len(both) if both else float("nan"),
        "tokens_in": sum(j.tokens_in for j in judgments) / len(judgments),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48, help="pairs with a human winner (PandaLM test set)")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--fast-methods", default="pointwise,letters")
    ap.add_argument("--batch-size", type=int, default=1,
                    help="generate-and-parse (and fast likelihood): prompts per call. 1 is its fastest on a CPU: "
                         "a left-padded batch computes the padding, under a masked (not causal) attention kernel")
    ap.add_argument("--pass-tokens", type=int, default=2048, help="fast judge: tokens per packed forward pass")
    ap.add_argument("--max-new-tokens", type=int, default=4, help="generate-and-parse: longest answer")
    ap.add_argument("--max-response-chars", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--data", type=Path, default=DATA, help="human-labelled pairs JSONL")
    args = ap.parse_args(argv)

    import torch

    from core.models import load_policy, load_tokenizer, resolve_model

    if args.threads:
        torch.set_num_threads(args.threads)
    path = resolve_model(args.model)
    model, tokenizer = load_policy(path), load_tokenizer(path)
    principles = read_principles(PRINCIPLES)
    pairs, labels = load_pairs(args.data, args.n)
    load_before = os.getloadavg()[0]
    common = {"batch_size": args.batch_size, "max_response_chars": args.max_response_chars}
    slow = measure(GenerateParseJudge(model, tokenizer, principles, name="generate-and-parse",
                                      max_new_tokens=args.max_new_tokens, **common), pairs, labels)
    rows = [slow] + [measure(LocalJudge(model, tokenizer, principles, method=m, name=f"fast-{m}",
                                        pass_tokens=args.pass_tokens, **common), pairs, labels)
                     for m in args.fast_methods.split(",")]
    print(f"model {args.model}, {len(pairs)} pairs with a human winner from {args.data.name}, both orders, "
          f"generate batch {args.batch_size}, fast passes of {args.pass_tokens} tokens, "
          f"{torch.get_num_threads()} CPU threads; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after")
    print(f"{'judge':20} {'pairs/s':>8} {'wall_s':>7} {'cpu_s':>7} {'agree':>6} {'decided':>7} {'consist':>7} "
          f"{'tok_in':>7}")
    for r in rows:
        print(f"{r['judge']:20} {r['pairs_per_s']:8.3f} {r['seconds']:7.1f} {r['cpu_seconds']:7.1f} "
              f"{r['agreement']:6.3f} {r['decided']:7.3f} {r['consistent']:7.3f} {r['tokens_in']:7.0f}")
    for r in rows[1:]:
        print(f"ratio {r['judge']} / {slow['judge']}: {r['pairs_per_s'] / slow['pairs_per_s']:.1f}x pairs/s "
              f"({slow['cpu_seconds'] / r['cpu_seconds']:.1f}x in CPU time), "
              f"agreement {r['agreement']:.3f} vs {slow['agreement']:.3f}")


if __name__ == "__main__":
    main()
