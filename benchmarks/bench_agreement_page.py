"""Time the first render of the Agreement & bias page on 100,000 labelled pairs (goal: 1.5 s).

    .venv/bin/python benchmarks/bench_agreement_page.py [--n 100000] [--goal 1.5] [--store FILE]

Fills a fresh store (a temp file; ``--store`` keeps it and reuses it when it exists) through
``core.store.Store``: pairs with realistic response lengths, one team label per pair
(three votes on 5% of them), and both-order verdicts of three judges (a local-model-like
judge that leans to length and to the first slot, ``longest`` and ``random``). Then it
renders dashboard/pages/audit.py with ``streamlit.testing`` AppTest, timing ``.run()``:

  first visit      the first render in this process after Streamlit's runtime is up: the page's
                   modules not yet imported, every st.cache_* empty; the audit snapshot kept in
                   the store by the last writer (an import or the judge stage) is there
  after a label    the same session after one new human label: the pairs and verdicts stay
                   cached, the labels are read again and the audit is redone
  cache emptied    st.cache_* cleared, imports warm, the kept snapshot read from the store
  worst case       st.cache_* cleared and the kept snapshot dropped: a store that no writer
                   warmed (written by an older version, say) is read row by row
  warm             the same session rerun, cache hit

and then the same calls the page makes, one by one, to show where the time goes.
The OS file cache is warm in every case (the store was just written or read).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATASET = "bench"
SOURCE = f"dataset:{DATASET}"
WORDS = ("the answer depends on context so first consider what you need then check each step carefully "
         "because small errors add up and a clear example helps more than a long list of caveats").split()


def fake_texts(rng: np.random.Generator, lengths: np.ndarray) -> list[str]:
    """Texts of the given character lengths, cut from one long run of words at random offsets."""
    corpus = " ".join(rng.choice(WORDS, 4000))
    corpus = (corpus + " ") * (int(lengths.max()) // len(corpus) + 2)
    starts = rng.integers(0, len(corpus) - int(lengths.max()), len(lengths))
    return [corpus[s:s + n] for s, n in zip(starts, lengths)]


def synthetic_pairs(n: int, rng: np.random.Generator):
    """ResponsePairs and a hidden quality signal (+1 A is better, -1 B, 0 a wash)."""
    from core.schema import ResponsePair

    len_a = np.clip(rng.lognormal(6.3, 0.8, n), 20, 4000).astype(int)  # median ~550 chars
    len_b = np.clip(rng.lognormal(6.3, 0.8, n), 20, 4000).astype(int)
    prompts = fake_texts(rng, np.clip(rng.lognormal(4.5, 0.6, n), 10, 600).astype(int))
    texts_a, texts_b = fake_texts(rng, len_a), fake_texts(rng, len_b)
    categories = rng.choice(["math", "coding", "advice", "factual", "creative", "safety", "reasoning",
                             "summarization", "brainstorming", "explanation"], n)
    models = np.array(["llama-2-7b", "mistral-7b", "pythia-6.9b", "smollm2-135m"])
    ma, mb = models[rng.integers(0, 4, n)], models[rng.integers(0, 4, n)]
    pairs = [ResponsePair(f"{DATASET}/{i:06d}", prompts[i], texts_a[i], texts_b[i], category=str(categories[i]),
                          model_a=str(ma[i]), model_b=str(mb[i])) for i in range(n)]
    signal = rng.choice([1.0, -1.0, 0.0], n, p=[0.45, 0.45, 0.10])
    return pairs, signal, len_a, len_b


def human_votes(signal: np.ndarray, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """One team vote per pair (85% follow the signal); 5% of pairs get two more raters."""
    n = len(signal)
    truth = np.where(signal > 0, "A", np.where(signal < 0, "B", "TIE"))
    noisy = rng.choice(["A", "B", "TIE"], n, p=[0.45, 0.45, 0.10])
    team = np.where(rng.random(n) < 0.85, truth, noisy)
    labels = [(f"{DATASET}/{i:06d}", "team", str(team[i])) for i in range(n)]
    for i in np.flatnonzero(rng.random(n) < 0.05):
        for rater in ("rater-2", "rater-3"):
            labels.append((f"{DATASET}/{i:06d}", rater, str(truth[i] if rng.random() < 0.8 else noisy[i])))
    return labels


def judgments_of(name: str, p_ab: np.ndarray, p_ba: np.ndarray):
    """Both-order Judgments (P(A better) per order, un-swapped), combined as core.judges does."""
    from core.schema import Judgment, Preference

    p_a = (p_ab + p_ba) / 2
    verdict = np.where(p_a > 0.5, "A", np.where(p_a < 0.5, "B", "TIE"))
    consistent = (p_ab > 0.5) == (p_ba > 0.5)
    return [Judgment(f"{DATASET}/{i:06d}", name, Preference(verdict[i]), float(p_a[i]), float(p_ab[i]),
                     float(p_ba[i]), bool(consistent[i]), tokens_in=900, tokens_out=1, seconds=0.05)
            for i in range(len(p_a))]


def judge_probabilities(signal, len_a, len_b, rng: np.random.Generator) -> dict[str, tuple]:
    n = len(signal)
    lean = np.tanh((len_a - len_b) / 600.0)
    local = [1 / (1 + np.exp(-(1.2 * signal + 0.9 * lean + shift + rng.normal(0, 1.0, n)))) for shift in (0.4, -0.4)]
    longest = np.where(len_a > len_b, 1.0, np.where(len_a < len_b, 0.0, 0.5))
    return {"local-judge": tuple(local), "longest": (longest, longest.copy()),
            "random": (rng.random(n), rng.random(n))}


def fill_store(path: Path, n: int, seed: int = 0):
    """A fresh store with ``n`` labelled pairs judged by three judges, then the sample workspace."""
    from core.data.sample_workspace import ensure_sample_workspace
    from core.store import Store

    rng = np.random.default_rng(seed)
    store = Store(path)
    pairs, signal, len_a, len_b = synthetic_pairs(n, rng)
    probabilities = judge_probabilities(signal, len_a, len_b, rng)
    first, *others = probabilities.items()
    store.import_dataset(DATASET, pairs, human_votes(signal, rng), judgments_of(first[0], *first[1]))
    for name, (p_ab, p_ba) in others:
        store.add_judgments(judgments_of(name, p_ab, p_ba))
    store.warm_audit_snapshots()  # as the judge stage does when it ends (core.loop.judging.label_pairs)
    ensure_sample_workspace(store)  # what any real store holds from the dashboard's first start
    return store


def start_streamlit() -> None:
    """Run a one-line script once: a server has its runtime up before its first visitor, so that
    start-up (component discovery, Streamlit's own imports) is not counted as the page's."""
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import streamlit as st\nst.write('up')").run()


def render_page():
    """One AppTest run of the agreement page on SOURCE; returns ((wall s, CPU s), AppTest)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "audit.py"), default_timeout=600)
    at.session_state["source"] = SOURCE
    with timed(rows := [], "render"):
        at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return rows[0][1:], at


