"""The player on a real (tiny, random) Llama with real PEFT adapters."""

import contextlib

import pytest
import torch

from sparring.config import load_config
from sparring.models import policy
from sparring.models.policy import Sample, build_players
from sparring.rl.losses import policy_loss


@pytest.fixture(scope="module")
def players(tiny_model_dir):
    torch.manual_seed(0)
    cfg = load_config(overrides={"model": "tiny-random-llama", "lora.r": 4, "train.bf16": False})
    return build_players(cfg)


CONVERSATIONS = [
    [{"role": "user", "content": "hi"}],
    [{"role": "user", "content": "a noticeably longer request that needs more tokens to encode"}],
    [{"role": "user", "content": "medium length prompt here"}],
]


def naive_logprobs(player, sample: Sample) -> torch.Tensor:
    """Unbatched, unpadded reference computation."""
    ids = torch.tensor([sample.prompt_ids + sample.completion_ids])
    with torch.no_grad(), player._weights():
        logits = player.model(input_ids=ids).logits[0, :-1].float() / player.temperature
    logp = torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None])[:, 0]
    return logp[len(sample.prompt_ids) - 1 :]


def test_generate_returns_prompt_and_completion_tokens(players):
    samples = players["defender"].generate(CONVERSATIONS, max_new_tokens=10, batch_size=2)
    assert len(samples) == 3
    for s, conv in zip(samples, CONVERSATIONS, strict=True):
        assert 1 <= len(s.completion_ids) <= 10
        assert conv[0]["content"] in players["defender"].tokenizer.decode(s.prompt_ids)


def test_batched_padded_logprobs_match_unpadded(players):
    player = players["defender"]
    samples = player.generate(CONVERSATIONS, max_new_tokens=10)
    with torch.no_grad():
        logp, mask = player.logprobs(samples)
    for i, s in enumerate(samples):
        n = len(s.completion_ids)
        assert mask[i].sum() == n
        torch.testing.assert_close(logp[i, :n], naive_logprobs(player, s), atol=2e-4, rtol=1e-4)


def test_fresh_adapter_equals_reference(players):
    player = players["attacker"]
    samples = player.generate(CONVERSATIONS, max_new_tokens=6)
    with torch.no_grad():
        current, _ = player.logprobs(samples)
        reference, _ = player.logprobs(samples, reference=True)
    torch.testing.assert_close(current, reference)


def test_role_adapters_are_disjoint(players):
    attacker = {id(p) for p in players["attacker"].trainable_parameters()}
    defender = {id(p) for p in players["defender"].trainable_parameters()}
    assert attacker and defender and not attacker & defender


def test_positive_advantage_raises_sequence_logprob_and_leaves_other_role(players):
    defender, attacker = players["defender"], players["attacker"]
    samples = defender.generate(CONVERSATIONS[:2], max_new_tokens=8)
    with torch.no_grad():
        before, mask = defender.logprobs(samples)
        attacker_before, _ = attacker.logprobs(samples)
    params = defender.trainable_parameters()
    opt = torch.optim.SGD(params, lr=0.5)
    for p in params:
        p.requires_grad_(True)
    logp, mask = defender.logprobs(samples)
    loss, _ = policy_loss(logp, logp.detach(), torch.ones(len(samples)), mask)
    loss.backward()
    opt.step()
    opt.zero_grad()
    with torch.no_grad():
        after, _ = defender.logprobs(samples)
        attacker_after, _ = attacker.logprobs(samples)
    assert ((after - before) * mask).sum(1).min() > 0  # every sampled sequence became more likely
    torch.testing.assert_close(attacker_after, attacker_before)  # the other role's weights did not move


def test_bf16_speed_check_reads_cpuinfo_and_times_what_flags_cannot_settle():
    from sparring.models.policy import bf16_matmul_speedup, cpu_has_fast_bf16

    with_amx = "processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n"
    dot_products_only = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_fp16\n"
    emulated = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"
    assert cpu_has_fast_bf16(with_amx) is True
    assert cpu_has_fast_bf16(emulated) is False
    assert cpu_has_fast_bf16(dot_products_only) is None  # fast on some CPUs, slow on others: timed
    assert cpu_has_fast_bf16("processor\t: 0\nFeatures\t: fp asimd bf16\n") is None  # arm: timed
    speedup = bf16_matmul_speedup(repeats=1, iters=1)
    assert 0.0 < speedup < 100.0  # a real ratio of two timings, whatever this CPU makes of bf16


