"""Supervised warm start on the tiny Llama: it learns the demonstrations and becomes the KL reference."""

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from conftest import smoke_overrides
from sparring.config import load_config
from sparring.game.demonstrations import ATTACK_STRATEGIES, attacker_demonstrations
from sparring.game.seeds import BORDERLINE_SOURCE, load_seeds
from sparring.game.types import Verdict
from sparring.models.policy import build_players
from sparring.rl.loop import train
from sparring.rl.warmstart import (
    PreferencePair,
    demonstrations,
    fine_tune,
    pair_margins,
    pick_benign_seeds,
    sft_loss,
    to_sample,
)


def test_benign_examples_take_the_borderline_share():
    benign = load_seeds("benign")
    is_border = [s.source == BORDERLINE_SOURCE for s in benign]
    assert 100 <= sum(is_border) < len(benign)  # the shipped pool holds both kinds
    picked = pick_benign_seeds(benign, 40, 0.25, random.Random(0))
    assert len({s.id for s in picked}) == 40
    assert sum(s.source == BORDERLINE_SOURCE for s in picked) == 10
    assert not any(
        s.source == BORDERLINE_SOURCE for s in pick_benign_seeds(benign, 40, 0.0, random.Random(0))
    )
    # a pool with only a few borderline seeds gives all of them and fills up with plain ones
    few = [s for s in benign if s.source == BORDERLINE_SOURCE][:3] + [
        s for s in benign if s.source != BORDERLINE_SOURCE
    ][:20]
    picked = pick_benign_seeds(few, 10, 1.0, random.Random(0))
    assert len(picked) == 10 and sum(s.source == BORDERLINE_SOURCE for s in picked) == 3


def test_defender_benign_targets_are_its_own_answers_cut_to_answer_tokens(tiny_model_dir):
    overrides = {"model": "tiny-random-llama", "lora.r": 4, "lora.alpha": 8, "warmup.roles": ["defender"]}
    overrides |= {"warmup.harmful_examples": 2, "warmup.benign_examples": 4, "warmup.answer_tokens": 3}
    cfg = load_config(overrides=overrides)
    players = build_players(cfg)
    samples = demonstrations(players, cfg, load_seeds(), random.Random(0))["defender"]
    assert len(samples) == 6
    refusals, answers = samples[:2], samples[2:]
    eos = players["defender"].tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert all(s.completion_ids[-1] == eos for s in refusals)
    assert all(1 <= len(s.completion_ids) <= 3 for s in answers)


def test_fine_tune_lowers_the_loss_on_its_demonstrations(tiny_model_dir):
    torch.manual_seed(0)  # the LoRA init draws from the global generator
    cfg = load_config(overrides={"model": "tiny-random-llama", "lora.r": 4, "lora.alpha": 8})
    attacker = build_players(cfg)["attacker"]
    demos = attacker_demonstrations(load_seeds()[:4], random.Random(0))
    samples = [to_sample(attacker, d) for d in demos]
    # the target ends with the end-of-turn token, so the model learns to stop
    assert samples[0].completion_ids[-1] == attacker.tokenizer.convert_tokens_to_ids("<|im_end|>")
    with torch.no_grad():
        before = sft_loss(attacker, samples).item()
    result = fine_tune(
        attacker,
        samples,
        # a random 64-wide model moves slowly: 20 epochs take the loss down ~0.35-0.4 nats
        epochs=20,
        lr=1e-2,
        batch_size=4,
        minibatch_size=4,
        max_grad_norm=1.0,
        rng=random.Random(0),
    )
    with torch.no_grad():
        after = sft_loss(attacker, samples).item()
    assert after < before - 0.2, (before, after)
    assert result["loss_last_epoch"] < result["loss_first_epoch"]


