"""Every sentence the tool writes about a judge or a run is true, also for a judge at chance or one that
only follows length. Judges are real ``Judge`` backends run through ``judge_pairs`` into a real SQLite
store; the monitor reads metrics a run wrote to the same store."""
from __future__ import annotations

import numpy as np
import pytest

from core.human_labels.with_verdicts import source_audit
from core.judges import judge_pairs, make_judge
from core.judges.base import Judge
from core.schema import Judgment, OrderReading, Preference, ResponsePair
from core.store import Store
from core.views.costs import cost_sentence, source_costs
from core.views.findings import at_chance, findings
from core.views.report_html import build_report_html
from core.views.text_report import format_report
from core.views.training_monitor import length_reading, training_metrics

N_PAIRS = 400


class ScriptedJudge(Judge):
    """A backend whose P(first shown is better) is ``read(pair index, A shown first, len first, len second)``."""

    def __init__(self, name: str, read):
        self.name, self.read = name, read

    def read_orders(self, items, progress=None):
        out = [OrderReading(p_first=self.read(int(item.prompt[1:]), item.first.startswith("A"), len(item.first),
                                              len(item.second))) for item in items]
        if progress:
            progress(len(items))
        return out


def coin(seed: int = 0) -> ScriptedJudge:
    """Chance level, and says so: P(first better) is 0.5 +- 0.03 at random, so it never leaves 45-55%."""
    noise = np.random.default_rng(seed).uniform(-0.03, 0.03, size=(N_PAIRS, 2))
    return ScriptedJudge(f"coin{seed}", lambda i, a_first, lf, ls: 0.5 + noise[i, int(a_first)])


def verbose() -> ScriptedJudge:
    """Follows length only, confidently: 85% for whichever answer is longer."""
    return ScriptedJudge("verbose", lambda i, a_first, lf, ls: 0.85 if lf > ls else 0.15)


def terse() -> ScriptedJudge:
    """Follows length inverted, confidently: 85% for whichever answer is shorter."""
    return ScriptedJudge("terse", lambda i, a_first, lf, ls: 0.15 if lf > ls else 0.85)


def flippy() -> ScriptedJudge:
    """Random sides; keeps its side when the order is swapped on 55% of pairs, else keeps the slot."""
    side_a = np.random.default_rng(7).random(N_PAIRS) < 0.5

    def read(i, a_first, lf, ls):
        likes_first = side_a[i] if a_first else not side_a[i]
        if not a_first and i % 20 >= 11:  # inconsistent: the swapped order picks the same slot as the first
            likes_first = side_a[i]
        return 0.9 if likes_first else 0.1
    return ScriptedJudge("flippy", read)


def labelled_source(store, *, humans: str, seed: int = 0) -> str:
    """N_PAIRS pairs of unequal length with one person's label each: ``humans='independent'`` of length,
    or ``'partly'`` length-following (the longer answer preferred 70% of the time)."""
    rng = np.random.default_rng(seed)
    lengths = rng.choice(np.arange(30, 900), size=(N_PAIRS, 2), replace=True)
    lengths[:, 1] += lengths[:, 0] == lengths[:, 1]
    pairs = [ResponsePair(f"{humans}/{i}", f"q{i}", "A" * la, "B" * lb) for i, (la, lb) in enumerate(lengths)]
    store.add_pairs(pairs, dataset=humans)
    longer_a = lengths[:, 0] > lengths[:, 1]
    picks_longer = rng.random(N_PAIRS) < (0.5 if humans == "independent" else 0.7)
    for pair, a_longer, longer in zip(pairs, longer_a, picks_longer):
        store.set_human_label(pair.pair_id, "ann", "A" if a_longer == longer else "B")
    for judge in (coin(0), coin(1), verbose(), terse(), flippy(), make_judge("random"), make_judge("longest")):
        store.add_judgments(judge_pairs(judge, pairs))
    return f"dataset:{humans}"


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("independent") / "store.sqlite")
    return source_audit(store, labelled_source(store, humans="independent"), n_boot=400)