def test_bf16_setting_resolves_per_machine():
    from sparring.models.policy import fast_bf16, resolve_bf16

    cpu = torch.device("cpu")
    assert resolve_bf16(True, cpu) is True and resolve_bf16(False, cpu) is False  # explicit wins
    assert resolve_bf16("auto", cpu) is fast_bf16("cpu")
    cfg = load_config(overrides={"train.bf16": "auto"})
    assert cfg.train.bf16 == "auto" and load_config().train.bf16 == "auto"
    assert load_config(overrides={"train.bf16": "false"}).train.bf16 is False


def test_timing_bf16_leaves_the_global_random_stream_alone():
    from sparring.models.policy import bf16_matmul_speedup

    torch.manual_seed(7)
    want = torch.rand(3)
    torch.manual_seed(7)
    bf16_matmul_speedup(repeats=1, iters=1)  # runs inside the first train() of a process, after seeding
    torch.testing.assert_close(torch.rand(3), want)


def score_batched_and_alone(player, samples):
    """(logp, mask, grads) of ``samples`` scored in one batch, and the same scored one sample at a time."""
    params = player.trainable_parameters()

    def score(batched: bool):
        rows = (
            [player.logprobs(samples)]
            if batched
            else [player.logprobs([s]) for s in samples]  # one sample: nothing to share
        )
        width = max(r[0].shape[1] for r in rows)
        logp = torch.cat([torch.nn.functional.pad(r[0], (0, width - r[0].shape[1])) for r in rows])
        mask = torch.cat([torch.nn.functional.pad(r[1], (0, width - r[1].shape[1])) for r in rows])
        grads = torch.autograd.grad((logp * mask).sum(), params)
        return logp.detach(), mask, grads

    return score(batched=True), score(batched=False)


def assert_same_scores(batched, alone):
    (b_logp, b_mask, b_grads), (a_logp, a_mask, a_grads) = batched, alone
    torch.testing.assert_close(b_mask, a_mask)
    torch.testing.assert_close(b_logp, a_logp, atol=2e-4, rtol=1e-4)
    for b, a in zip(b_grads, a_grads, strict=True):
        torch.testing.assert_close(b, a, atol=2e-4, rtol=1e-3)
    assert any(g.abs().sum() > 0 for g in b_grads)


def spy_on_shared_path(player, monkeypatch) -> list[int]:
    """The ``prefix`` argument of every call that takes the shared path."""
    prefixes = []
    run_shared = player._completion_logits_shared

    def spy(prompts, prompt_of, samples, c_len, prefix=0):
        prefixes.append(prefix)
        return run_shared(prompts, prompt_of, samples, c_len, prefix)

    monkeypatch.setattr(player, "_completion_logits_shared", spy)
    return prefixes


@pytest.mark.parametrize("prefix_shared", [True, False])
def test_shared_prompts_score_and_train_like_separate_ones(players, monkeypatch, prefix_shared):
    """Samples that share a prompt run it once (a DPO pair, a group of one seed), on top of the system turn
    every prompt begins with (run once too, or not): the log-probs and the gradients must be those of
    scoring each sample on its own."""
    player = players["defender"]
    if not prefix_shared:
        monkeypatch.setattr(policy, "MIN_SHARED_PREFIX", 10_000)
    once = player.generate(CONVERSATIONS, max_new_tokens=7, do_sample=False)
    again = player.generate([CONVERSATIONS[2], CONVERSATIONS[0]], max_new_tokens=7)
    tokens = player.tokenizer("no thanks", add_special_tokens=False)["input_ids"]
    # Out of order, of mixed lengths, one prompt three times, one completion empty, one a single token.
    samples = [
        again[0],
        once[0],
        Sample(once[2].prompt_ids, [], "", False),
        once[1],
        again[1],
        Sample(once[0].prompt_ids, tokens[:1], "", False),
        Sample(once[2].prompt_ids, tokens, "no thanks", False),
    ]
    prefixes = spy_on_shared_path(player, monkeypatch)
    batched, alone = score_batched_and_alone(player, samples)
    # The batch took the shared path (single samples cannot), with the template's system turn as prefix.
    assert prefixes == ([24] if prefix_shared else [0])
    assert_same_scores(batched, alone)