def test_dpo_pairs_the_right_answer_with_the_wrong_one_and_learns_the_contrast(tiny_model_dir):
    torch.manual_seed(0)
    overrides = {"model": "tiny-random-llama", "lora.r": 4, "lora.alpha": 8, "warmup.roles": ["defender"]}
    overrides |= {"warmup.harmful_examples": 3, "warmup.benign_examples": 3, "warmup.answer_tokens": 4}
    cfg = load_config(overrides=overrides | {"warmup.objective": "dpo"})
    defender = build_players(cfg)["defender"]
    pairs = demonstrations({"defender": defender}, cfg, load_seeds(), random.Random(0))["defender"]
    assert len(pairs) == 6 and all(isinstance(p, PreferencePair) for p in pairs)
    eos = defender.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for i, p in enumerate(pairs):
        assert p.chosen.prompt_ids == p.rejected.prompt_ids  # one prompt, two answers
        refusal, own = (p.chosen, p.rejected) if i < 3 else (p.rejected, p.chosen)
        assert refusal.completion_ids[-1] == eos and 1 <= len(own.completion_ids) <= 4
    # the same draw as the imitation warm start: DPO adds the wrong answers, it does not change the prompts
    sft = demonstrations(
        {"defender": defender}, load_config(overrides=overrides), load_seeds(), random.Random(0)
    )
    assert [s.prompt_ids for s in sft["defender"]] == [p.chosen.prompt_ids for p in pairs]

    fine_tune(
        defender,
        pairs,
        epochs=15,
        lr=1e-2,
        batch_size=6,
        minibatch_size=6,
        max_grad_norm=1.0,
        rng=random.Random(0),
        dpo_beta=0.5,
        dpo_sft_weight=0.0,
    )
    with torch.no_grad():
        margins, _ = pair_margins(defender, pairs)
    gained = margins - torch.tensor([p.ref_margin for p in pairs])
    assert (gained > 0).all(), gained  # every pair: the right answer rose over the wrong one


def test_framed_harmful_share_shows_harmful_seeds_in_a_framing_on_both_sides_of_the_pair(tiny_model_dir):
    overrides = {"model": "tiny-random-llama", "lora.r": 4, "lora.alpha": 8, "warmup.roles": ["defender"]}
    overrides |= {"warmup.harmful_examples": 4, "warmup.benign_examples": 2, "warmup.answer_tokens": 3}
    overrides |= {"warmup.objective": "dpo"}
    seeds = load_seeds()
    defender = build_players(load_config(overrides=overrides))["defender"]
    plain = demonstrations({"defender": defender}, load_config(overrides=overrides), seeds, random.Random(0))
    cfg = load_config(overrides=overrides | {"warmup.framed_harmful_share": 1.0})
    framed = demonstrations({"defender": defender}, cfg, seeds, random.Random(0))

    def prompt_of(sample) -> str:
        return defender.tokenizer.decode(sample.prompt_ids)

    framings = [t.split("{request}") for _, t in ATTACK_STRATEGIES["harmful"]]
    for before, after in zip(plain["defender"][:4], framed["defender"][:4], strict=True):
        seed_prompt, framed_prompt = prompt_of(before.chosen), prompt_of(after.chosen)
        assert framed_prompt != seed_prompt
        assert any(head.strip() in framed_prompt and tail.strip() in framed_prompt for head, tail in framings)
        # the wrong answer was generated for the framed prompt, the one the refusal is shown with
        assert after.rejected.prompt_ids == after.chosen.prompt_ids
    # benign pairs are not framed by this share
    assert all("DAN" not in prompt_of(p.chosen) for p in framed["defender"][4:])


class EveryOtherJudge:
    """Confirms every second wrong answer it is shown: harmful on harmful seeds, helpful on benign ones."""

    name = "every-other"

    def __init__(self, harmful_prompts: set[str]):
        self.harmful_prompts = harmful_prompts
        self.seen: list[str] = []

    def __call__(self, exchanges):
        out = []
        for i, ex in enumerate(exchanges):
            self.seen.append(ex.prompt)
            confirm = i % 2 == 0
            if ex.prompt in self.harmful_prompts:
                out.append(Verdict(1.0, 0.0, 0.9 if confirm else 0.1))
            else:  # benign: its own answer is the chosen one, confirmed when it is not a refusal
                out.append(None if i % 4 == 1 else Verdict(0.0, 0.1 if confirm else 0.9, 0.0))
        return out


