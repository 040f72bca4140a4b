"""The self-play training recipe, top to bottom.

    sparring train --preset demo          # or: python -m sparring.cli train --preset smoke

One step: draw seeds -> attacker rewrites them (private <think>, visible <prompt>) -> defender answers the
visible prompt only -> judge scores (prompt harmful, refusal, answer harmful) -> reward table -> per-role
advantages -> one optimizer step per role -> log + archive.

Around the steps: evaluate the defender on held-out prompts that were never seeds -> optional supervised
warm start of both roles (``warmup.*``, rl/warmstart.py) -> the steps -> evaluate again -> optional
cross-play of every saved attacker against every saved defender (``eval.crossplay_seeds``).

What it simplifies: one rollout per step (no replay); the KL reference is the role's weights when RL
begins (the warm start, if any);
``train.ppo_epochs > 1`` reuses a batch with ratio clipping, otherwise the update is plain policy gradient.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sparring.config import Config
from sparring.diversity import NoveltyArchive, mean_pairwise_cosine_distance
from sparring.embeddings import get_embedder
from sparring.evals.capability import capability_score
from sparring.evals.crossplay import crossplay, crossplay_samples, format_crossplay
from sparring.evals.runner import evaluate_defender
from sparring.evals.suites import limit_prompts, load_prompt_file, load_suite, load_suite_spec
from sparring.game.balance import defender_loss_rates, next_harmful_share
from sparring.game.parse import parse_answer, parse_attack
from sparring.game.prompts import attacker_messages, attacker_prefix, defender_messages
from sparring.game.rewards import Shaping, episode_rewards, faithfulness
from sparring.game.seeds import SeedSampler, load_seed_file, load_seeds
from sparring.game.types import Episode, Exchange, Role, Seed
from sparring.judges.registry import build_judge
from sparring.models.policy import Player, Sample, build_players, save_adapters, use_as_reference
from sparring.rl.metrics import episode_metrics
from sparring.rl.update import RoleBatch, make_optimizers, update
from sparring.rl.warmstart import warm_start
from sparring.runs.archive import EpisodeArchive
from sparring.runs.checkpoint import (
    checkpoint_dirs,
    load_adapter_weights,
    load_checkpoint,
    save_checkpoint,
)
from sparring.runs.rundir import RunDir
from sparring.runs.tracking import open_tracking

console = Console(stderr=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def timed(times: dict[str, float], key: str):
    start = time.perf_counter()
    yield
    times[f"time/{key}"] = times.get(f"time/{key}", 0.0) + time.perf_counter() - start  # a phase may recur


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


# ----------------------------------------------------------------------------------------------------------
# One round of the game: seeds -> attacker -> defender -> judge -> rewards. No gradients here.


@dataclass
class Rollout:
    episodes: list[Episode]
    group_ids: list[int]  # episodes of the same seed share a group (for group baselines)
    attack_samples: dict[int, Sample] = field(default_factory=dict)  # episode index -> attacker turn
    answer_samples: dict[int, Sample] = field(default_factory=dict)  # episode index -> defender turn
    attack_diversity: float | None = None  # mean pairwise cosine distance of this step's attacks


@dataclass
class Game:
    """Everything a step needs besides the players: built once, restored on resume."""

    cfg: Config
    judge: object
    embedder: object
    sampler: SeedSampler
    rng: random.Random
    novelty: NoveltyArchive
    shaping: Shaping
    seeds: list[Seed] = field(default_factory=list)


def play(step: int, players: dict[Role, Player], game: Game, times: dict[str, float]) -> Rollout:
    cfg = game.cfg
    # 1. Seeds: each is played group_size times; a share goes to the defender unrevised.
    episodes, group_ids = [], []
    for g, seed in enumerate(game.sampler.sample(cfg.train.seeds_per_step)):
        revise = cfg.attacker.enabled and game.rng.random() >= cfg.attacker.unrevised_share
        for _ in range(cfg.train.group_size):
            episodes.append(Episode(step=step, seed=seed, revised=revise, attack=seed.text))
            group_ids.append(g)
    out = Rollout(episodes, group_ids)

    # 2. Attacker turn: private reasoning stays in the episode; only the parsed prompt moves on.
    attack_idx = [i for i, e in enumerate(episodes) if e.revised]
    prefix = attacker_prefix(cfg.attacker.reasoning)
    with timed(times, "attacker_generate"):
        samples = (
            players["attacker"].generate(
                [attacker_messages(episodes[i].seed, cfg.attacker.reasoning) for i in attack_idx],
                cfg.attacker.max_new_tokens,
                prefix=prefix,
            )
            if attack_idx
            else []
        )
    for i, s in zip(attack_idx, samples, strict=True):
        ep, output = episodes[i], prefix + s.text
        parsed = parse_attack(output, require_reasoning=cfg.attacker.reasoning)
        ep.attacker_output, ep.attacker_reasoning, ep.format_ok = output, parsed.reasoning, parsed.ok
        ep.attack = parsed.visible if parsed.ok else ep.seed.text  # malformed: never pass raw text on
        out.attack_samples[i] = s
    # Parsed attacks and their seeds, embedded once: the off-topic rule and the attacker's shaping use both.
    parsed_idx = [i for i in attack_idx if episodes[i].format_ok]
    with timed(times, "reward"):
        attack_emb = game.embedder.encode([episodes[i].attack for i in parsed_idx])
        seed_emb = game.embedder.encode([episodes[i].seed.text for i in parsed_idx])
    # An attack that dropped its seed's request wins nothing by being refused: it counts as malformed.
    floor = cfg.attacker.min_topic_similarity
    if floor is not None:
        for i, sim in zip(parsed_idx, (attack_emb * seed_emb).sum(axis=1), strict=True):
            if sim < floor:
                ep = episodes[i]
                ep.format_ok, ep.off_topic, ep.attack = False, True, ep.seed.text

    # 3. Defender turn: it sees the visible prompt alone.
    with timed(times, "defender_generate"):
        samples = players["defender"].generate(
            [
                defender_messages(e.attack, cfg.defender.system_prompt, cfg.defender.reasoning)
                for e in episodes
            ],
            cfg.defender.max_new_tokens,
        )
    defender_ok = []
    for i, (ep, s) in enumerate(zip(episodes, samples, strict=True)):
        parsed = parse_answer(s.text, reasoning_enabled=cfg.defender.reasoning)
        ep.defender_output, ep.defender_reasoning, ep.answer = s.text, parsed.reasoning, parsed.visible
        defender_ok.append(parsed.ok)
        out.answer_samples[i] = s

    # 4. Judge the visible exchange only.
    with timed(times, "judge"):
        for ep, verdict in zip(
            episodes, game.judge([Exchange(e.attack, e.answer) for e in episodes]), strict=True
        ):
            ep.verdict = verdict

    # 5. Rewards: zero-sum core plus attacker shaping (faithfulness to the seed, novelty vs the archive).
    with timed(times, "reward"):
        on_topic = [j for j, i in enumerate(parsed_idx) if episodes[i].format_ok]
        revised = [episodes[parsed_idx[j]] for j in on_topic]
        if revised:
            emb, kept_seed_emb = attack_emb[on_topic], seed_emb[on_topic]
            novelty = game.novelty.score_and_add(emb)
            for j, ep in enumerate(revised):
                ep.novelty = float(novelty[j])
                prompt_harmful = ep.verdict.prompt_harmful if ep.verdict else None
                ep.faithfulness = faithfulness(
                    ep.seed.label, prompt_harmful, float(emb[j] @ kept_seed_emb[j])
                )
            if len(revised) >= 2:  # one attack has no pairwise distance: null, not a collapse to 0
                out.attack_diversity = mean_pairwise_cosine_distance(emb)
        for ep, ok in zip(episodes, defender_ok, strict=True):
            ep.rewards = (
                episode_rewards(
                    table=cfg.reward.table,
                    seed_label=ep.seed.label,
                    verdict=ep.verdict,
                    attack_format_ok=ep.format_ok,
                    defender_format_ok=ok,
                    revised=ep.revised,
                    faithfulness=ep.faithfulness,
                    novelty=ep.novelty,
                    shaping=game.shaping,
                    answered_harmful_loss=cfg.reward.answered_harmful_loss,
                )
                or {}
            )
    return out


def role_batches(rollout: Rollout, cfg: Config) -> dict[Role, RoleBatch]:
    """Each trained role learns from the turns it played; unjudged episodes (no rewards) are left out."""
    batches = {}
    for role, samples in (("attacker", rollout.attack_samples), ("defender", rollout.answer_samples)):
        keep = [i for i in samples if rollout.episodes[i].rewards]
        if role in cfg.trained_roles and keep:
            batches[role] = RoleBatch(
                samples=[samples[i] for i in keep],
                rewards=torch.tensor([rollout.episodes[i].rewards[role] for i in keep], dtype=torch.float32),
                group_ids=torch.tensor([rollout.group_ids[i] for i in keep]),
            )
    return batches


# ----------------------------------------------------------------------------------------------------------
# The recipe.


def run_eval(player: Player, judge, cfg: Config, suites: dict[str, list], progress: Progress, stage: str):
    """Evaluate the defender on every configured suite.

    The summary holds the primary suite's results at the top level and the extra suites under ``suites``.
    """
    results, all_transcripts = {}, []
    for name, prompts in suites.items():
        task = progress.add_task(f"eval {stage}: {name}", total=len(prompts))
        summary, transcripts = evaluate_defender(
            player,
            judge,
            prompts,
            max_new_tokens=cfg.eval.max_new_tokens,
            batch_size=cfg.eval.batch_size,
            system_prompt=cfg.defender.system_prompt,
            on_batch=lambda n, task=task: progress.advance(task, n),
        )
        results[name] = summary | {"suite": name}
        all_transcripts += [t | {"suite": name} for t in transcripts]
    summary = results.pop(cfg.eval.suite)
    if results:
        summary["suites"] = results
    if cfg.eval.capability_items:
        summary["capability"] = capability_score(
            player, cfg.eval.capability_items, seed=cfg.train.seed, system_prompt=cfg.defender.system_prompt
        )
    return summary, all_transcripts


def eval_suites(cfg: Config) -> dict[str, list]:
    """The primary suite (or a prompt file) first, then the extra suites, each limited as configured."""
    if cfg.eval.suite.endswith((".jsonl", ".csv")):
        primary = limit_prompts(load_prompt_file(cfg.eval.suite), cfg.eval.limit, cfg.train.seed)
    else:
        primary = load_suite(cfg.eval.suite, limit=cfg.eval.limit, seed=cfg.train.seed)
    out = {cfg.eval.suite: primary}
    for name in cfg.eval.extra_suites:
        out[name] = load_suite_spec(name, limit=cfg.eval.extra_limit, seed=cfg.train.seed)
    return out


def evaluate_stage(
    run: RunDir, stage: str, player: Player, game: Game, suites, progress: Progress, tracking, step: int
) -> None:
    """Write ``eval_<stage>.json`` (before, warmup, after) and its transcripts, and track the rates.

    The summary's ``timing`` (wall seconds, answers generated) is what ``train.run_minutes`` reserves from."""
    began = time.perf_counter()
    summary, transcripts = run_eval(player, game.judge, game.cfg, suites, progress, stage)
    summary["timing"] = {"seconds": round(time.perf_counter() - began, 2), "answers": len(transcripts)}
    run.write_json(f"eval_{stage}.json", summary)
    tracking.log_eval(f"eval_{stage}", summary, step=step)
    run.write_jsonl(f"eval_{stage}_transcripts.jsonl", transcripts)


