"""The export's scrubbing measured on the labelled corpus (tests/scrub_corpus.py), at the
figures docs/scrubbing.md reports: a change that lets personal data through, or eats repair
context, fails here."""

from __future__ import annotations

from tests.scrub_corpus import CORPUS, misses, score


def test_the_corpus_is_large_enough_and_labelled() -> None:
    assert len(CORPUS) >= 60
    assert sum(len(case.pii) for case in CORPUS) >= 30
    assert sum(len(case.keep) for case in CORPUS) >= 40
    for case in CORPUS:
        for item in (*case.pii, *case.keep):
            assert item in case.text, (item, case.text)


def test_recall_precision_and_context_are_as_reported() -> None:
    result = score()
    assert misses() == []
    assert (result.recall, result.precision, result.context_kept) == (1.0, 1.0, 1.0)