def clear_caches() -> None:
    """Empty every st.cache_* the page reads through (dashboard/state.py)."""
    from dashboard import state

    for cached in (state.cached_audit, state._judged, state.get_store):
        cached.clear()


@contextmanager
def timed(rows: list, what: str):
    """Append (what, wall seconds, CPU seconds of this process, all threads) to ``rows``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    rows.append((what, time.perf_counter() - wall, time.process_time() - cpu))


def breakdown(store) -> list[tuple[str, float, float]]:
    """The page's calls in its order, outside Streamlit, grouped as SQL / audit / charts."""
    from core.audit.cost import costs_from_totals
    from core.audit.report import audit_source
    from core.human_labels.spot_checks import active_estimate
    from core.human_labels.with_verdicts import read_judged, with_labels
    from core.views import audit_charts as charts
    from core.views.agreement import summary_table
    from core.views.findings import findings

    rows: list = []
    with timed(rows, "SQL   source_names (the source list)"):
        store.source_names()
    with timed(rows, "SQL   source_version (change counters)"):
        store.source_version(SOURCE)
    with timed(rows, "SQL   audit_snapshot (kept in the store: pairs, verdicts, label costs)"):
        judged = read_judged(store, SOURCE)
    with timed(rows, "SQL   source_vote_codes (human votes as numbers)"):
        votes = store.source_vote_codes(SOURCE)
    with timed(rows, "audit with_labels (majority per pair, aligned)"):
        data = with_labels(judged, votes)
    reports = {}
    for name in sorted(data.verdicts):
        with timed(rows, f"audit {name}: audit_report(n_boot=1000)"):
            reports.update(audit_source(data, judges=[name], n_boot=1000))
    focus = next(iter(reports))
    with timed(rows, "audit findings + summary_table"):
        findings(reports[focus], baselines=reports)
        summary_table(reports)
    with timed(rows, "spot  active_estimate (re-reads labels and verdicts for the draws)"):
        active_estimate(store, SOURCE, focus)
    with timed(rows, "audit label costs per judge (sums from the snapshot)"):
        costs = costs_from_totals(judged["costs"])
    with timed(rows, "chart 7 plotly figures"):
        figures = [charts.agreement_figure(reports), charts.confusion_figure(reports[focus]),
                   charts.position_figure(reports), charts.p_longer_figure(reports),
                   charts.length_bucket_figure(reports), charts.calibration_figure(reports),
                   charts.cost_figure(costs)]
    with timed(rows, "chart figures to JSON (what st.plotly_chart sends)"):
        for fig in figures:
            fig.to_json()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="labelled pairs (default 100,000)")
    parser.add_argument("--goal", type=float, default=1.5, help="seconds for the first render (default 1.5)")
    parser.add_argument("--store", type=Path, help="keep the store here (reused when it exists)")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="bench-agreement-")
    path = args.store or Path(tmp.name) / "store.sqlite"
    os.environ["RLAIF_AUDIT_STORE"] = str(path)
    os.environ.setdefault("RLAIF_AUDIT_CACHE", str(Path(tmp.name) / "cache"))
    if not path.exists():
        start = time.perf_counter()
        fill_store(path, args.n)
        print(f"filled {path} with {args.n:,} pairs in {time.perf_counter() - start:.1f} s "
              f"({path.stat().st_size / 2**20:.0f} MiB)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time grows with it, CPU time hardly")
    from core.store import Store

    store = Store(path)
    start_streamlit()
    first, at = render_page()
    shown = at.metric[0].value
    with timed(rows := [], "warm"):
        at.run()
    warm = rows[0][1:]
    store.set_human_label(f"{DATASET}/000000", "bench-annotator", "A")  # what the Spot-check page does
    with timed(rows := [], "after a label"):
        at.run()
    after_label = rows[0][1:]
    clear_caches()
    cold_cache, _ = render_page()
    clear_caches()
    store.clear_audit_snapshots()
    unbuilt, _ = render_page()
    print(f"pairs with a human label and a verdict (as shown): {shown}; charts: {len(at.get('plotly_chart'))}")
    for what, (wall, cpu) in (
            ("first visit after the server started (page code and caches cold)", first),
            ("the same page after a new human label (labels re-read, audit redone)", after_label),
            ("any visit with st.cache_* emptied (kept snapshot read from the store)", cold_cache),
            ("worst case: cache empty AND no kept snapshot (a store no writer warmed)", unbuilt),
            ("warm rerun (cache hit)", warm)):
        verdict = "meets" if wall <= args.goal else "MISSES"
        print(f"{what:<74} {wall:5.2f} s wall ({cpu:5.2f} s CPU)  {verdict} the {args.goal:g} s goal")
    from dashboard.state import get_store

    print("\nwhere the time goes (the page's calls outside Streamlit, warm imports):   wall s    CPU s")
    rows = breakdown(get_store())
    for what, wall, cpu in rows:
        print(f"  {what:<72} {wall:6.3f}  {cpu:6.3f}")
    for group in ("SQL", "audit", "spot", "chart"):
        wall, cpu = (sum(r[k] for r in rows if r[0].startswith(group)) for k in (1, 2))
        print(f"  {'total ' + group:<72} {wall:6.3f}  {cpu:6.3f}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