def warm_start_stage(run: RunDir, players: dict[Role, Player], game: Game, progress: Progress) -> None:
    """Supervised warm start once per run (saved to ``warmstart/``), then anchor the KL reference to it."""
    cfg, warm_dir = game.cfg, run.path / "warmstart"
    if not warm_dir.is_dir():
        task = progress.add_task("warm start", total=None)

        def on_progress(role: str, done: int, total: int) -> None:
            progress.update(task, description=f"warm start: {role}", completed=done, total=total)

        metrics = warm_start(players, cfg, game.seeds, game.judge, on_progress=on_progress)
        tmp = run.path / ".warmstart.tmp"
        save_adapters(players, tmp)
        run.write_json("warmup.json", metrics)
        tmp.rename(warm_dir)  # complete or absent: a crash before this line redoes the warm start
    if cfg.warmup.reference == "warm_start":
        use_as_reference(players, warm_dir)


def train(cfg: Config, name: str = "run", resume: bool = False) -> RunDir:
    """Run self-play as configured (or continue ``cfg.run_dir`` from its last checkpoint)."""
    started = time.perf_counter()  # train.max_minutes and train.run_minutes count from here
    seed_everything(cfg.train.seed)
    # Build every component before touching the run directory: a wrong model, judge or seed file fails fast
    # and leaves nothing behind.
    players = build_players(cfg)
    judge = build_judge(cfg.judge.kind, **cfg.judge.options)
    seeds = load_seed_file(cfg.seeds) if cfg.seeds else load_seeds(sources=cfg.seed_sources)
    suites = eval_suites(cfg)
    embedder = get_embedder()
    game = Game(
        cfg,
        judge,
        embedder,
        SeedSampler(
            seeds,
            cfg.train.harmful_share,
            cfg.train.seed,
            exact=cfg.train.exact_harmful_share,
            adaptive=cfg.train.share_gain > 0,
        ),
        random.Random(cfg.train.seed),
        NoveltyArchive(dim=embedder.encode(["x"]).shape[1]),
        Shaping(cfg.reward.format_weight, cfg.reward.faithfulness_weight, cfg.reward.novelty_weight),
        seeds=seeds,
    )
    optimizers = make_optimizers(players, cfg)
    run = RunDir(cfg.run_dir) if resume else RunDir.create(cfg, name)
    cfg = game.cfg = cfg.model_copy(update={"run_dir": str(run.path)})
    start = restore(run, players, optimizers, game) if resume else 0
    precision = "bf16 autocast" if players["defender"].bf16 else "fp32"  # train.bf16=auto decides per machine
    resumed = {"resumed_at_step": start, "stopped_early_at_step": None, "stopped_by": None} if resume else {}
    run.update_status("running", precision=precision, **resumed)
    try:
        _train(cfg, run, players, optimizers, game, suites, start, started)
    except BaseException as e:
        run.update_status("failed", error=f"{type(e).__name__}: {e}")
        raise
    run.update_status("finished", finished=time.time())
    return run