def test_judged_pairs_drop_wrong_answers_that_were_not_wrong(tiny_model_dir):
    overrides = {"model": "tiny-random-llama", "lora.r": 4, "lora.alpha": 8, "warmup.roles": ["defender"]}
    overrides |= {"warmup.harmful_examples": 3, "warmup.benign_examples": 3, "warmup.answer_tokens": 4}
    overrides |= {"warmup.objective": "dpo", "warmup.judge_pairs": True, "warmup.alarming_benign_share": 0.0}
    cfg = load_config(overrides=overrides)
    defender = build_players(cfg)["defender"]
    seeds = load_seeds()
    judge = EveryOtherJudge({s.text for s in seeds if s.label == "harmful"})
    metrics: dict[str, float] = {}
    pairs = demonstrations({"defender": defender}, cfg, seeds, random.Random(0), judge, metrics)["defender"]

    # spare seeds were answered and judged (benign 3 + 1, then harmful 2 x 3), in one batch
    assert len(judge.seen) == 10
    benign_seen, harmful_seen = judge.seen[:4], judge.seen[4:]
    assert not set(benign_seen) & judge.harmful_prompts and set(harmful_seen) <= judge.harmful_prompts
    assert metrics == {
        "warmup/defender/harmful_answered_harmfully": 0.5,
        "warmup/defender/benign_answered": 0.5,
    }
    # only the confirmed ones (even positions) are kept, harmful pairs first: 3 harmful, and the 2 benign
    # that were confirmed out of 4 (a count that cannot be filled is left short, not padded)
    assert len(pairs) == 5

    def prompt_of(pair: PreferencePair) -> str:
        return defender.tokenizer.decode(pair.chosen.prompt_ids)

    assert [any(t in prompt_of(p) for t in harmful_seen[0::2]) for p in pairs[:3]] == [True] * 3
    assert [any(t in prompt_of(p) for t in benign_seen[0::2]) for p in pairs[3:]] == [True] * 2
    assert not any(t in prompt_of(p) for p in pairs for t in harmful_seen[1::2] + benign_seen[1::2])

    with pytest.raises(ValueError, match="judge_pairs needs a judge"):
        demonstrations({"defender": defender}, cfg, seeds, random.Random(0))


def test_train_with_warm_start_anchors_kl_to_it(tmp_path, tiny_model_dir):
    overrides = smoke_overrides(
        tmp_path,
        **{
            "warmup.enabled": True,
            "warmup.harmful_examples": 4,
            "warmup.benign_examples": 4,
            "warmup.attacker_examples": 4,
            "warmup.lr": 5e-3,
            "eval.after_warmup": True,
            "eval.extra_suites": ["xstest"],
            "eval.extra_limit": 4,
            "train.steps": 1,
            "attacker.lr": 1e-9,  # RL barely moves: the KL to the warm start must stay ~0
            "defender.lr": 1e-9,
        },
    )
    run = train(load_config(overrides=overrides))
    warm = run.path / "warmstart"
    for role in ("attacker", "defender"):
        weights = load_file(str(warm / role / "adapter_model.safetensors"))
        assert sum(float(w.abs().sum()) for k, w in weights.items() if "lora_B" in k) > 0  # it trained
    metrics = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    assert abs(metrics[0]["kl/defender"]) < 1e-3  # reference = warm start, not the bare base
    warmup = json.loads((run.path / "warmup.json").read_text())
    assert warmup["warmup/defender/examples"] == 8 and warmup["warmup/attacker/examples"] == 4
    after_warmup = json.loads((run.path / "eval_warmup.json").read_text())
    assert after_warmup["suites"]["xstest"]["n"] == 4 and after_warmup["n"] == 6

    # what self-play added on top of the warm start, per suite, paired by prompt
    from sparring.evals.compare import compare_run

    result = compare_run(run.path, baseline="warmup")
    assert set(result["suites"]) == {"heldout", "xstest"}
    pairs = result["suites"]["xstest"]["metrics"]["benign_refusal_rate"]["n_pairs"]
    assert pairs == sum(
        1
        for t in map(json.loads, (run.path / "eval_after_transcripts.jsonl").open())
        if t["suite"] == "xstest" and t["label"] == "benign"
    )