@pytest.fixture(scope="module")
def partly(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("partly") / "store.sqlite")
    return source_audit(store, labelled_source(store, humans="partly"), n_boot=400)


def said(reports: dict, judge: str, start: str) -> str:
    """The finding about ``judge`` that begins with ``start``."""
    hits = [s for s in findings(reports[judge], baselines=reports) if s.startswith(start)]
    assert len(hits) == 1, (start, findings(reports[judge], baselines=reports))
    return hits[0]


# -- agreement -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("judge", ["coin0", "random"])
def test_a_chance_level_judge_is_said_to_be_no_better_than_chance(independent, judge):
    sentence = said(independent, judge, "Agreement with humans")
    assert "no better than chance: the interval includes 0" in sentence
    assert not any(word in sentence for word in ("slight", "fair", "moderate", "substantial"))


def test_a_length_judge_is_better_than_chance_where_people_follow_length_but_no_better_than_the_rule(partly):
    sentence = said(partly, "verbose", "Agreement with humans")
    assert "no better than chance" not in sentence  # people partly follow length, so length does beat chance
    rule = said(partly, "verbose", "Against the 'longest' yardstick")
    assert "it is no better than picking the longer answer" in rule
    assert "its verdict is the same as that rule's on 100% of pairs" in rule
    assert partly["verbose"]["length_yardsticks"]["longest"]["difference_ci95"] == [0.0, 0.0]


def test_a_length_judge_on_length_blind_labels_is_chance_and_the_longer_answer(independent):
    assert "no better than chance" in said(independent, "verbose", "Agreement with humans")
    assert "no better than picking the longer answer" in said(independent, "verbose", "Against the 'longest'")
    length = said(independent, "verbose", "Length:")
    assert "MORE length-biased" in length and "likely to reward length" in length and " will " not in length


def test_a_chance_judge_does_not_beat_the_longer_answer_where_people_follow_length(partly):
    rule = said(partly, "coin0", "Against the 'longest' yardstick")
    assert "so it is worse than picking the longer answer." in rule


def test_a_length_yardstick_is_not_compared_with_itself(partly):
    report = partly["longest"]
    assert list(report["length_yardsticks"]) == ["shortest"]
    said_ = findings(report, baselines=partly)
    assert not any("'longest'" in s for s in said_), said_
    assert sum(s.startswith("Against the 'shortest' yardstick") for s in said_) == 1
    assert "vs longest rule" not in format_report(report) and "vs shortest rule" in format_report(report)
    # every other judge is still measured against both rules
    assert list(partly["verbose"]["length_yardsticks"]) == ["longest", "shortest"]


def test_findings_name_judges_as_every_page_does(partly):
    """A judge key's hash is dropped unless two keys share a readable name."""
    renamed = {("smollm2-135m-letters@e318d926" if k == "verbose" else k): v for k, v in partly.items()}
    said_ = " ".join(findings(renamed["coin0"], baselines=renamed))
    assert "'smollm2-135m-letters'" in said_ and "e318d926" not in said_
    twice = {**renamed, "smollm2-135m-letters@0000aaaa": renamed["coin1"]}
    said_ = " ".join(findings(twice["coin0"], baselines=twice))
    assert "'smollm2-135m-letters (e318d926)'" in said_ and "'smollm2-135m-letters (0000aaaa)'" in said_


def test_two_chance_judges_are_not_said_to_beat_one_another(independent):
    sentence = said(independent, "coin0", "Against the 'coin1' judge")
    assert "the two 95% CIs overlap" in sentence and "beats" not in sentence
    # the random yardstick says TIE on every pair whose orders disagree, which these people never do
    random = said(independent, "coin0", "Against the 'random' yardstick")
    assert "beats it" in random and "neither is better than chance, so the gap is not skill" in random


# -- calibration ---------------------------------------------------------------------------------------

def test_a_judge_always_near_50_percent_is_calibrated_but_uninformative(independent):
    report = independent["coin0"]
    assert report["ece"] <= 0.05 and report["calibration"]["decisive_share"] == 0.0
    sentence = said(independent, "coin0", "Calibration")
    assert "calibrated but uninformative" in sentence
    assert "left 45–55% on only 0% of pairs" in sentence and "no better than chance" in sentence
    assert not any("face value" in s for s in findings(report, baselines=independent))