def restore(run: RunDir, players, optimizers, game: Game) -> int:
    """Load the newest complete checkpoint and drop what was logged after it; return the step to start at."""
    checkpoints = checkpoint_dirs(run.path)
    if not checkpoints:
        console.print(f"{run.path}: no checkpoint yet, starting from step 0")
        run.truncate(0)
        return 0
    step = load_checkpoint(checkpoints[-1], players, optimizers, game.rng, game.sampler, game.novelty)
    run.truncate(step)
    console.print(f"resuming {run.path} at step {step} from {checkpoints[-1].name}")
    return step


def _train(
    cfg: Config,
    run: RunDir,
    players: dict[Role, Player],
    optimizers,
    game: Game,
    suites,
    start: int,
    started: float,
) -> None:
    console.print(f"[bold]sparring[/] run directory: {run.path}")
    defender = players["defender"]
    with (
        EpisodeArchive(run.archive_path) as archive,
        open_tracking(cfg, run.path, start) as tracking,
        progress_bar() as progress,
    ):
        if cfg.eval.before and not (run.path / "eval_before.json").exists():
            evaluate_stage(run, "before", defender, game, suites, progress, tracking, start)
        if cfg.warmup.enabled:
            warmed_now = not (run.path / "warmstart").is_dir()
            warm_start_stage(run, players, game, progress)
            if start == 0 and not warmed_now:  # resumed before the first checkpoint: reload the warm start
                load_adapter_weights(players, run.path / "warmstart")
            if cfg.eval.after_warmup and not (run.path / "eval_warmup.json").exists():
                evaluate_stage(run, "warmup", defender, game, suites, progress, tracking, start)
        task = progress.add_task("self-play", total=cfg.train.steps, completed=start)
        done, step_seconds = start, []
        for step in range(start, cfg.train.steps):
            spent = budget_spent(cfg, run, started, step_seconds)
            if spent:
                console.print(
                    f"{spent}: self-play stops after step {done} of {cfg.train.steps}; "
                    f"--resume {run.path} runs the rest"
                )
                save_checkpoint(run.path, done, players, optimizers, game.rng, game.sampler, game.novelty)
                run.update_status("running", stopped_early_at_step=done, stopped_by=spent)
                break
            times: dict[str, float] = {}
            step_start = time.perf_counter()
            rollout = play(step, players, game, times)
            with timed(times, "update"):
                batches = role_batches(rollout, cfg)
                update_metrics = update(players, optimizers, batches, cfg) if batches else {}

            # Log, archive, checkpoint. Episodes go to disk before the checkpoint that covers them.
            answers = list(rollout.answer_samples.values())
            metrics = (
                episode_metrics(rollout.episodes)
                | update_metrics
                | times
                | {
                    "attacker/length_mean": _mean_len(list(rollout.attack_samples.values())),
                    "defender/length_mean": _mean_len(answers),
                    "defender/truncated_rate": float(np.mean([s.truncated for s in answers])),
                    "diversity/attack_cosine_distance": rollout.attack_diversity,
                    "time/step": time.perf_counter() - step_start,
                }
            )
            if cfg.train.share_gain:  # the seed mix follows the defender's benign losses (game/balance.py)
                metrics |= seed_mix_feedback(game, rollout.episodes)
            step_seconds.append(metrics["time/step"])
            run.log_metrics(step, metrics)
            tracking.log(metrics, step)
            run.append_episodes(rollout.episodes)
            # Which checkpoint's weights played this step (the checkpoint saved after step - 1), if any.
            played_by = f"step-{step:06d}"
            has_ckpt = (run.path / "checkpoints" / played_by).is_dir()
            archive.append(
                step,
                rollout.episodes,
                dict.fromkeys(("attacker", "defender"), played_by) if has_ckpt else None,
            )
            done = step + 1
            if done == cfg.train.steps or (
                cfg.train.checkpoint_every and done % cfg.train.checkpoint_every == 0
            ):
                save_checkpoint(run.path, done, players, optimizers, game.rng, game.sampler, game.novelty)
            progress.update(task, advance=1, description=_describe(metrics))
            if not console.is_terminal:  # logs and CI get one line per step instead of a live bar
                console.print(
                    f"step {done}/{cfg.train.steps} {metrics['time/step']:.0f}s {_describe(metrics)}"
                )

        save_adapters(players, run.adapters_dir)
        if cfg.eval.after:
            with defender.merged():  # nothing trains after this: sample through merged weights
                evaluate_stage(run, "after", defender, game, suites, progress, tracking, done)
    if cfg.eval.crossplay_seeds:
        # The attacker's progress: every attacker checkpoint against every defender on the same seeds.
        report = crossplay(run.path, seeds=cfg.eval.crossplay_seeds, judge=game.judge, log=console.print)
        console.print(format_crossplay(report))


