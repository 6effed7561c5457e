"""llama.cpp's own HTTP server, run inside this process by xllamacpp, one per GGUF file.

The chat model (tutor/backends/llm.py) talks to it over a loopback port like to any
OpenAI-compatible API. Loading a model is the slow, memory-heavy step, so a
server starts on first use and is shared by everything in the process.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from core.errors import BackendUnavailable

log = logging.getLogger(__name__)

# llama.cpp writes its own log lines straight to stderr (not through Python
# logging); this logger's level picks how many: DEBUG -> info, INFO -> warnings,
# otherwise errors only.
server_log = logging.getLogger("tutor.backends.llm.llamacpp")

class LocalLlamaServer:
    """One llama.cpp server, inside this process, for one GGUF file.

    Construction is cheap; the model is loaded on the first use of
    `base_url`. Get instances through `shared_server` so a model is loaded
    only once per process.
    """

    def __init__(self, model_path: Path, n_ctx: int, threads: int, alias: str = "", slots: int = 1) -> None:
        self.model_path = Path(model_path)
        self.n_ctx, self.slots = n_ctx, max(1, slots)
        self.threads = threads if threads > 0 else (os.cpu_count() or 1)
        self.alias = alias or self.model_path.stem
        # A random key keeps other local users and web pages (the server allows
        # any CORS origin) from using the port; it never leaves this process.
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._address = ""
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The server's root URL (`http://127.0.0.1:<port>`), starting it if needed.

        Raises:
            BackendUnavailable: xllamacpp is missing or the model failed to load.
        """
        with self._lock:
            if self._server is None:
                self._start()
            return self._address

    @property
    def started(self) -> bool:
        return self._server is not None

    def close(self) -> None:
        """Stop the server and free the model's memory."""
        with self._lock:
            self._server = None  # xllamacpp stops the server thread in its destructor
            self._address = ""

    def _start(self) -> None:
        try:
            import xllamacpp as xlc  # heavy (llama.cpp): only when a local model is served
        except ImportError as e:
            raise BackendUnavailable(
                f"the local LLM runtime is not installed ({e}); run: pip install -e . (or set TUTOR_LLM=extractive)"
            ) from None
        params = xlc.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {self.alias}
        # llama.cpp splits its context between the slots: each slot gets the configured n_ctx.
        params.n_ctx = self.n_ctx * self.slots
        params.n_parallel = self.slots  # several learners decoded in one batch (continuous batching)
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads  # prompt reading uses the batch pool
        params.cache_prompt = True
        params.ui = False
        params.api_keys = [self.api_key]
        params.verbosity = _llama_verbosity()
        log.info("loading %s (n_ctx=%d per slot, %d slots, threads=%d)", self.model_path, self.n_ctx, self.slots,
                 self.threads)
        try:
            server = xlc.Server(params)
        except RuntimeError as e:
            raise BackendUnavailable(
                f"llama.cpp could not load {self.model_path} ({e}); check that it is a complete GGUF file "
                f"and that TUTOR_LLM_CTX={self.n_ctx} fits in memory"
            ) from None
        self._server, self._address = server, server.listening_address.rstrip("/")
        # Stopped while Python still runs: left to the interpreter's teardown, the server's threads outlived
        # the runtime they use and the process ended in a segmentation fault after its last answer.
        atexit.register(self.close)
        log.info("local LLM server listening on %s", self._address)


_servers: dict[Path, LocalLlamaServer] = {}
_servers_lock = threading.Lock()


def shared_server(model_path: Path, n_ctx: int, threads: int, alias: str = "", slots: int = 1) -> LocalLlamaServer:
    """Return the process-wide server for a model file, creating it (not starting it) if needed.

    A second request for the same file with other settings reuses the first
    server: loading the model twice would double the memory.
    """
    key = Path(model_path).resolve()
    threads = threads if threads > 0 else (os.cpu_count() or 1)
    with _servers_lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = LocalLlamaServer(key, n_ctx, threads, alias, slots)
        elif (server.n_ctx, server.threads, server.slots) != (n_ctx, threads, max(1, slots)):
            log.warning("reusing the server for %s with n_ctx=%d, threads=%d", key, server.n_ctx, server.threads)
        return server


def shutdown_servers() -> None:
    """Stop every local server started by this process (tests and benchmarks use it)."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()


def _llama_verbosity() -> int:
    # llama.cpp's thresholds: 0 plain output only, 1 errors, 2 warnings, 3 info, 4 debug.
    if server_log.isEnabledFor(logging.DEBUG):
        return 3
    if server_log.isEnabledFor(logging.INFO):
        return 2
    return 1