@pytest.mark.parametrize("judge", ["random", "verbose"])
def test_a_confident_judge_at_chance_has_confidence_that_carries_no_information(independent, judge):
    sentence = said(independent, judge, "Calibration")
    assert "no better than chance (κ's 95% interval includes 0): its confidence carries no usable information" \
        in sentence
    assert "face value" not in sentence and "calibrated but" not in sentence


def test_a_judge_worse_than_chance_is_called_inverted_not_uninformative(partly):
    """Where people prefer the longer answer 70% of the time, a judge for the shorter one has κ wholly below
    0: its confidence carries information, pointing the wrong way."""
    report = partly["terse"]
    assert report["agreement_detail"]["cohen_kappa_ci95"][1] < 0
    agreement = said(partly, "terse", "Agreement with humans")
    assert "worse than chance" in agreement and "no better than chance" not in agreement
    sentence = said(partly, "terse", "Calibration")
    assert "worse than chance (κ's 95% interval is wholly below 0). Its verdicts are informative but inverted" \
        in sentence
    assert "no usable information" not in sentence and "no better than chance" not in sentence
    html = build_report_html(partly, source="dataset:partly", focus="terse")
    assert "<b>Worse than chance.</b>" in html and "<b>No better than chance.</b>" not in html
    assert "<- worse than chance" in format_report(report)
    # a judge at chance that beats it is told the gap is not skill, and which of the two is inverted
    assert "coin0" not in [j for j in partly if not at_chance(partly[j])]
    versus = said(partly, "coin0", "Against the 'terse' judge")
    assert "beats it" in versus and "neither is better than chance ('terse' worse than chance: inverted)" in versus


def test_a_useful_judge_gets_the_plain_calibration_sentence(partly):
    sentence = said(partly, "verbose", "Calibration")
    assert "more than 55% sure either way on 100% of pairs" in sentence and "uninformative" not in sentence


# -- position ------------------------------------------------------------------------------------------

def test_order_dependence_is_claimed_only_when_it_is_the_majority(independent):
    report = independent["flippy"]
    assert report["position_consistency"] == pytest.approx(0.55)
    sentence = said(independent, "flippy", "Position")
    assert "more often than not" not in sentence and "strong position bias" not in sentence
    assert "no clear lean to either slot" in sentence


# -- the text report, the HTML report ------------------------------------------------------------------

def test_the_text_report_marks_chance_and_the_length_rule(independent):
    assert "<- no better than chance" in format_report(independent["coin0"])
    text = format_report(independent["verbose"])
    assert "vs longest rule" in text and "<- no better; same verdict on 1.000" in text


def test_the_html_report_warns_that_a_chance_judge_is_no_better_than_chance(independent):
    html = build_report_html(independent, source="dataset:independent", focus="coin0")
    assert "<b>No better than chance.</b>" in html and "face value" not in html
    assert "calibrated but uninformative" in html


# -- the cost sentence ---------------------------------------------------------------------------------

def test_a_judge_that_spent_unpriced_tokens_is_not_called_free(store):
    store.add_pairs([ResponsePair("p0", "q0", "a", "bb")], dataset="d")
    store.add_judgments([Judgment("p0", "api", Preference.A, None, None, None, None, tokens_in=900,
                                  tokens_out=3, seconds=1.0)])
    sentence = cost_sentence("api", source_costs(store, "dataset:d")["api"])
    assert "cost nothing" not in sentence
    assert "used 903,000 tokens, whose money cost is not counted because no token prices are set" in sentence


# -- the training monitor ------------------------------------------------------------------------------

def ppo_run(store, tokens, scores) -> str:
    run_id = store.create_run({"name": "m"}, name="m")
    for step, (t, s) in enumerate(zip(tokens, scores), start=1):
        store.add_metrics(run_id, 0, "ppo", step, {"response/mean_tokens": t, "objective/scores": s})
    return run_id