def seed_mix_feedback(game: Game, episodes: list[Episode]) -> dict[str, float | None]:
    """Set the next step's harmful share from this step's benign losses; return what was used and measured."""
    cfg, sampler = game.cfg, game.sampler
    rates = defender_loss_rates(episodes, cfg.reward.answered_harmful_loss)
    used = sampler.harmful_share
    sampler.harmful_share = next_harmful_share(
        used, rates["benign"], cfg.train.benign_loss_target, cfg.train.share_gain, cfg.train.share_bounds
    )
    return {
        "train/harmful_share": used,
        "defender/loss_rate_harmful": rates["harmful"],
        "defender/loss_rate_benign": rates["benign"],
    }


def out_of_time(
    max_minutes: float | None, started: float, step_seconds: Sequence[float], reserve_seconds: float = 0.0
) -> bool:
    """Whether one more step, as long as the mean step so far, and then ``reserve_seconds`` would end past
    the budget.

    Before any step there is no mean yet: self-play then starts only if the budget is not already spent
    (a slow warm start can use all of it)."""
    if max_minutes is None:
        return False
    next_step = float(np.mean(step_seconds)) if step_seconds else 0.0
    return time.perf_counter() - started + next_step + reserve_seconds > max_minutes * 60


def budget_spent(cfg: Config, run: RunDir, started: float, step_seconds: Sequence[float]) -> str | None:
    """Which time budget another self-play step would overrun (for the console), or None."""
    if out_of_time(cfg.train.max_minutes, started, step_seconds):
        return f"train.max_minutes={cfg.train.max_minutes:g}"
    if cfg.train.run_minutes is None:
        return None
    reserve = reserved_seconds(run, cfg)
    if out_of_time(cfg.train.run_minutes, started, step_seconds, reserve or 0.0):
        kept = "nothing timed to keep" if reserve is None else f"{reserve / 60:.1f} min kept for what follows"
        return f"train.run_minutes={cfg.train.run_minutes:g} ({kept})"
    return None


