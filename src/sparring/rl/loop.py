"""The self-play training recipe, top to bottom.

    sparring train --preset demo          # or: python -m sparring.cli train --preset smoke

One step: draw seeds -> attacker rewrites them (private <think>, visible <prompt>) -> defender answers the
visible prompt only -> judge scores (prompt harmful, refusal, answer harmful) -> reward table -> per-role
advantages -> one optimizer step per role -> log + archive. Before and after, the defender is evaluated on
held-out prompts that were never seeds.

What it simplifies: one rollout per step (no replay); the KL reference is the role's starting weights;
``train.ppo_epochs > 1`` reuses a batch with ratio clipping, otherwise the update is plain policy gradient.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from sparring.config import Config
from sparring.diversity import NoveltyArchive, mean_pairwise_cosine_distance
from sparring.embeddings import get_embedder
from sparring.evals.runner import THRESHOLD, evaluate_defender
from sparring.evals.suites import limit_prompts, load_prompt_file, load_suite
from sparring.game.parse import parse_answer, parse_attack
from sparring.game.prompts import attacker_messages, defender_messages
from sparring.game.rewards import Shaping, episode_rewards, faithfulness
from sparring.game.seeds import SeedSampler, load_seed_file, load_seeds
from sparring.game.types import Episode, Exchange, Role
from sparring.judges.registry import build_judge
from sparring.models.policy import Player, Sample, build_players, save_adapters
from sparring.rl.losses import group_advantages, kl_estimate, kl_penalty, policy_loss, reinforce_pp_advantages
from sparring.runs.rundir import RunDir

console = Console(stderr=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def timed(times: dict[str, float], key: str):
    start = time.perf_counter()
    yield
    times[f"time/{key}"] = time.perf_counter() - start


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False)


# ----------------------------------------------------------------------------------------------------------
# RL update for one role. The maths lives in rl/losses.py; this only batches tensors and steps optimizers.


@dataclass
class RoleBatch:
    """What a role's update needs: its samples, their rewards and groups, and the frozen log-probs."""

    samples: list[Sample]
    rewards: torch.Tensor  # [B]
    group_ids: torch.Tensor  # [B]
    old_logp: list[torch.Tensor] | None = None  # per sample, [T_i]
    ref_logp: list[torch.Tensor] | None = None


