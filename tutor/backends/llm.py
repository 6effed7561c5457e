"""Chat models for the tutor: a local llama.cpp server or any OpenAI-compatible API.

Both backends are the same LangChain class, `ChatOpenAI`. For the local one,
xllamacpp runs llama.cpp's own HTTP server inside this process on a loopback
port (tutor/backends/llama_server.py), so local, Ollama, vLLM and hosted APIs share one client and one
streaming path. llama.cpp's server also keeps each slot's KV cache between
requests (`cache_prompt`), so a fixed system prompt is evaluated once, not on
every turn.

Heavy imports (xllamacpp, langchain_openai, httpx) happen inside functions,
so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlparse

from core.config import Settings
from core.errors import BackendUnavailable, ConfigError, TutorError
from tutor.backends.llama_server import shared_server
from tutor.backends.models import KNOWN_MODELS, resolve_gguf

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

# A 1.5B model on 2 busy cores took up to 3.5 minutes to read a RAG prompt before
# the first token arrives, so the read timeout is generous; connecting to a
# loopback port should be instant.
LOCAL_TIMEOUT_S = 600.0
REMOTE_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0


# Sent with every request to the local server. cache_prompt is llama.cpp's
# default too, but saying it keeps the fixed system prompt's KV cache in use
# even if a future version changes the default.
LOCAL_EXTRA_BODY = {"cache_prompt": True}


def llama_cpp_options(grammar: str = "") -> dict[str, Any]:
    """Per-request keyword arguments for a local chat model's `stream`/`invoke`.

    Args:
        grammar: a GBNF grammar that constrains the answer ("" for none).
    """
    body = dict(LOCAL_EXTRA_BODY)
    if grammar:
        body["grammar"] = grammar
    return {"extra_body": body}


def make_chat_model(settings: Settings) -> "BaseChatModel":
    """Build the chat model picked by `settings.llm`.

    For "local" this resolves the GGUF file and starts the shared local
    server, so it can take seconds the first time (minutes if a model must be
    assembled first); later calls reuse the server.

    Args:
        settings: uses llm, llm_model, llm_base_url, llm_api_key, llm_ctx,
            llm_threads, temperature and max_tokens.

    Returns:
        A streaming LangChain chat model whose errors are `TutorError`s.

    Raises:
        ConfigError: the backend is not an LLM, or the OpenAI settings are incomplete.
        ModelMissing: the local model is not installed.
        BackendUnavailable: the local model failed to load.
    """
    if settings.llm == "local":
        return _local_chat_model(settings)
    if settings.llm == "openai":
        return _openai_chat_model(settings)
    raise ConfigError(f"TUTOR_LLM={settings.llm!r} has no chat model; use 'local' or 'openai'")


def _local_chat_model(settings: Settings) -> "BaseChatModel":
    import httpx  # only when something is fetched over the network

    path = resolve_gguf(settings.llm_model, settings.models_dir)
    alias = settings.llm_model if settings.llm_model in KNOWN_MODELS else path.stem  # no paths in responses
    server = shared_server(path, settings.llm_ctx, settings.llm_threads, alias, slots=settings.llm_slots)
    base_url = server.base_url + "/v1"
    timeout = httpx.Timeout(LOCAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    return _chat_openai_class()(
        model=server.alias,
        base_url=base_url,
        api_key=server.api_key,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        streaming=True,
        stream_usage=True,  # llama.cpp reports cached prompt tokens here: lets us see the prefix cache work
        extra_body=dict(LOCAL_EXTRA_BODY),
        max_retries=0,  # a retried local generation only doubles the wait
        timeout=timeout,
        # trust_env=False: an HTTP(S)_PROXY in the environment must never see loopback traffic.
        http_client=httpx.Client(trust_env=False, timeout=timeout),
        http_async_client=httpx.AsyncClient(trust_env=False, timeout=timeout),
        http_socket_options=(),  # we bring our own clients; this stops a spurious proxy warning
        backend_hint=f"the local model server ({path.name} at {server.base_url})",
    )


def _openai_chat_model(settings: Settings) -> "BaseChatModel":
    import httpx  # only when something is fetched over the network

    base_url = settings.llm_base_url or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or ""
    api_key = settings.llm_api_key or os.environ.get("OPENAI_API_KEY", "")
    if not base_url and not api_key:
        raise ConfigError(
            "TUTOR_LLM=openai needs TUTOR_LLM_BASE_URL (an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1) "
            "and/or TUTOR_LLM_API_KEY (or OPENAI_API_KEY); also set TUTOR_LLM_MODEL"
        )
    loopback = _is_loopback(base_url)
    timeout = httpx.Timeout(LOCAL_TIMEOUT_S if loopback else REMOTE_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    return _chat_openai_class()(
        model=settings.llm_model,
        base_url=base_url or None,
        api_key=api_key or "unused",  # local servers (Ollama, vLLM) ignore it, but the client requires one
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        streaming=True,
        max_retries=0 if loopback else 2,
        timeout=timeout,
        http_client=httpx.Client(trust_env=not loopback, timeout=timeout),
        http_async_client=httpx.AsyncClient(trust_env=not loopback, timeout=timeout),
        http_socket_options=(),
        backend_hint=f"the LLM API at {base_url or 'api.openai.com'} (TUTOR_LLM_BASE_URL, TUTOR_LLM_MODEL={settings.llm_model})",
    )


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def translate_errors(backend: str) -> Iterator[None]:
    """Turn client exceptions from talking to `backend` into `BackendUnavailable`.

    Args:
        backend: says what was being called and which settings to check; it
            starts the user-facing message.
    """
    import httpx  # only when something is fetched over the network
    import openai  # heavy: only with a model backend

    try:
        yield
    except TutorError:
        raise
    except openai.APITimeoutError:
        raise BackendUnavailable(f"{backend} did not answer in time; the machine may be busy: try a smaller "
                                 "TUTOR_LLM_MODEL or a lower TUTOR_CONTEXT_K") from None
    except openai.APIConnectionError as e:
        if isinstance(e.__cause__, TutorError):
            raise e.__cause__ from None
        raise BackendUnavailable(f"could not connect to {backend}: {e.__cause__ or e}; check that it is running") from None
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        raise BackendUnavailable(f"{backend} rejected the API key; check TUTOR_LLM_API_KEY") from None
    except openai.NotFoundError as e:
        raise BackendUnavailable(f"{backend} does not know the model or path ({_message(e)}); check TUTOR_LLM_MODEL") from None
    except openai.APIStatusError as e:
        raise BackendUnavailable(f"{backend} failed with HTTP {e.status_code}: {_message(e)}") from None
    except httpx.HTTPError as e:
        raise BackendUnavailable(f"could not talk to {backend}: {e}") from None


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error")
        text = body.get("message") or (inner.get("message") if isinstance(inner, dict) else inner) or body
        return str(text)[:300]
    return str(error)[:300]


@functools.cache
def _chat_openai_class() -> type:
    """ChatOpenAI whose calls raise `TutorError`s (built on first use: langchain_openai is slow to import)."""
    from langchain_openai import ChatOpenAI  # heavy (LangChain): only with a model backend

    class TutorChatOpenAI(ChatOpenAI):
        """ChatOpenAI that reports connection problems as `BackendUnavailable`."""

        backend_hint: str = "the LLM server"

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            with translate_errors(self.backend_hint):
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with translate_errors(self.backend_hint):
                yield from super()._stream(*args, **kwargs)

        async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
            with translate_errors(self.backend_hint):
                return await super()._agenerate(*args, **kwargs)

        async def _astream(self, *args: Any, **kwargs: Any) -> Any:
            with translate_errors(self.backend_hint):
                async for chunk in super()._astream(*args, **kwargs):
                    yield chunk

    return TutorChatOpenAI
