import pytest

from core.config import Settings
from core.errors import ConfigError


def test_env_overrides_toml_and_defaults(tmp_path):
    toml = tmp_path / "t.toml"
    toml.write_text('[tutor]\nllm = "extractive"\ncontext_k = 6\nport = 9000\n')
    s = Settings.load(toml, env={"TUTOR_PORT": "9100", "TUTOR_MIN_RELEVANCE": "0.5"})
    assert (s.llm, s.context_k, s.port, s.min_relevance) == ("extractive", 6, 9100, 0.5)
    assert s.embedder == "use-multilingual" and s.background_embedder == "embeddinggemma"


def test_overrides_win_and_none_is_ignored():
    s = Settings.load(env={"TUTOR_LLM": "openai"}, llm="extractive", port=None)
    assert s.llm == "extractive" and s.port == 7860


@pytest.mark.parametrize("env,needle", [
    ({"TUTOR_COLOUR": "red"}, "TUTOR_COLOUR"),
    ({"TUTOR_PORT": "eighty"}, "port"),
    ({"TUTOR_LLM": "gpt9"}, "local, openai, extractive"),
])
def test_bad_values_give_one_clear_line(env, needle):
    with pytest.raises(ConfigError) as e:
        Settings.load(env=env)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_toml_file(tmp_path):
    (tmp_path / "bad.toml").write_text("llm = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(tmp_path / "bad.toml", env={})
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml", env={})


def test_settings_are_frozen():
    s = Settings.load(env={})
    with pytest.raises(Exception):
        s.port = 1  # type: ignore[misc]
    assert s.replace(port=1).port == 1


def test_numbers_out_of_range_are_refused_at_load_with_the_bound():
    for key, bad in (("TUTOR_LLM_CTX", "-5"), ("TUTOR_PORT", "70000"), ("TUTOR_LLM_THREADS", "0"),
                     ("TUTOR_SUPPORT_THRESHOLD", "1.5"), ("TUTOR_CONTEXT_K", "0")):
        with pytest.raises(ConfigError, match=rf"out of range.*{key}"):
            Settings.load(env={key: bad})
    assert Settings.load(env={"TUTOR_LLM_CTX": "8192"}).llm_ctx == 8192


def test_a_mistyped_switch_is_refused_not_read_as_off():
    with pytest.raises(ConfigError, match="true or false"):
        Settings.load(env={"TUTOR_TRANSLATE": "ture"})
    assert Settings.load(env={"TUTOR_TRANSLATE": "off"}).translate is False
    assert Settings.load(env={"TUTOR_EXPLAIN": "Yes"}).explain is True
    assert Settings.load(env={}).render is False and Settings.load(env={"TUTOR_RENDER": "true"}).render is True