def test_distinct_prompts_share_their_common_beginning(players, monkeypatch):
    """A defender update scores one answer per prompt: nothing repeats, but every prompt begins with the
    same system turn, which runs once. A prompt of one token past that prefix is scored too."""
    player = players["attacker"]
    system = [{"role": "system", "content": "you rewrite requests; keep the meaning and change the words"}]
    conversations = [system + c for c in CONVERSATIONS]
    samples = player.generate(conversations, max_new_tokens=6)
    longest = max(samples, key=lambda s: len(s.prompt_ids))
    short_prompt = longest.prompt_ids[: policy.shared_prefix_length([s.prompt_ids for s in samples]) + 1]
    samples.append(Sample(short_prompt, longest.completion_ids, "", False))
    prefixes = spy_on_shared_path(player, monkeypatch)
    batched, alone = score_batched_and_alone(player, samples)
    assert len(prefixes) == 1 and prefixes[0] >= policy.MIN_SHARED_PREFIX
    assert prefixes[0] == len(short_prompt) - 1  # it keeps one token of its own
    assert_same_scores(batched, alone)


def test_shared_prefix_length():
    base = list(range(10))
    assert policy.shared_prefix_length([[*base, 1, 2], [*base, 3]]) == 10
    assert policy.shared_prefix_length([base, [*base, 5, 6]]) == 9  # the shorter keeps its last token
    assert policy.shared_prefix_length([[*base, 1]]) == 0  # one prompt: nothing to share
    assert policy.shared_prefix_length([[*base[:7], 1], [*base[:7], 2]]) == 0  # under MIN_SHARED_PREFIX
    assert policy.shared_prefix_length([[1, *base], [2, *base]]) == 0


@contextlib.contextmanager
def perturbed_adapter(player, scale: float = 0.05):
    """Inside, the player's fresh adapter has non-zero LoRA B weights (a fresh one is the identity)."""
    saved = {}
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, param in player.model.named_parameters():
            if f"lora_B.{player.adapter}." in name:
                saved[name] = param.detach().clone()
                param.copy_(torch.randn(param.shape, generator=gen) * scale)
    try:
        yield
    finally:
        with torch.no_grad():
            for name, param in player.model.named_parameters():
                if name in saved:
                    param.copy_(saved[name])


def test_merged_adapter_samples_and_scores_like_the_unmerged_one(players):
    player = players["defender"]
    with perturbed_adapter(player):
        samples = player.generate(CONVERSATIONS, max_new_tokens=8, do_sample=False)
        with torch.no_grad():
            unmerged, _ = player.logprobs(samples)
            with player.merged():
                merged_samples = player.generate(CONVERSATIONS, max_new_tokens=8, do_sample=False)
                merged, _ = player.logprobs(samples)
                lora_layers = [m for m in player.model.modules() if hasattr(m, "merged_adapters")]
                assert lora_layers and all(m.merged for m in lora_layers)  # generating kept them merged
            assert not any(m.merged for m in lora_layers)  # unmerged on exit (before anything else could)
            after, _ = player.logprobs(samples)
            base, _ = player.logprobs(samples, reference=True)  # disabling the adapter would also unmerge
        assert [s.completion_ids for s in merged_samples] == [s.completion_ids for s in samples]
        torch.testing.assert_close(merged, unmerged, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(after, unmerged, atol=1e-5, rtol=1e-5)
        assert (base - unmerged).abs().max() > 1e-3  # the adapter matters, so the check above can fail


def test_evaluation_player_loads_an_adapter_folded_into_its_base(players, tmp_path):
    """``load_player`` (``sparring eval --model ADAPTER_DIR``) merges the adapter: the answers and
    log-probs are those of the base model plus the adapter."""
    player = players["defender"]
    with perturbed_adapter(player):
        paths = policy.save_adapters({"defender": player}, tmp_path)
        loaded = policy.load_player(paths["defender"], device="cpu")
        samples = player.generate(CONVERSATIONS, max_new_tokens=8, do_sample=False)
        again = loaded.generate(CONVERSATIONS, max_new_tokens=8, do_sample=False)
        with torch.no_grad():
            want, _ = player.logprobs(samples)
            got, _ = loaded.logprobs(samples)
    assert loaded.adapter is None and not hasattr(loaded.model, "peft_config")
    assert [s.completion_ids for s in again] == [s.completion_ids for s in samples]
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
