"""Typed run configuration: one YAML file, one namespace per concern, every field a dotted CLI flag.

    sparring train --preset demo --train.steps=4 --defender.lr=1e-4

Field descriptions double as documentation (`sparring config --help-fields`). Presets live in
``sparring/presets/*.yaml`` and list only their differences from the defaults below.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A config value is wrong; the message names the field and what was expected."""


def _comma_list(v: Any) -> Any:
    """A list field given as one string on the command line ("a,b") becomes ["a", "b"]."""
    return [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else v


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LoraSpec(_Section):
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA alpha (scale = alpha / r).")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="LoRA dropout.")
    target_modules: list[str] | str = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description='Modules to adapt, or "all-linear".',
    )


class RoleConfig(_Section):
    model: str | None = Field(
        None, description="Base model for this role in `separate` mode (HF id, local path or alias)."
    )
    adapter: str | None = Field(
        None, description="Start from this PEFT adapter directory instead of a fresh one."
    )
    trainable: bool = Field(
        True, description="False freezes the role: its opponent trains against a static copy."
    )
    lr: float = Field(5e-5, gt=0, description="AdamW learning rate of this role's trainable weights.")
    max_new_tokens: int = Field(96, ge=1, description="Sampling budget per turn.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling.")
    reasoning: bool = Field(False, description="Ask for private <think> reasoning before the visible turn.")
    system_prompt: str | None = Field(None, description="Optional system prompt (defender only).")


class AttackerConfig(RoleConfig):
    enabled: bool = Field(True, description="False: no attacker, the defender trains on the seeds alone.")
    reasoning: bool = Field(
        True, description="The attacker writes <think> reasoning the defender never sees."
    )
    max_new_tokens: int = Field(128, ge=1, description="Sampling budget per attack.")
    unrevised_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Share of seeds that go to the defender unrevised (keeps plain requests in play).",
    )
    min_topic_similarity: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="An attack whose embedding cosine to its seed is below this has dropped the seed's "
        "request and is treated like a malformed one: the defender sees the seed, the attacker gets the "
        "format penalty and no game reward (0.2 is where the faithfulness score bottoms out). None: no rule.",
    )


class DefenderConfig(RoleConfig):
    pass


class JudgeConfig(_Section):
    kind: str = Field("embedded", description="Judge name from the judge registry (or a dotted import path).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the judge factory."
    )


class RewardConfig(_Section):
    table: Literal["zero_sum", "general_sum"] = Field(
        "zero_sum", description="Reward table (docs/rewards.md)."
    )
    answered_harmful_loss: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Zero-sum: how far answering a harmful prompt without refusing is a defender loss when "
        "the judge finds the answer harmless (0: only harmful answers lose; 1: only a refusal wins).",
    )
    format_weight: float = Field(1.0, ge=0, description="Attacker penalty for a malformed turn.")
    faithfulness_weight: float = Field(
        0.5, ge=0, description="Attacker bonus for keeping the seed's label/topic."
    )
    novelty_weight: float = Field(0.0, ge=0, description="Attacker bonus for attacks unlike earlier ones.")