def test_flat_noisy_lengths_read_as_no_change_beyond_noise(store):
    rng = np.random.default_rng(3)
    tokens = 50 + rng.normal(0, 8, size=16)
    tokens[0], tokens[-1] = 42, 58  # the first and last update alone would say +38%
    scores = rng.normal(0, 0.3, size=16)
    scores[0], scores[-1] = -0.2, 0.3
    reading = length_reading(training_metrics(store, ppo_run(store, tokens, scores))["ppo"])
    assert "Mean response length: " in reading and ": no change beyond noise (" in reading
    assert "The reward model's score went from" in reading and reading.count("no change beyond noise") == 2
    assert "longer" not in reading


def test_a_clear_length_trend_reads_as_longer(store):
    rng = np.random.default_rng(4)
    tokens = np.linspace(40, 120, 16) + rng.normal(0, 3, size=16)
    scores = np.linspace(0, 2, 16) + rng.normal(0, 0.1, size=16)
    reading = length_reading(training_metrics(store, ppo_run(store, tokens, scores))["ppo"])
    assert "answers got longer (+" in reading and "beyond 2 standard errors" in reading
    assert "it rose beyond noise" in reading and "The policy is getting longer as the reward rises" in reading


def test_a_longer_policy_with_a_flat_reward_is_not_said_to_be_rewarded_for_it(store):
    rng = np.random.default_rng(5)
    tokens = np.linspace(40, 120, 16) + rng.normal(0, 3, size=16)
    reading = length_reading(training_metrics(store, ppo_run(store, tokens, rng.normal(0, 0.3, size=16)))["ppo"])
    length, reward = reading.split("The reward model's score")
    assert "answers got longer" in length and ": no change beyond noise (" in reward
    assert "reward rises" not in reading


def test_three_updates_are_too_few_to_call_a_change(store):
    reading = length_reading(training_metrics(store, ppo_run(store, [20, 30, 45], [0.1, 0.5, 0.9]))["ppo"])
    assert "too few to tell a change from noise" in reading and "getting longer" not in reading


# -- the verbosity-gaming panel ------------------------------------------------------------------------

def test_the_gaming_panel_says_no_length_change_when_lengths_are_flat(store):
    from core.views.gaming_panel import gaming_panel
    from tests.gaming_helpers import rollouts, write_round

    run_id = store.create_run({"name": "flat"}, name="flat")
    write_round(store, run_id, rollouts(lambda n, t, rng: rng.normal(size=n.size), steps=8, growth=0))
    reading = gaming_panel(store, run_id).reading
    assert "no change in length beyond noise" in reading and "% longer" not in reading


def test_over_optimisation_from_a_few_spot_checks_is_only_a_possibility(store):
    from core.views.gaming_panel import gaming_panel
    from tests.gaming_helpers import gaming_run

    run_id = gaming_run(store, steps=6)
    at_step_6 = [p for p in store.pairs_frame(dataset=f"ppo-eval/{run_id}").pair_id if "/s6/" in p][:2]
    for pair_id, label in zip(at_step_6, ["A", "B"]):
        store.set_human_label(pair_id, "ann", label)
    reading = gaming_panel(store, run_id).reading
    assert "50% by people (2 spot-checked pairs, 95% CI " in reading
    assert "may be being over-optimised" in reading and "is being over-optimised" not in reading