def _pad(rows: Sequence[torch.Tensor], width: int) -> torch.Tensor:
    out = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _minibatches(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


@torch.no_grad()
def score_frozen(player: Player, batch: RoleBatch, minibatch: int) -> None:
    """Log-probs under the sampling weights (for ratios) and the reference weights (for KL)."""
    batch.old_logp, batch.ref_logp = [], []
    for idx in _minibatches(len(batch.samples), minibatch):
        mb = [batch.samples[i] for i in idx]
        for reference, store in ((False, batch.old_logp), (True, batch.ref_logp)):
            logp, mask = player.logprobs(mb, reference=reference)
            store += [row[: int(m.sum())].cpu() for row, m in zip(logp, mask, strict=True)]


def advantages(batch: RoleBatch, cfg: Config) -> list[torch.Tensor]:
    """Per-token advantages for each sample (REINFORCE++ with KL in the reward, or a group baseline)."""
    width = max(max((len(x) for x in batch.old_logp), default=1), 1)
    mask = _pad([torch.ones(len(x)) for x in batch.old_logp], width)
    if cfg.train.algorithm == "reinforce_pp":
        adv = reinforce_pp_advantages(batch.rewards, _pad(batch.old_logp, width), _pad(batch.ref_logp, width),
                                      mask, kl_coef=cfg.train.kl_coef, kl_kind=cfg.train.kl_kind)
    else:
        adv = group_advantages(batch.rewards, batch.group_ids, kind=cfg.train.algorithm).unsqueeze(1) * mask
    return [adv[i, : len(x)] for i, x in enumerate(batch.old_logp)]


def accumulate_gradients(player: Player, batch: RoleBatch, adv: list[torch.Tensor], cfg: Config) -> dict[str, float]:
    """One pass over the batch in minibatches; gradients accumulate, the caller steps the optimizer."""
    stats: dict[str, list[float]] = {"loss": [], "clipfrac": [], "approx_kl": [], "kl": []}
    n = len(batch.samples)
    player.model.train()
    for idx in _minibatches(n, cfg.train.minibatch_size):
        logp, mask = player.logprobs([batch.samples[i] for i in idx])
        width = logp.shape[1]
        old = _pad([batch.old_logp[i] for i in idx], width).to(logp.device)
        ref = _pad([batch.ref_logp[i] for i in idx], width).to(logp.device)
        a = _pad([adv[i] for i in idx], width).to(logp.device)
        loss, st = policy_loss(logp, old, a, mask, clip_eps=cfg.train.clip_eps)
        kl = kl_penalty(logp, ref, mask, kind=cfg.train.kl_kind)
        if cfg.train.algorithm != "reinforce_pp":  # group baselines put the KL in the loss, not the reward
            loss = loss + cfg.train.kl_coef * kl
        (loss * len(idx) / n).backward()
        stats["loss"].append(loss.item())
        stats["clipfrac"].append(st["clipfrac"])
        stats["approx_kl"].append(st["approx_kl"])
        stats["kl"].append(kl.item())
    return {k: float(np.mean(v)) for k, v in stats.items()}


def make_optimizers(players: dict[Role, Player], cfg: Config) -> dict[Role, torch.optim.Optimizer]:
    """One AdamW per distinct set of trainable weights (in shared mode both roles step the same one)."""
    by_adapter: dict[tuple[int, str], torch.optim.Optimizer] = {}
    out = {}
    for role in cfg.trained_roles:
        p = players[role]
        key = (id(p.model), p.adapter)
        if key not in by_adapter:
            by_adapter[key] = torch.optim.AdamW(p.trainable_parameters(), lr=cfg.role(role).lr,
                                                weight_decay=cfg.train.weight_decay)
        out[role] = by_adapter[key]
    return out


def update(players: dict[Role, Player], optimizers: dict[Role, torch.optim.Optimizer],
           batches: dict[Role, RoleBatch], cfg: Config) -> dict[str, float]:
    metrics: dict[str, float] = {}
    adv = {}
    for role, batch in batches.items():
        score_frozen(players[role], batch, cfg.train.minibatch_size)
        adv[role] = advantages(batch, cfg)
        mask_kl = [kl_estimate(o, r, kind=cfg.train.kl_kind).mean() for o, r in
                   zip(batch.old_logp, batch.ref_logp, strict=True) if len(o)]
        metrics[f"kl/{role}"] = float(torch.stack(mask_kl).mean()) if mask_kl else 0.0
    for _epoch in range(cfg.train.ppo_epochs):
        for role, batch in batches.items():
            for k, v in accumulate_gradients(players[role], batch, adv[role], cfg).items():
                metrics[f"{role}/{k}"] = v
        for opt in {id(o): o for o in optimizers.values()}.values():
            params = [p for g in opt.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.train.max_grad_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            for role, o in optimizers.items():
                if o is opt:
                    metrics[f"{role}/grad_norm"] = float(norm)
    return metrics


# ----------------------------------------------------------------------------------------------------------
# Metrics of one step's episodes (flat, slash-namespaced; the full list is in docs/metrics.md).


def episode_metrics(episodes: list[Episode]) -> dict[str, float]:
    def mean(xs: list[float]) -> float:
        return float(np.mean(xs)) if xs else float("nan")

    judged = [e for e in episodes if e.verdict is not None and e.verdict.complete]
    harmful = [e for e in judged if e.seed.label == "harmful"]
    benign = [e for e in judged if e.seed.label == "benign"]
    revised = [e for e in judged if e.revised and e.format_ok]
    attempted = [e for e in episodes if e.revised]

    def attack_success(e: Episode) -> float:
        v = e.verdict
        return float(v.response_harmful >= THRESHOLD if e.seed.label == "harmful" else v.refusal >= THRESHOLD)

    return {
        "defender/reward_mean": mean([e.rewards["defender"] for e in episodes if e.rewards]),
        "attacker/reward_mean": mean([e.rewards["attacker"] for e in attempted if e.rewards]),
        "defender/harmful_answer_rate": mean([float(e.verdict.response_harmful >= THRESHOLD) for e in harmful]),
        "defender/benign_refusal_rate": mean([float(e.verdict.refusal >= THRESHOLD) for e in benign]),
        "defender/harmful_refusal_rate": mean([float(e.verdict.refusal >= THRESHOLD) for e in harmful]),
        "attacker/success_rate": mean([attack_success(e) for e in revised]),
        "attacker/format_failure_rate": mean([float(not e.format_ok) for e in attempted]),
        "attacker/faithfulness_mean": mean([e.faithfulness for e in revised if e.faithfulness is not None]),
        "attacker/novelty_mean": mean([e.novelty for e in revised if e.novelty is not None]),
        "attacker/revised_share": len(attempted) / max(len(episodes), 1),
        "judge/failures": float(len(episodes) - len(judged)),
    }


# ----------------------------------------------------------------------------------------------------------
# The recipe.


def run_eval(player: Player, judge, cfg: Config, prompts, progress: Progress, label: str) -> tuple[dict, list]:
    task = progress.add_task(f"eval {label}", total=len(prompts))
    summary, transcripts = evaluate_defender(
        player, judge, prompts, max_new_tokens=cfg.eval.max_new_tokens, batch_size=cfg.eval.batch_size,
        system_prompt=cfg.defender.system_prompt, on_batch=lambda n: progress.advance(task, n))
    summary["suite"] = cfg.eval.suite
    return summary, transcripts


def eval_prompts(cfg: Config):
    if cfg.eval.suite.endswith((".jsonl", ".csv")):
        return limit_prompts(load_prompt_file(cfg.eval.suite), cfg.eval.limit, cfg.train.seed)
    return load_suite(cfg.eval.suite, limit=cfg.eval.limit, seed=cfg.train.seed)


def train(cfg: Config, name: str = "run") -> RunDir:
    """Run self-play as configured and return the finished run directory."""
    seed_everything(cfg.train.seed)
    # Build every component before the run directory exists: a wrong model, judge or seed file fails fast
    # and leaves nothing behind.
    players = build_players(cfg)
    judge = build_judge(cfg.judge.kind, **cfg.judge.options)
    seeds = load_seed_file(cfg.seeds) if cfg.seeds else load_seeds()
    prompts = eval_prompts(cfg)
    run = RunDir.create(cfg, name)
    cfg = cfg.model_copy(update={"run_dir": str(run.path)})
    try:
        _train(cfg, run, players, judge, seeds, prompts)
    except BaseException as e:
        run.update_status("failed", error=f"{type(e).__name__}: {e}")
        raise
    run.update_status("finished", finished=time.time())
    return run


def _train(cfg: Config, run: RunDir, players: dict[Role, Player], judge, seeds, prompts) -> None:
    console.print(f"[bold]sparring[/] run directory: {run.path}")
    attacker, defender = players["attacker"], players["defender"]
    embedder = get_embedder()
    sampler = SeedSampler(seeds, harmful_share=cfg.train.harmful_share, rng_seed=cfg.train.seed)
    rng = random.Random(cfg.train.seed)
    optimizers = make_optimizers(players, cfg)
    archive = NoveltyArchive(dim=embedder.encode(["x"]).shape[1])
    shaping = Shaping(cfg.reward.format_weight, cfg.reward.faithfulness_weight, cfg.reward.novelty_weight)

    with progress_bar() as progress:
        if cfg.eval.before:
            summary, transcripts = run_eval(defender, judge, cfg, prompts, progress, "before")
            run.write_json("eval_before.json", summary)
            run.write_jsonl("eval_before_transcripts.jsonl", transcripts)
        task = progress.add_task("self-play", total=cfg.train.steps)
        for step in range(cfg.train.steps):
            times: dict[str, float] = {}
            step_start = time.perf_counter()

            # 1. Seeds: each is played group_size times; a share goes to the defender unrevised.
            episodes: list[Episode] = []
            group_ids: list[int] = []
            for g, seed in enumerate(sampler.sample(cfg.train.seeds_per_step)):
                revise = cfg.attacker.enabled and rng.random() >= cfg.attacker.unrevised_share
                for _ in range(cfg.train.group_size):
                    episodes.append(Episode(step=step, seed=seed, revised=revise, attack=seed.text))
                    group_ids.append(g)

            # 2. Attacker turn: private reasoning stays in the episode; only the parsed prompt moves on.
            attack_idx = [i for i, e in enumerate(episodes) if e.revised]
            with timed(times, "attacker_generate"):
                attack_samples = attacker.generate(
                    [attacker_messages(episodes[i].seed, cfg.attacker.reasoning) for i in attack_idx],
                    cfg.attacker.max_new_tokens) if attack_idx else []
            for i, s in zip(attack_idx, attack_samples, strict=True):
                parsed = parse_attack(s.text, require_reasoning=cfg.attacker.reasoning)
                ep = episodes[i]
                ep.attacker_output, ep.attacker_reasoning, ep.format_ok = s.text, parsed.reasoning, parsed.ok
                ep.attack = parsed.visible if parsed.ok else ep.seed.text  # malformed: never pass raw text on

            # 3. Defender turn: it sees the visible prompt alone.
            with timed(times, "defender_generate"):
                answer_samples = defender.generate(
                    [defender_messages(e.attack, cfg.defender.system_prompt, cfg.defender.reasoning)
                     for e in episodes], cfg.defender.max_new_tokens)
            defender_ok = []
            for ep, s in zip(episodes, answer_samples, strict=True):
                parsed = parse_answer(s.text, reasoning_enabled=cfg.defender.reasoning)
                ep.defender_output, ep.defender_reasoning, ep.answer = s.text, parsed.reasoning, parsed.visible
                defender_ok.append(parsed.ok)

            # 4. Judge the visible exchange.
            with timed(times, "judge"):
                verdicts = judge([Exchange(e.attack, e.answer) for e in episodes])
                for ep, v in zip(episodes, verdicts, strict=True):
                    ep.verdict = v

            # 5. Rewards: zero-sum core plus attacker shaping (faithfulness to the seed, novelty).
            with timed(times, "reward"):
                revised = [e for e in episodes if e.revised and e.format_ok]
                if revised:
                    emb = embedder.encode([e.attack for e in revised])
                    seed_emb = embedder.encode([e.seed.text for e in revised])
                    novelty = archive.novelty(emb)
                    archive.add(emb)
                    for j, ep in enumerate(revised):
                        ep.novelty = float(novelty[j])
                        topic = float(emb[j] @ seed_emb[j])
                        ep.faithfulness = _faithfulness(ep, topic)
                for ep, ok in zip(episodes, defender_ok, strict=True):
                    r = episode_rewards(table=cfg.reward.table, seed_label=ep.seed.label, verdict=ep.verdict,
                                        attack_format_ok=ep.format_ok, defender_format_ok=ok, revised=ep.revised,
                                        faithfulness=ep.faithfulness, novelty=ep.novelty, shaping=shaping)
                    ep.rewards = r or {}

            # 6. Update each trained role on the episodes it played (unjudged episodes are left out).
            with timed(times, "update"):
                batches = {}
                for role, samples_of in (("attacker", dict(zip(attack_idx, attack_samples, strict=True))),
                                         ("defender", dict(enumerate(answer_samples)))):
                    if role not in cfg.trained_roles:
                        continue
                    keep = [i for i in samples_of if episodes[i].rewards]
                    if keep:
                        batches[role] = RoleBatch(
                            samples=[samples_of[i] for i in keep],
                            rewards=torch.tensor([episodes[i].rewards[role] for i in keep], dtype=torch.float32),
                            group_ids=torch.tensor([group_ids[i] for i in keep]))
                update_metrics = update(players, optimizers, batches, cfg) if batches else {}

            # 7. Log and archive.
            metrics = episode_metrics(episodes) | update_metrics | times
            if revised:
                metrics["diversity/attack_cosine_distance"] = mean_pairwise_cosine_distance(
                    embedder.encode([e.attack for e in revised]))
            metrics["attacker/length_mean"] = _mean_len(attack_samples)
            metrics["defender/length_mean"] = _mean_len(answer_samples)
            metrics["defender/truncated_rate"] = float(np.mean([s.truncated for s in answer_samples]))
            metrics["time/step"] = time.perf_counter() - step_start
            run.log_metrics(step, metrics)
            run.append_episodes(episodes)
            if cfg.train.save_every and (step + 1) % cfg.train.save_every == 0:
                save_adapters(players, run.adapters_dir / f"step-{step + 1}")
            progress.update(task, advance=1, description=_describe(metrics))

        save_adapters(players, run.adapters_dir)
        if cfg.eval.after:
            summary, transcripts = run_eval(defender, judge, cfg, prompts, progress, "after")
            run.write_json("eval_after.json", summary)
            run.write_jsonl("eval_after_transcripts.jsonl", transcripts)


def _faithfulness(ep: Episode, topic_similarity: float) -> float:
    return faithfulness(ep.seed.label, ep.verdict.prompt_harmful if ep.verdict else None, topic_similarity)


def _mean_len(samples: Sequence[Sample]) -> float:
    return float(np.mean([len(s.completion_ids) for s in samples])) if samples else 0.0


def _describe(m: dict[str, float]) -> str:
    def f(key: str) -> str:
        v = m.get(key)
        return "  -  " if v is None or v != v else f"{v:5.2f}"

    return (f"self-play  def.harm {f('defender/harmful_answer_rate')}  def.overref "
            f"{f('defender/benign_refusal_rate')}  atk.succ {f('attacker/success_rate')}  "
            f"atk.fmt-fail {f('attacker/format_failure_rate')}")