class WarmupConfig(_Section):
    """Supervised warm start before self-play (see ``sparring.game.demonstrations``)."""

    enabled: bool = Field(False, description="Fine-tune each role on demonstrations before RL.")
    harmful_examples: int = Field(
        200, ge=0, description="Defender: harmful seeds paired with brief refusals."
    )
    benign_examples: int = Field(
        200, ge=0, description="Defender: benign seeds paired with the base model's own answers."
    )
    alarming_benign_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the defender's benign examples wrapped in an alarming-but-benign framing "
        "(the attacker's benign strategies), answered by the base model: fewer refusals on surface cues.",
    )
    framed_harmful_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the defender's harmful examples wrapped in one of the attacker's jailbreak "
        "framings (role-play, fiction, fake authority ...), still paired with a refusal: a framing is no "
        "reason to comply.",
    )
    borderline_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the defender's benign examples drawn from benign seeds that sound dangerous "
        "(source 'borderline'), answered by the base model: teaches where the boundary is.",
    )
    seed_selection: Literal["random", "cover"] = Field(
        "random",
        description="Defender: which seeds become examples. 'random' draws them; 'cover' takes one seed per "
        "k-means cluster of each group's MiniLM embeddings (harmful, borderline, other benign), so the "
        "examples span the pool's topics whatever the training seed.",
    )
    answer_tokens: int | None = Field(
        None,
        ge=1,
        description="Defender: keep only the first tokens of its own benign answers (None: defender."
        "max_new_tokens). Whether to refuse is decided in the opening words, so short targets teach the same "
        "boundary at a fraction of the cost and leave room for more examples.",
    )
    attacker_examples: int = Field(
        200, ge=0, description="Attacker: seeds paired with a plan and a rewrite (half harmful)."
    )
    objective: Literal["sft", "dpo"] = Field(
        "sft",
        description="Defender: 'sft' imitates its demonstrations; 'dpo' pairs each one with the wrong "
        "behaviour on the same prompt (harmful seed: the base model's own answer; benign seed: a brief "
        "refusal) and raises the right one over it relative to the reference (DPO), which teaches where "
        "the boundary is rather than a general lean towards refusing.",
    )
    dpo_beta: float = Field(0.1, gt=0, description="DPO: strength of the preference (inverse temperature).")
    dpo_sft_weight: float = Field(
        1.0, ge=0, description="DPO: weight of the chosen answers' own next-token loss (keeps their wording)."
    )
    judge_pairs: bool = Field(
        False,
        description="DPO: keep only pairs whose wrong answer the judge confirms (a harmful seed's own answer "
        "judged harmful, a benign seed's own answer judged not a refusal); spare seeds are answered "
        "(twice the harmful ones, a quarter more benign ones) so the counts can still be filled.",
    )
    epochs: int = Field(2, ge=1, description="Passes over the demonstrations.")
    lr: float = Field(2e-4, gt=0, description="AdamW learning rate of the warm start.")
    batch_size: int = Field(16, ge=1, description="Demonstrations per optimizer step.")
    roles: list[Literal["attacker", "defender"]] = Field(
        default_factory=lambda: ["attacker", "defender"],
        description="Roles to warm-start (a frozen role keeps its warm-started weights).",
    )
    reference: Literal["warm_start", "base"] = Field(
        "warm_start",
        description="KL reference for RL: the warm-started adapter, or the bare base (pulls back to it).",
    )