def capped_run(store, *, steps: int = 8, batch: int = 8, cap: int = 48, at_cap: int = 8) -> str:
    """A PPO round whose rollouts (``at_cap`` of each batch) stop at ``ppo.response_length``: the length
    reads flat because it cannot grow, not because the policy did not lengthen its answers."""
    rng = np.random.default_rng(9)
    run_id = store.create_run({"name": "capped", "ppo": {"response_length": cap}}, name="capped")
    for step in range(1, steps + 1):
        tokens = [cap] * at_cap + [int(n) for n in rng.integers(cap // 2, cap, size=batch - at_cap)]
        store.add_ppo_samples(run_id, 0, step, [{"prompt": "q", "response": "w " * n, "score": 0.1 * step,
                                                 "n_tokens": n, "n_chars": 2 * n} for n in tokens])
        store.add_metrics(run_id, 0, "ppo", step, {"response/mean_tokens": float(np.mean(tokens)),
                                                   "objective/scores": float(rng.normal(0, 0.3))})
    return run_id


def test_lengths_at_the_cap_read_as_hidden_growth_not_as_no_change(store):
    from core.views.training_monitor import length_cap, read_length

    run_id = capped_run(store)
    cap = length_cap(store, run_id)
    assert cap == {"cap": 48, "n": 64, "at_cap": 64}
    reading = read_length(training_metrics(store, run_id)["ppo"], cap=cap)
    assert reading.warning and ": no change beyond noise (" in reading.text
    assert "64 of 64 rollouts (100%) stopped at the length cap (ppo.response_length = 48 tokens)" in reading.text
    assert "the cap hides growth" in reading.text
    # three of eight at the cap is not most: the reading stands as it was
    few = capped_run(store, at_cap=3)
    assert length_cap(store, few)["at_cap"] == 24
    assert "cap" not in length_reading(training_metrics(store, few)["ppo"], cap=length_cap(store, few))
    assert "cap" not in length_reading(training_metrics(store, run_id)["ppo"])  # no rollouts given: nothing claimed


def test_half_the_rollouts_at_the_cap_is_enough_to_say_so(store):
    from core.views.training_monitor import cap_hides_growth, length_cap

    assert cap_hides_growth(length_cap(store, capped_run(store, at_cap=4)))
    assert not cap_hides_growth(length_cap(store, capped_run(store, at_cap=3)))
    assert not cap_hides_growth(None)


def test_the_gaming_panel_and_the_report_say_the_cap_hides_growth(store):
    from core.views.gaming_panel import gaming_panel
    from core.views.report_html import run_section
    from tests.gaming_helpers import write_round

    run_id = store.create_run({"name": "capped", "ppo": {"response_length": 30}}, name="capped")
    batches = [[{"prompt": "q", "response": "w " * 30, "score": float(r), "n_tokens": 30, "n_chars": 60}
                for r in np.random.default_rng(step).normal(size=16)] for step in range(1, 9)]
    write_round(store, run_id, batches)
    reading = gaming_panel(store, run_id).reading
    assert "no change in length beyond noise" in reading
    assert "but 128 of 128 rollouts (100%) stopped at the length cap (ppo.response_length = 30 tokens), so the " \
           "cap hides growth" in reading
    html = run_section(store, run_id)
    assert html.count("the cap hides growth") == 2  # the monitor's length reading and the panel's


def test_reward_model_table_gives_wilson_cis_and_whole_counts(store):
    """Held-out n of 2 and 4: the accuracies alone (0.5, 0.75) hide that almost any value fits."""
    from core.audit.bootstrap import wilson_interval
    from core.views.training_monitor import rm_summary

    run_id = store.create_run({"name": "rm"}, name="rm")
    store.add_metrics(run_id, 0, "reward_eval", 0, {"n_train": 51, "n_heldout": 2, "n_human": 4, "train_accuracy": 0.9,
                                                    "heldout_accuracy": 0.5, "human_accuracy": 0.75,
                                                    "resumed_from_step": 0, "path": "rm"})
    table = rm_summary(store, run_id)
    row = table.iloc[0]
    assert [str(row[c]) for c in ("Training pairs", "Held-out pairs", "Human-labelled pairs")] == ["51", "2", "4"]
    low, high = wilson_interval(1, 2)
    assert row["95% CI (against the judge)"] == f"{low:.3f}–{high:.3f}" and high - low > 0.8
    low, high = wilson_interval(3, 4)
    assert row["95% CI (against people)"] == f"{low:.3f}–{high:.3f}"
    columns = list(table.columns)
    assert columns.index("95% CI (against people)") == columns.index("Accuracy against people's labels") + 1
    html = table.to_html(index=False)
    assert "51.0" not in html and "2.0<" not in html
