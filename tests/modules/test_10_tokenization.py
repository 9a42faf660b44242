"""Package tests for module 10: tinytorch.core.tokenization.

References: hand-worked merges (the classic "aaabdaaabac" example), an independent BPE written
here from the definition (every occurrence of the most frequent pair, left to right), and
hypothesis for round trips over arbitrary Unicode.
"""
from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FAST

from tinytorch.core.tokenization import BPETokenizer, CharTokenizer, count_pairs, load_corpus, merge_pair

DATA = Path(__file__).resolve().parents[2] / "tinytorch" / "data"


def reference_bpe(data: bytes, vocab_size: int):
    """Merges learned from the definition: most frequent pair (first seen on ties), count >= 2."""
    ids, merges = list(data), {}
    while 256 + len(merges) < vocab_size:
        counts = Counter(zip(ids, ids[1:]))
        if not counts or max(counts.values()) < 2:
            break
        top = max(counts.values())
        pair = next(p for p in zip(ids, ids[1:]) if counts[p] == top)
        new_id, out, i = 256 + len(merges), [], 0
        while i < len(ids):
            if tuple(ids[i:i + 2]) == pair:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids, merges[pair] = out, new_id
    return merges, ids


# ---- CharTokenizer ------------------------------------------------------------------------

@FAST
@given(st.text(min_size=1, max_size=60))
def test_char_tokenizer_round_trip_and_vocabulary(text):
    tok = CharTokenizer(text)
    assert tok.itos == sorted(set(text)) and tok.vocab_size == len(set(text))
    ids = tok.encode(text)
    assert len(ids) == len(text) and all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


def test_char_tokenizer_errors_name_the_culprit():
    tok = CharTokenizer("abc")
    with pytest.raises(ValueError, match="'z'"):
        tok.encode("abz")
    with pytest.raises(ValueError, match="3"):
        tok.decode([0, 3])
    with pytest.raises(ValueError):
        tok.decode([-1])
    with pytest.raises(ValueError):
        CharTokenizer("")


# ---- BPE helpers ----------------------------------------------------------------------------

@FAST
@given(st.lists(st.integers(0, 3), max_size=30), st.integers(0, 3), st.integers(0, 3))
def test_merge_pair_against_reference(ids, a, b):
    merged = merge_pair(ids, (a, b), 99)
    expected, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == (a, b):
            expected.append(99)
            i += 2
        else:
            expected.append(ids[i])
            i += 1
    assert merged == expected
    assert count_pairs(ids) == Counter(zip(ids, ids[1:]))


# ---- BPETokenizer ----------------------------------------------------------------------------

def test_bpe_classic_example():
    bpe = BPETokenizer().train("aaabdaaabac", 259)
    assert bpe.merges == {(97, 97): 256, (256, 97): 257, (257, 98): 258}
    assert bpe.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert bpe.vocab_size == 259 and bpe.vocab[258] == b"aaab"


@FAST
@given(st.text(alphabet="abc é", min_size=2, max_size=80), st.integers(256, 300))
def test_bpe_training_matches_reference(text, vocab_size):
    bpe = BPETokenizer().train(text, vocab_size)
    merges, ids = reference_bpe(text.encode("utf-8"), vocab_size)
    assert bpe.merges == merges and bpe.vocab_size == 256 + len(merges) <= vocab_size
    assert bpe.encode(text) == ids, "re-encoding the training text reproduces training's tokens"
    for new_id in merges.values():
        assert len(bpe.vocab[new_id]) >= 2


TRAINED = BPETokenizer().train("the quick brown fox jumps over the lazy dog; the dog sleeps. " * 4, 300)


@FAST
@given(st.text(max_size=40))
def test_bpe_round_trips_any_string(text):
    ids = TRAINED.encode(text)
    assert TRAINED.decode(ids) == text
    assert all(0 <= i < TRAINED.vocab_size for i in ids)
    assert len(ids) <= len(text.encode("utf-8"))


def test_bpe_errors_and_retraining():
    bpe = BPETokenizer()
    with pytest.raises(ValueError, match="256"):
        bpe.train("abc", 255)
    with pytest.raises(ValueError):
        bpe.decode([256])
    bpe.train("abab abab abab", 270)
    assert bpe.vocab[256] == b"ab"
    bpe.train("xyxy xyxy", 270)
    assert bpe.vocab[256] == b"xy" and b"ab" not in bpe.vocab.values(), "training again starts from scratch"
    assert bpe.decode(bpe.encode("é")[:1]) == "\ufffd"


def test_bpe_compresses_the_corpus_more_as_the_vocabulary_grows():
    text = load_corpus()[:8000]
    bpe = BPETokenizer().train(text, 256 + 64)
    lengths = [len(bpe.truncated(k).encode(text)) for k in (0, 16, 32, 64)]
    assert lengths[0] == len(text.encode("utf-8"))
    assert lengths == sorted(lengths, reverse=True) and lengths[-1] < 0.7 * lengths[0]


# ---- the corpus --------------------------------------------------------------------------------

def test_corpus_ships_with_its_provenance():
    corpus = load_corpus()
    assert corpus.startswith("In the beginning God created the heaven and the earth.\n")
    assert len(corpus) > 1_000_000 and len(set(corpus)) < 100
    packed = DATA / "kjv.txt.gz"
    assert packed.stat().st_size <= 2 * 1024 * 1024
    with gzip.open(packed) as handle:
        assert handle.read().decode("utf-8") == corpus
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "kjv.txt.gz" in readme and "public domain" in readme.lower()