def reserved_seconds(run: RunDir, cfg: Config) -> float | None:
    """How long what follows self-play will take here, judged by this run's evaluation before training.

    The evaluation after training answers the same prompts with the same budget (through merged weights), so
    it is reserved as long as the one before took. Cross-play is reserved at that evaluation's time per
    answer for at most the attacks and answers it will generate (``crossplay_samples``): its answers are
    mostly shorter than the base model's, its attacks longer; on the CPUs of docs/demo.md this kept
    0.9-1.7x what cross-play took. None when no evaluation before training was timed
    (``eval.before=false``, or a run directory from before timings were saved)."""
    path = run.path / "eval_before.json"
    timing = run.read_json(path.name).get("timing") if path.is_file() else None
    if not timing or not timing["answers"]:
        return None
    per_answer = timing["seconds"] / timing["answers"]
    seconds = timing["seconds"] if cfg.eval.after else 0.0
    if cfg.eval.crossplay_seeds:
        seconds += per_answer * sum(crossplay_samples(run.path, cfg.eval.crossplay_seeds))
    return seconds


def _mean_len(samples: Sequence[Sample]) -> float:
    return float(np.mean([len(s.completion_ids) for s in samples])) if samples else 0.0


def _describe(m: dict[str, float]) -> str:
    def f(key: str) -> str:
        v = m.get(key)
        return "  -  " if v is None or v != v else f"{v:5.2f}"

    return (
        f"self-play  def.harm {f('defender/harmful_answer_rate')}  def.overref "
        f"{f('defender/benign_refusal_rate')}  atk.succ {f('attacker/success_rate')}  "
        f"atk.fmt-fail {f('attacker/format_failure_rate')}"
    )
