"""Language identification: ISO 639-3 answers, offline, with an accuracy floor on FLORES-200.

How the floors were set: on the *first* 50 sentences of the 204-language FLORES-200 devtest
sample (`flores200_devtest_first100_all204.jsonl`, ids 0-49), py3langid 0.4.0 through
`Py3LangidIdentifier` scored 0.5723 over all 204 codes (10,200 sentences) and 0.9491 over
the 123 codes whose language it supports (6,150 sentences). The floors are those figures
minus a margin (0.55 and 0.93), and the test below runs on the *other* 50 sentences (ids
50-99), which played no part in setting them. Most misses outside the supported set are
languages py3langid has never seen; inside it, dialects (arb_Latn, arz, acm) and
bos/hrv/srp dominate.
"""

from __future__ import annotations

import pytest

from pricing.iso639 import flores_language, to_iso639_3
from pricing.langid import Py3LangidIdentifier, identify_messages, prompt_text

FLOOR_ALL_CODES = 0.55
FLOOR_SUPPORTED = 0.93


@pytest.fixture(scope="module")
def identifier() -> Py3LangidIdentifier:
    return Py3LangidIdentifier()


def test_accuracy_floor_on_held_out_sentences(identifier: Py3LangidIdentifier,
                                              flores_sample: list[dict[str, str]]) -> None:
    held_out = flores_sample[50:100]
    assert len(held_out) == 50
    supported = identifier.supported_languages()
    hits = total = hits_supported = total_supported = 0
    for row in held_out:
        for code, sentence in row.items():
            if code == "id":
                continue
            language = flores_language(code)
            hit = identifier.identify(sentence).language == language
            hits, total = hits + hit, total + 1
            if language in supported:
                hits_supported, total_supported = hits_supported + hit, total_supported + 1
    assert total == 50 * 204
    assert hits / total >= FLOOR_ALL_CODES
    assert hits_supported / total_supported >= FLOOR_SUPPORTED


@pytest.mark.parametrize("text, language", [
    ("यह वाक्य हिंदी में लिखा गया है और इसमें कई शब्द हैं।", "hin"),
    ("The committee will publish its findings next week.", "eng"),
    ("Le comité publiera ses conclusions la semaine prochaine.", "fra"),
    ("Der Ausschuss wird seine Ergebnisse nächste Woche veröffentlichen.", "deu"),
    ("委员会将在下周公布调查结果。", "zho"),
])
def test_answers_are_iso639_3(identifier: Py3LangidIdentifier, text: str, language: str) -> None:
    guess = identifier.identify(text)
    assert guess.language == language
    assert 0.0 < guess.confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   \n\t", "\ud800\udfff broken surrogates \udc00",
                                  "\x00\x01\x02", "12345 !!! ???"])
def test_odd_text_never_crashes(identifier: Py3LangidIdentifier, text: str) -> None:
    assert len(identifier.identify(text).language) == 3


def test_empty_text_is_undetermined(identifier: Py3LangidIdentifier) -> None:
    assert identifier.identify("  ").language == "und"


def test_macrolanguages_map_to_flores_codes() -> None:
    assert to_iso639_3("ar") == "arb" and to_iso639_3("fa") == "pes"
    assert to_iso639_3("hi") == "hin" and to_iso639_3("zh") == "zho"
    assert to_iso639_3("??") == "und"


def test_user_text_decides_over_an_english_system_prompt(
        identifier: Py3LangidIdentifier) -> None:
    messages = [
        {"role": "system", "content": "You are a helpful assistant. Answer concisely."},
        {"role": "user", "content": "मुझे दिल्ली से मुंबई जाने का सबसे सस्ता तरीका बताइए।"},
    ]
    assert "helpful" not in prompt_text(messages)
    assert identify_messages(identifier, messages).language == "hin"


def test_the_fast_scorer_answers_as_py3langid_does(flores_sample: list[dict[str, str]]) -> None:
    """`Py3LangidIdentifier` scores with its own `_Scorer` (float32 rows kept hot, a dict
    count) instead of py3langid's `classify`: on every FLORES-200 sentence of the sample (204
    languages, scripts and aliases included), cut to the 512 characters the gateway reads,
    and on texts with no features at all, the label is the same and so is the confidence,
    to float32 rounding."""
    from pricing.langid import _Scorer, _shipped_model

    model = _shipped_model()
    scorer = _Scorer.of(model)
    assert scorer is not None  # the shipped py3langid is the layout the scorer reads
    texts = [sentence[:512] for row in flores_sample for code, sentence in row.items()
             if code != "id"]
    texts += ["", "   ", "1234 5678", "!!!", "ДОБРО ПОЖАЛОВАТЬ", "srpski језик је леп"]
    for text in texts:
        label, confidence = scorer.classify(text)
        expected_label, expected_confidence = model.classify(text)
        assert label == expected_label, text
        assert confidence == pytest.approx(float(expected_confidence), rel=1e-5, abs=1e-7), text


def test_the_fast_scorer_falls_back_to_py3langid_once_its_hot_rows_are_full() -> None:
    from pricing.langid import _Scorer, _shipped_model

    model = _shipped_model()
    scorer = _Scorer(model, hot_rows=4)  # fewer than one prompt's features
    for text in ("Write one sentence about the sea.", "Écris une phrase sur la mer."):
        assert scorer.classify(text) == model.classify(text)
    assert len(scorer._slots) == 4
