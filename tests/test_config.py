import pytest

from sparring.config import Config, ConfigError, field_help, load_config, parse_overrides, preset_names


def test_presets_ship_and_validate():
    assert {"demo", "smoke"} <= set(preset_names())
    for name in preset_names():
        assert isinstance(load_config(preset=name), Config)


def test_overrides_parse_types_and_win_over_preset():
    ov = parse_overrides(
        ["--train.steps=7", "--judge.kind", "embedded", "--train.bf16=false", "--lora.r", "2"]
    )
    assert ov == {"train.steps": 7, "judge.kind": "embedded", "train.bf16": False, "lora.r": 2}
    cfg = load_config(preset="smoke", overrides=ov)
    assert cfg.train.steps == 7 and cfg.train.bf16 is False and cfg.lora.r == 2
    assert cfg.model == "tiny-random-llama"  # from the preset


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  steps: 3\n  kl_coef: 0.2\n")
    cfg = load_config(path=path, overrides={"train.steps": 4})
    assert (cfg.train.steps, cfg.train.kl_coef) == (4, 0.2)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"train.kl_coef": "abc"}, "train.kl_coef"),
        ({"train.stepz": 3}, "train.stepz: unknown field"),
        ({"attacker.temperature": 0}, "attacker.temperature"),
        ({"mode": "triple"}, "mode"),
        ({"train.algorithm": "grpo", "train.group_size": 1}, "group_size"),
        ({"seed_sources": "advbench,harmbench"}, "seed_sources: Value error, unknown seed source 'harmb"),
        ({"seed_sources": "do_not_answer:spam"}, "do_not_answer has no category 'spam'; it has ['discr"),
        ({"seed_sources": ""}, "seed_sources: Value error, no seed pool named"),
        ({"seed_sources": "advbench", "seeds": "mine.jsonl"}, "not both"),
        ({"train.share_bounds": [0.7, 0.3]}, "train.share_bounds: Value error, expected [low, high] with"),
        ({"train.share_gain": -1}, "train.share_gain"),
    ],
)
def test_bad_values_name_the_field(overrides, needle):
    with pytest.raises(ConfigError) as e:
        load_config(overrides=overrides)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  steps: 3\n bad: [\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+"):
        load_config(path=path)


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(preset="demo", overrides={"train.seed": 5})
    path = tmp_path / "config.yaml"
    path.write_text(cfg.to_yaml())
    assert load_config(path=path) == cfg


def test_every_field_is_documented():
    rows = field_help()
    assert any(name == "train.kl_coef" for name, _, _ in rows)
    undocumented = [name for name, _, desc in rows if not desc]
    assert undocumented == []


def test_trained_roles_follow_switches():
    assert load_config().trained_roles == ["attacker", "defender"]
    assert load_config(overrides={"attacker.trainable": False}).trained_roles == ["defender"]
    assert load_config(overrides={"attacker.enabled": False}).trained_roles == ["defender"]
    assert load_config(overrides={"defender.trainable": False}).trained_roles == ["attacker"]


def test_seed_sources_read_from_the_command_line():
    cfg = load_config(overrides=parse_overrides(["--seed_sources=advbench, do_not_answer:malicious_uses"]))
    assert cfg.seed_sources == ["advbench", "do_not_answer:malicious_uses"]
    assert load_config().seed_sources is None  # all shipped pools
