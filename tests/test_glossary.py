"""The sources.yaml glossary: strict parsing, placeholders, and exact terms through the tiny Argos packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pressbot.config import load_config, parse_config
from pressbot.errors import ConfigError
from pressbot.glossary import Glossary, parse_glossary
from pressbot.translate.engine import EngineOptions, Translator
from pressbot.translate.packages import install_package

REPO = Path(__file__).resolve().parent.parent
DIRECTIONS = (("en", "it"), ("it", "en"), ("en", "zh"), ("zh", "en"))
SOURCES = """
sources:
  - {id: one, kind: feed, url: "https://example.com/feed.xml", language: en}
glossary:
  - {en: [Bi-City Fashion Week, Twin Cities Fashion Week], zh: 双城时装周, it: Settimana della moda Bi-City}
  - {en: Longhua, zh: 龙华, it: Longhua}
  - {en: news agency, it: agenzia di stampa}
  - keep: [HUI, Honor]
"""


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return parse_config(SOURCES, path=Path("sources.yaml")).glossary


@pytest.fixture(scope="module")
def translator(
    fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory, glossary: Glossary
) -> Translator:
    folder = tmp_path_factory.mktemp("models")
    for source, target in DIRECTIONS:
        install_package(folder, fixtures_dir / "argos" / f"translate-{source}_{target}-tiny.argosmodel")
    return Translator(folder, EngineOptions(intra_threads=1), glossary=glossary)


# --------------------------------------------------------------------------- parsing


def test_shipped_glossary_has_the_event_names() -> None:
    glossary = load_config(REPO / "sources.yaml").glossary
    event = next(e for e in glossary.entries if "双城时装周" in e.terms.get("zh", ()))
    assert event.terms["it"][0] == "Settimana della moda Bi-City"
    assert event.terms["en"][0] == "Bi-City Fashion Week"
    kept = {name for entry in glossary.entries for name in entry.keep}
    assert {"HUI", "Giacomo Santucci"} <= kept
    terms = glossary.terms("zh", "it")
    assert terms.protect("龙华的双城时装周").replacements == ("Longhua", "Settimana della moda Bi-City")


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("glossary: {en: x}", "sources.yaml: 'glossary' must be a list"),
        ("glossary: [hello]", "sources.yaml, glossary entry 1: each glossary entry must map languages"),
        (
            "glossary:\n  - {en: Longhua, zh: 龙华, fr: Longhua}",
            "glossary entry 1 (Longhua): unknown key 'fr' — allowed keys: zh, it, en, keep",
        ),
        (
            "glossary:\n  - {en: Longhua, kep: x}",
            "glossary entry 1 (Longhua): unknown key 'kep' — did you mean 'keep'?",
        ),
        ("glossary:\n  - {en: Longhua}", "glossary entry 1 (Longhua): key 'en' alone says nothing"),
        ("glossary:\n  - {keep: [HUI], en: HUI}", "glossary entry 1 (HUI): key 'keep' stands alone"),
        ("glossary:\n  - {en: Longhua, zh: ''}", "glossary entry 1 (Longhua): key 'zh' must be a term"),
        ("glossary:\n  - {keep: []}", "glossary entry 1: key 'keep' must be a term or a list of terms"),
        ("glossary:\n  - {en: Longhua, zh: {a: b}}", "key 'zh' must be a term or a list of terms"),
        (
            "glossary:\n  - {en: Longhua, zh: 龙华}\n  - {en: longhua, it: Longhua}",
            "glossary entry 2 (longhua): key 'en': 'longhua' is already in glossary entry 1",
        ),
        (
            "glossary:\n  - {keep: [HUI]}\n  - {en: Zhao, zh: 卉}\n  - {zh: 卉, it: x}",
            "glossary entry 3 (卉): key 'zh': '卉' is already in glossary entry 2",
        ),
        (
            "glossary:\n  - {keep: [HUI]}\n  - {en: Hui, zh: 卉}",
            "glossary entry 2 (Hui): key 'en': 'Hui' is already in glossary entry 1",
        ),
        ("glosary: []", "unknown top-level key 'glosary' — did you mean 'glossary'?"),
    ],
)
def test_glossary_mistakes_name_file_entry_and_key(yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(f"sources: []\n{yaml_text}\n", path=Path("sources.yaml"))
    message = str(raised.value)
    assert expected in message
    assert message.startswith("sources.yaml")


def test_no_glossary_is_an_empty_one() -> None:
    assert not parse_config("sources: []\n", path=Path("s.yaml")).glossary
    assert not parse_glossary(None, path=Path("s.yaml"))


# --------------------------------------------------------------------------- placeholders


def test_protect_replaces_longest_terms_and_whole_words_only(glossary: Glossary) -> None:
    terms = glossary.terms("en", "it")
    protected = terms.protect("The Twin Cities Fashion Week in Longhua; Longhuaxyz and HUI, not hui.")
    assert protected.text == "The ZQX0 in ZQX1; Longhuaxyz and ZQX2, not hui."
    assert protected.replacements == ("Settimana della moda Bi-City", "Longhua", "HUI")
    # the model may space the code out or change its case: the terms still come back
    assert (
        terms.restore("La zqx 0 a ZQX1; Longhuaxyz e ZQX2, non hui.", protected)
        == "La Settimana della moda Bi-City a Longhua; Longhuaxyz e HUI, non hui."
    )


def test_lower_case_terms_match_any_case_capitalised_ones_only_as_written(glossary: Glossary) -> None:
    terms = glossary.terms("en", "it")
    assert terms.protect("The News Agency said").replacements == ("agenzia di stampa",)
    assert terms.protect("in honor of Honor").text == "in honor of ZQX0"


def test_a_text_that_holds_the_marker_gets_another_one(glossary: Glossary) -> None:
    protected = glossary.terms("en", "it").protect("ZQX9 and Longhua")
    assert protected.text == "ZQX9 and QZX0" and protected.marker == "QZX"


def test_entries_without_the_target_language_let_the_model_translate(glossary: Glossary) -> None:
    terms = glossary.terms("en", "zh")
    assert terms.protect("a news agency in Longhua").text == "a news agency in ZQX0"


def test_cache_label_changes_only_for_texts_with_edited_entries(glossary: Glossary) -> None:
    edited = parse_config(SOURCES.replace("it: Longhua}", "it: Longhua (Shenzhen)}"), path=Path("s.yaml"))
    before, after = glossary.terms("en", "it"), edited.glossary.terms("en", "it")
    assert before.label("no glossary term here") == after.label("no glossary term here") == ""
    assert before.label("Bi-City Fashion Week") == after.label("Bi-City Fashion Week") != ""
    assert before.label("Longhua") != after.label("Longhua")
    assert before.label("Twin Cities Fashion Week") == before.label("Bi-City Fashion Week")  # one entry


# --------------------------------------------------------------------------- through the models


@pytest.mark.parametrize(
    ("text", "source", "target", "expected"),
    [
        (
            "hello Bi-City Fashion Week, good morning Longhua!",
            "en",
            "it",
            "ciao Settimana della moda Bi-City, buono mattina Longhua!",
        ),
        ("the Twin Cities Fashion Week news today", "en", "zh", "the 双城时装周新闻今天"),
        ("你好双城时装周世界", "zh", "en", "hello Bi-City Fashion Week world"),
        # zh → en → it: the placeholders pass through both models
        (
            "双城时装周在龙华开幕。你好世界",
            "zh",
            "it",
            "Settimana della moda Bi-City在Longhua开幕。 ciao mondo",
        ),
        ("龙华2025的HUI新闻", "zh", "it", "Longhua 2025的HUI notizie"),
        ("la Settimana della moda Bi-City oggi, Longhua", "it", "zh", "la 双城时装周今天,龙华"),
        ("ciao HUI e Honor, in honor", "it", "en", "hello HUI e Honor, in honor"),
    ],
)
def test_glossary_terms_come_out_exactly_as_configured(
    translator: Translator, text: str, source: str, target: str, expected: str
) -> None:
    assert translator.translate([text], source=source, target=target) == [expected]


def test_without_a_glossary_the_model_decides(translator: Translator) -> None:
    plain = Translator(translator.models_dir, translator.options)
    assert plain.translate(["你好双城时装周"], source="zh", target="it") == ["ciao双城时装周"]


def test_model_ids_carry_the_glossary_version_only_where_a_term_occurs(translator: Translator) -> None:
    plain, with_term = translator.model_ids(["hello world", "hello Longhua"], source="zh", target="it")
    assert plain == translator.model_id("zh", "it") == "argos:translate-zh_en-0.0.1+translate-en_it-0.0.1"
    assert plain == with_term  # "Longhua" is not a Chinese term
    [labelled] = translator.model_ids(["你好龙华"], source="zh", target="it")
    assert labelled.startswith(plain + "+glossary-")