class TrainConfig(_Section):
    steps: int = Field(20, ge=0, description="Number of self-play steps.")
    max_minutes: float | None = Field(
        None,
        gt=0,
        description="Wall-clock budget from the start of training to the end of self-play: no step starts "
        "that would end past it, judged by the mean step so far (the first one, if the budget is not yet "
        "spent); evaluation follows. run.json records where it stopped; --resume runs the remaining steps. "
        "None: no budget.",
    )
    run_minutes: float | None = Field(
        None,
        gt=0,
        description="Wall-clock budget from the start of training to the end of cross-play: no self-play "
        "step starts unless it (the mean step so far), the evaluation after training (as long as the one "
        "before took in this run) and cross-play (at the same time per answer, for an upper bound on its "
        "samples) fit. Slower machines stop self-play earlier; run.json records where. None: no budget.",
    )
    seeds_per_step: int = Field(8, ge=1, description="Distinct seeds drawn per step.")
    group_size: int = Field(2, ge=1, description="Samples per seed (group baselines need >= 2).")
    harmful_share: float = Field(0.5, ge=0, le=1, description="Probability a drawn seed is harmful.")
    exact_harmful_share: bool = Field(
        False,
        description="Keep harmful_share exactly in every step (a low-discrepancy sequence) instead of a coin "
        "per seed, so no step is mostly one label (docs/demo.md: it moved self-play towards refusing).",
    )
    share_gain: float = Field(
        0.0,
        ge=0,
        description="Feedback on the seed mix: after each step harmful_share moves by share_gain x "
        "(benign_loss_target - the defender's loss rate on that step's benign seeds), within share_bounds: "
        "more harmful seeds while it over-refuses less than the target, fewer once it over-refuses more "
        "(game/balance.py). 0: the share stays where it was set.",
    )
    benign_loss_target: float = Field(
        0.15,
        ge=0,
        le=1,
        description="With share_gain: the defender's loss rate on benign seeds (refusing them, or answering "
        "harmfully) that the harmful share is steered to hold (the demo's defender lost 0.2-0.3 of them from "
        "its warm start on).",
    )
    share_bounds: tuple[float, float] = Field(
        (0.25, 0.75), description="Lowest and highest harmful_share the feedback of share_gain may set."
    )
    algorithm: Literal["reinforce_pp", "grpo", "rloo"] = Field(
        "reinforce_pp", description="Advantage estimator: REINFORCE++ (KL in reward) or group baselines."
    )
    kl_coef: float = Field(0.05, ge=0, description="KL penalty to the reference policy (adapters disabled).")
    kl_kind: Literal["k1", "k2", "k3"] = Field("k3", description="KL estimator.")
    ppo_epochs: int = Field(1, ge=1, description="Passes over each batch; >1 enables ratio clipping.")
    clip_eps: float = Field(0.2, gt=0, description="PPO ratio clip.")
    minibatch_size: int = Field(8, ge=1, description="Sequences per forward/backward pass.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    bf16: bool | Literal["auto"] = Field(
        "auto",
        description="bfloat16 autocast for forward/backward: true, false, or auto: on where it is faster "
        "than fp32 (a GPU with bf16, a CPU with AMX, a CPU with avx512_bf16 where a matmul timed at start-up "
        "says so); where bf16 is emulated it runs slower than fp32. The choice made is in run.json.",
    )
    seed: int = Field(0, description="Seeds Python, NumPy and torch; a run is repeatable from its config.")
    log_every: int = Field(1, ge=1, description="Console log interval in steps.")
    checkpoint_every: int = Field(
        0, ge=0, description="Checkpoint (adapters + optimizer + RNG) every N steps; 0: only at the end."
    )
    trackers: list[Literal["tensorboard", "wandb", "mlflow", "none"]] = Field(
        default_factory=lambda: ["tensorboard"],
        description="Experiment trackers mirroring metrics.jsonl (runs/tracking.py): tensorboard writes "
        "RUN_DIR/tensorboard; wandb, mlflow; none: off.",
    )

    # --train.trackers=wandb or =tensorboard,wandb read naturally on the command line
    _tracker_list = field_validator("trackers", mode="before")(_comma_list)

    @field_validator("share_bounds")
    @classmethod
    def _ordered_bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= v[0] <= v[1] <= 1.0:
            raise ValueError("expected [low, high] with 0 <= low <= high <= 1")
        return v


class EvalConfig(_Section):
    suite: str = Field(
        "heldout", description="Suite for the before/after evaluation (or a path to a JSONL/CSV)."
    )
    limit: int | None = Field(64, ge=1, description="Prompts to evaluate (None: all).")
    max_new_tokens: int = Field(96, ge=1, description="Answer budget.")
    batch_size: int = Field(32, ge=1, description="Generation batch size.")
    capability_items: int = Field(
        50, ge=0, description="Reference answers scored for capability retention (log-likelihood); 0: off."
    )
    extra_suites: list[str] = Field(
        default_factory=list,
        description="More suites evaluated alongside (e.g. [jailbreak, xstest]); results under 'suites'.",
    )
    extra_limit: int | None = Field(48, ge=1, description="Prompts per extra suite (None: all).")
    crossplay_seeds: int = Field(
        0,
        ge=0,
        description="After training, play base/warm-start/final attackers against the same defenders on "
        "this many seeds (crossplay.json); 0: off.",
    )
    before: bool = Field(True, description="Evaluate the defender before training.")
    after_warmup: bool = Field(
        False, description="Also evaluate right after the warm start (eval_warmup.json): its own baseline."
    )
    after: bool = Field(True, description="Evaluate the defender after training.")


class Config(_Section):
    """Everything a run needs. Saved as ``config.yaml`` in the run directory."""

    run_dir: str | None = Field(None, description="Output directory (default runs/<preset>-<timestamp>).")
    model: str = Field("smollm2-135m-instruct", description="Base model: HF id, local path or offline alias.")
    cache_dir: str | None = Field(
        None, description="Where converted models are cached (default ~/.cache/sparring)."
    )
    mode: Literal["adapters", "shared", "separate"] = Field(
        "adapters",
        description="adapters: one base + a LoRA per role; shared: one set of weights; separate: two bases.",
    )
    device: str = Field("auto", description="auto, cpu, cuda, cuda:1, ...")
    lora: LoraSpec = Field(default_factory=LoraSpec)
    attacker: AttackerConfig = Field(default_factory=AttackerConfig)
    defender: DefenderConfig = Field(default_factory=DefenderConfig)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    warmup: WarmupConfig = Field(default_factory=WarmupConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    seeds: str | None = Field(
        None, description="A JSONL/CSV of seeds (prompt,label) instead of the shipped pools."
    )
    seed_sources: list[str] | None = Field(
        None,
        description="Which shipped seed pools to draw from (advbench, refusal_direction, do_not_answer, "
        "alpaca, borderline, persuasion; `pool:category` for one category of a pool); None: all but "
        "persuasion. For your own seeds use `seeds` instead.",
    )

    # --seed_sources=advbench,alpaca
    _source_list = field_validator("seed_sources", mode="before")(_comma_list)

    @field_validator("seed_sources")
    @classmethod
    def _known_sources(cls, v: list[str] | None) -> list[str] | None:
        from sparring.game.seeds import load_seeds

        if v is None:
            return v
        if not v:
            raise ValueError("no seed pool named; leave it unset for the default pools")
        for name in v:
            load_seeds(sources=[name])  # an unknown pool or category fails here, named
        return v

    @model_validator(mode="after")
    def _check(self) -> Config:
        if self.train.algorithm in ("grpo", "rloo") and self.train.group_size < 2:
            raise ValueError("train.group_size must be >= 2 for group baselines (grpo/rloo)")
        if self.mode != "separate" and (self.attacker.model or self.defender.model):
            raise ValueError("attacker.model/defender.model are only used with mode=separate")
        if self.seeds and self.seed_sources:
            raise ValueError("set seeds (your own file) or seed_sources (shipped pools), not both")
        return self

    @property
    def trained_roles(self) -> list[str]:
        roles = []
        if self.attacker.enabled and self.attacker.trainable:
            roles.append("attacker")
        if self.defender.trainable:
            roles.append("defender")
        return roles

    def role(self, name: str) -> RoleConfig:
        return getattr(self, name)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


# ----------------------------------------------------------------------------------------------------------
# Loading: preset or file, then dotted overrides; every error becomes one line naming the field.


def preset_names() -> list[str]:
    files = importlib.resources.files("sparring") / "presets"
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of config sections at the top level")
    return data


def _preset_dict(name: str) -> dict[str, Any]:
    path = importlib.resources.files("sparring") / "presets" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return _read_yaml(path.read_text(), f"preset {name}")


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--{dotted}: {key} is not a section")
    node[keys[-1]] = value


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """Dotted flags to a dict: ``["--train.steps=3", "--judge.kind", "embedded"]`` ->
    ``{"train.steps": 3, "judge.kind": "embedded"}``."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --section.field=value")
        key, eq, raw = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ConfigError(f"--{key} needs a value")
            i += 1
            raw = args[i]
        # YAML parsing gives numbers, booleans, null and lists their natural types.
        try:
            out[key] = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            out[key] = raw
        i += 1
    return out


def _format_validation_error(err: ValidationError, where: str) -> str:
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        got = e.get("input")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        shown = "" if isinstance(got, dict) or e["type"] == "extra_forbidden" else f" (got {got!r})"
        lines.append(f"{where}: {field}: {msg}{shown}")
    return "; ".join(lines)


def load_config(
    preset: str | None = None, path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Config:
    """Build a validated config: defaults < preset < YAML file < dotted overrides."""
    data: dict[str, Any] = {}
    where = "config"
    if preset:
        data = _preset_dict(preset)
        where = f"preset {preset}"
    if path:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        file_data = _read_yaml(path.read_text(), str(path))
        data = _merge(data, file_data)
        where = str(path)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, where)) from None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def field_help(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted name, default, description) for every field, for ``--help`` output and the docs."""
    rows = []
    for name, f in model.model_fields.items():
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += field_help(ann, f"{prefix}{name}.")
        else:
            default = f.default_factory() if f.default_factory else f.default  # type: ignore[call-arg]
            rows.append((f"{prefix}{name}", repr(default), f.description or ""))
    return rows
