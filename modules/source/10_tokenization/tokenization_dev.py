# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 10 — Tokenization: from text to integers
#
# A network computes with numbers, so before a model can read or write text, the text must become
# a list of integers — **tokens** — and back. This module builds the two tokenizers every language
# model course meets first.
#
# **Goals of this module**
# - Build a character tokenizer: one token per character, the vocabulary read off the text.
# - See why models prefer **subwords**: fewer tokens per character means a model sees more text
#   in the same context window.
# - Write byte-pair encoding (BPE): count adjacent pairs, merge the most frequent one, repeat.
# - Make it **byte-level**, so that any string — emoji, accents, characters never seen in
#   training — encodes and decodes back exactly.
# - Plot how many tokens a character costs as the vocabulary grows.

# %%
#| default_exp core.tokenization

# %%
#| export
import gzip
from collections import Counter
from importlib.resources import files

# %%
import os

SHOW = __name__ == "__main__" and not os.environ.get("TINYTORCH_GRADING")  # demos only when you run it

# %% [markdown]
# ## The text we will model
#
# The course ships a public-domain corpus: the first eight books of the King James Bible (1611),
# about a million characters, one verse per line (`tinytorch/data/kjv.txt.gz`; its source and
# licence are in `tinytorch/data/README.md`). `load_corpus()` (given) returns it as one string.

# %%
#| export
def load_corpus():
    """The shipped corpus (King James Bible, Genesis to Ruth) as one string, one verse per line."""
    with files("tinytorch").joinpath("data", "kjv.txt.gz").open("rb") as raw, gzip.open(raw) as handle:
        return handle.read().decode("utf-8")


# %%
if SHOW:
    corpus = load_corpus()
    print(f"{len(corpus):,} characters, {len(set(corpus))} distinct; it starts:\n")
    print(corpus[:300])

# %% [markdown]
# ## Step 1 — One token per character
#
# The simplest tokenizer gives every distinct character of a text its own number. Sorting the
# characters makes the numbering reproducible: the same text always gives the same vocabulary.
#
# ```
# text "hello"  →  vocabulary ['e', 'h', 'l', 'o']  →  encode("hello") = [1, 0, 2, 2, 3]
# ```
#
# `CharTokenizer(text)` keeps `stoi` (string → integer) and `itos` (integer → string), and
# `vocab_size`, the number of distinct characters. There are no extra tokens (no "unknown", no
# "end of text"): a character the text never contained can't be encoded, and `encode` says which
# one with a `ValueError`. Likewise `decode` rejects an id outside `0 … vocab_size − 1`.

# %% nbgrader={"grade": false, "grade_id": "char-tokenizer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CharTokenizer:
    """One token per character; the vocabulary is the sorted set of characters in `text`."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ValueError("CharTokenizer needs a non-empty string to read its vocabulary from")
        # TODO: self.itos = the sorted list of distinct characters in `text`;
        #       self.stoi = a dict from each character to its position in itos.
        ### BEGIN SOLUTION
        self.itos = sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.itos)}
        ### END SOLUTION

    @property
    def vocab_size(self):
        """How many distinct tokens there are."""
        return len(self.itos)

    def encode(self, text):
        """The list of token ids of `text`; ValueError for a character outside the vocabulary."""
        # TODO: look every character up in self.stoi. For a character that is missing, raise
        #       ValueError(f"character {ch!r} is not in the vocabulary of {self.vocab_size} characters").
        ### BEGIN SOLUTION
        stoi = self.stoi
        try:
            return [stoi[ch] for ch in text]
        except KeyError as missing:
            raise ValueError(f"character {missing.args[0]!r} is not in the vocabulary of "
                             f"{self.vocab_size} characters") from None
        ### END SOLUTION

    def decode(self, ids):
        """The text of a list of token ids; ValueError for an id outside 0 … vocab_size − 1."""
        # TODO: join self.itos[i] for every id. An id that is not an integer in
        #       range(self.vocab_size) raises ValueError naming the id and vocab_size
        #       (careful: a negative index would silently work on a list).
        ### BEGIN SOLUTION
        chars = []
        for i in ids:
            if isinstance(i, bool) or not hasattr(i, "__index__") or not 0 <= int(i) < self.vocab_size:
                raise ValueError(f"token id {i!r} is outside the vocabulary (vocab_size={self.vocab_size})")
            chars.append(self.itos[int(i)])
        return "".join(chars)
        ### END SOLUTION

    def __repr__(self):
        return f"CharTokenizer(vocab_size={self.vocab_size})"


# %% nbgrader={"grade": true, "grade_id": "test-char-tokenizer", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
tok = CharTokenizer("hello world")
assert tok.itos == [" ", "d", "e", "h", "l", "o", "r", "w"], f"sorted distinct characters, got {tok.itos}"
assert tok.vocab_size == 8, f"CharTokenizer('hello world').vocab_size: expected 8, got {tok.vocab_size}"
assert tok.encode("hello") == [3, 2, 4, 4, 5], f"encode('hello'): expected [3, 2, 4, 4, 5], got {tok.encode('hello')!r:.80}"
assert tok.decode(tok.encode("world hello")) == "world hello", \
    f"decode(encode('world hello')): expected 'world hello', got {tok.decode(tok.encode('world hello'))!r:.80}"
assert tok.encode("") == [], f"encode(''): expected [], got {tok.encode('')!r:.80}"
assert tok.decode([]) == "", f"decode([]): expected '', got {tok.decode([])!r:.80}"
try:
    tok.encode("hi!")
    raise AssertionError("'!' is not in the vocabulary: encode must raise ValueError")
except ValueError as err:
    assert "'i'" in str(err), f"the message should name the character, got: {err}"
try:
    tok.decode([-1])
    raise AssertionError("decode must reject id -1")
except ValueError:
    pass
print("✅ CharTokenizer round-trips its text and rejects what it can't encode")
### BEGIN HIDDEN TESTS
t2 = CharTokenizer("banana")
assert t2.stoi == {"a": 0, "b": 1, "n": 2}, f"CharTokenizer('banana').stoi: expected {{'a': 0, 'b': 1, 'n': 2}}, got {t2.stoi!r:.80}"
assert t2.decode([1, 0, 2]) == "ban", f"decode([1, 0, 2]): expected 'ban', got {t2.decode([1, 0, 2])!r:.80}"
for bad in ([3], [0, 8], [1.0]):
    try:
        t2.decode(bad)
        raise AssertionError(f"decode({bad}) must raise ValueError")
    except ValueError:
        pass
import numpy as np
assert t2.decode(list(np.array([2, 0]))) == "na", \
    f"NumPy integers are ids too: decode(list(np.array([2, 0]))) expected 'na', got {t2.decode(list(np.array([2, 0])))!r:.80}"
### END HIDDEN TESTS

# %% [markdown]
# ## Why subwords?
#
# A character tokenizer needs one token per character: the corpus above becomes a million tokens.
# A model that sees 64 tokens at a time then sees 64 characters — about a dozen words. If common
# chunks (`" the"`, `"and "`, `"ing"`) were single tokens, the same 64 tokens would cover several
# times more text, and the model would not have to learn to spell every word from scratch.
#
# Whole words don't work either: there are too many of them, and a new word (a name, a typo)
# would have no token at all. **Subwords** sit in between: frequent words become one token,
# rare words are spelled from smaller pieces, and anything can still be written letter by letter.
#
# ## Step 2 — Byte-pair encoding: the merge loop
#
# BPE (Sennrich et al., 2016; byte-level as in GPT-2) learns its subwords from the text:
#
# 1. Start from the text's **UTF-8 bytes**: 256 possible tokens, ids 0–255, which can spell any
#    string at all (an emoji is 4 bytes, "é" is 2).
# 2. Count every pair of neighbouring tokens.
# 3. Give the most frequent pair a new id (256, then 257, …) and replace each of its occurrences
#    by that id. Record the merge.
# 4. Repeat until the vocabulary has the size you asked for.
#
# Two helpers do steps 2 and 3. `count_pairs([1, 2, 3, 1, 2])` counts `(1, 2)` twice, `(2, 3)`
# and `(3, 1)` once; it returns a `collections.Counter`, whose keys keep the order in which pairs
# were first seen. `merge_pair(ids, pair, new_id)` scans left to right and replaces each
# non-overlapping occurrence: `merge_pair([5, 5, 5], (5, 5), 9) == [9, 5]`.

# %% nbgrader={"grade": false, "grade_id": "bpe-helpers", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def count_pairs(ids):
    """How often each pair of neighbouring ids occurs: a Counter {(a, b): count}, in first-seen order."""
    # TODO: a Counter over the pairs (ids[0], ids[1]), (ids[1], ids[2]), …
    # HINT: zip(ids, ids[1:]) yields exactly those pairs.
    ### BEGIN SOLUTION
    return Counter(zip(ids, ids[1:]))
    ### END SOLUTION


def merge_pair(ids, pair, new_id):
    """A new list: every non-overlapping occurrence of `pair` in `ids` (left to right) becomes `new_id`."""
    # TODO: walk through ids with an index i. Where ids[i], ids[i + 1] equal the pair, append
    #       new_id and skip two; otherwise append ids[i] and move one.
    ### BEGIN SOLUTION
    first, second = pair
    out, i, n = [], 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == first and ids[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test-bpe-helpers", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
counts = count_pairs([1, 2, 3, 1, 2])
assert counts == {(1, 2): 2, (2, 3): 1, (3, 1): 1}, \
    f"count_pairs([1, 2, 3, 1, 2]): expected {{(1, 2): 2, (2, 3): 1, (3, 1): 1}}, got {counts!r:.80}"
assert list(counts) == [(1, 2), (2, 3), (3, 1)], \
    f"count_pairs keeps first-seen order: expected keys [(1, 2), (2, 3), (3, 1)], got {list(counts)!r:.80}"
assert count_pairs([7]) == {}, f"count_pairs([7]): expected {{}}, got {count_pairs([7])!r:.80}"
assert count_pairs([]) == {}, f"count_pairs([]): expected {{}}, got {count_pairs([])!r:.80}"
assert merge_pair([1, 2, 3, 1, 2], (1, 2), 256) == [256, 3, 256], \
    f"merge_pair([1, 2, 3, 1, 2], (1, 2), 256): expected [256, 3, 256], got {merge_pair([1, 2, 3, 1, 2], (1, 2), 256)!r:.80}"
assert merge_pair([5, 5, 5], (5, 5), 9) == [9, 5], \
    f"occurrences don't overlap: merge_pair([5, 5, 5], (5, 5), 9) expected [9, 5], got {merge_pair([5, 5, 5], (5, 5), 9)!r:.80}"
ids = [4, 4, 4, 4]
merged = merge_pair(ids, (4, 4), 7)
assert merged == [7, 7], f"merge_pair([4, 4, 4, 4], (4, 4), 7): expected [7, 7], got {merged!r:.80}"
assert ids == [4, 4, 4, 4], f"merge_pair must leave its input list alone: [4, 4, 4, 4] became {ids!r:.80}"
print("✅ count_pairs and merge_pair")
### BEGIN HIDDEN TESTS
assert merge_pair([1, 2], (2, 1), 9) == [1, 2], \
    f"merge_pair([1, 2], (2, 1), 9): expected [1, 2] (the pair is ordered), got {merge_pair([1, 2], (2, 1), 9)!r:.80}"
assert merge_pair([], (1, 2), 9) == [], f"merge_pair([], (1, 2), 9): expected [], got {merge_pair([], (1, 2), 9)!r:.80}"
assert merge_pair([3, 1, 2, 1, 2, 2], (1, 2), 8) == [3, 8, 8, 2], \
    f"merge_pair([3, 1, 2, 1, 2, 2], (1, 2), 8): expected [3, 8, 8, 2], got {merge_pair([3, 1, 2, 1, 2, 2], (1, 2), 8)!r:.80}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3 — The tokenizer
#
# `BPETokenizer()` starts with the 256 byte tokens. `train(text, vocab_size)` runs the merge loop
# on `text`'s bytes until there are `vocab_size` tokens; of several equally frequent pairs it
# merges the one seen first. It stops early when no pair occurs twice any more (merging a pair
# seen once teaches nothing), so `vocab_size` tells the size actually reached.
#
# It keeps two tables:
# - `merges`: `{(a, b): new_id}` in the order learned;
# - `vocab`: `{id: bytes}` — `vocab[i]` for `i < 256` is the single byte `bytes([i])`, and a
#   merged token's bytes are its two parts' bytes joined.
#
# **Encoding** a new string repeats the merges *in the order they were learned*: among the pairs
# present, merge the one with the smallest new id, until no learned pair is left. (Merging in a
# different order can give different tokens than training did.) **Decoding** joins the tokens'
# bytes and decodes them as UTF-8. Every string's bytes are ids 0–255, so
# `decode(encode(s)) == s` for any string, including characters training never saw. A list of
# ids that splits a character's bytes (say, the first byte of "é" alone) is not valid UTF-8;
# `decode` shows the replacement character `�` for it rather than failing.

# %% nbgrader={"grade": false, "grade_id": "bpe-tokenizer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BPETokenizer:
    """Byte-level byte-pair encoding: 256 byte tokens plus the merges learned by `train`."""

    def __init__(self):
        self.merges = {}                                   # (a, b) -> new id, in learned order
        self.vocab = {i: bytes([i]) for i in range(256)}   # id -> the bytes it stands for

    @property
    def vocab_size(self):
        """256 byte tokens plus one per merge."""
        return len(self.vocab)

    def train(self, text, vocab_size):
        """Learn merges from `text` until there are `vocab_size` tokens (or no pair repeats); returns self."""
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 256:
            raise ValueError(f"vocab_size must be an integer of at least 256 (the byte tokens), got {vocab_size!r}")
        if not isinstance(text, str):
            raise ValueError(f"train needs a string, got {type(text).__name__}")
        self.__init__()                                    # training again starts from scratch
        ids = list(text.encode("utf-8"))
        # TODO: while self.vocab_size < vocab_size:
        #         counts = count_pairs(ids); stop if there are none or the top count is below 2;
        #         pair = the most frequent pair (first seen among ties: max(counts, key=counts.get));
        #         new_id = self.vocab_size; ids = merge_pair(ids, pair, new_id);
        #         record self.merges[pair] = new_id and self.vocab[new_id] = the two parts' bytes joined.
        ### BEGIN SOLUTION
        while self.vocab_size < vocab_size:
            counts = count_pairs(ids)
            if not counts:
                break
            pair = max(counts, key=counts.get)
            if counts[pair] < 2:
                break
            new_id = self.vocab_size
            ids = merge_pair(ids, pair, new_id)
            self.merges[pair] = new_id
            self.vocab[new_id] = self.vocab[pair[0]] + self.vocab[pair[1]]
        ### END SOLUTION
        return self

    def encode(self, text):
        """Token ids of `text`: its UTF-8 bytes, merged in the order the merges were learned."""
        if not isinstance(text, str):
            raise ValueError(f"encode needs a string, got {type(text).__name__}")
        ids = list(text.encode("utf-8"))
        # TODO: while at least two ids are left: among the pairs in count_pairs(ids), take the
        #       one with the smallest id in self.merges (pairs not in merges never win); if none
        #       is in merges, stop; else ids = merge_pair(ids, pair, self.merges[pair]).
        ### BEGIN SOLUTION
        merges, never = self.merges, float("inf")
        while len(ids) >= 2:
            pair = min(count_pairs(ids), key=lambda p: merges.get(p, never))
            if pair not in merges:
                break
            ids = merge_pair(ids, pair, merges[pair])
        return ids
        ### END SOLUTION

    def decode(self, ids):
        """The string of token ids (bytes that are not valid UTF-8 show as '�'); ValueError for an unknown id."""
        # TODO: join self.vocab[i] for every id (an id missing from vocab raises ValueError naming
        #       the id and vocab_size), then .decode("utf-8", errors="replace").
        ### BEGIN SOLUTION
        vocab, parts = self.vocab, []
        for i in ids:
            piece = vocab.get(i) if not isinstance(i, bool) and hasattr(i, "__index__") else None
            if piece is None:
                raise ValueError(f"token id {i!r} is outside the vocabulary (vocab_size={self.vocab_size})")
            parts.append(piece)
        return b"".join(parts).decode("utf-8", errors="replace")
        ### END SOLUTION

    def truncated(self, num_merges):
        """A copy that knows only the first `num_merges` merges (a smaller vocabulary of the same training)."""
        smaller = BPETokenizer()
        for pair, new_id in list(self.merges.items())[:num_merges]:
            smaller.merges[pair] = new_id
            smaller.vocab[new_id] = self.vocab[new_id]
        return smaller

    def __repr__(self):
        return f"BPETokenizer(vocab_size={self.vocab_size})"


# %% nbgrader={"grade": true, "grade_id": "test-bpe-train", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
bpe = BPETokenizer()
assert bpe.vocab_size == 256, f"untrained BPETokenizer().vocab_size: expected 256, got {bpe.vocab_size}"
assert bpe.encode("hi") == [104, 105], \
    f"untrained, one token per byte: encode('hi') expected [104, 105], got {bpe.encode('hi')!r:.80}"
bpe.train("aaabdaaabac", vocab_size=259)
# bytes a a a b d a a a b a c -> (a,a) is the most frequent pair -> 256; then (256,a) -> 257;
# then (257,b) -> 258: the text is now [258, d, 258, a, c]
assert bpe.merges == {(97, 97): 256, (256, 97): 257, (257, 98): 258}, \
    f"merges after train('aaabdaaabac', 259): expected {{(97, 97): 256, (256, 97): 257, (257, 98): 258}}, got {bpe.merges!r:.80}"
assert bpe.vocab[258] == b"aaab", f"vocab[258]: expected b'aaab', got {bpe.vocab[258]!r:.80}"
assert bpe.vocab_size == 259, f"vocab_size after train(..., 259): expected 259, got {bpe.vocab_size}"
assert bpe.encode("aaabdaaabac") == [258, 100, 258, 97, 99], \
    f"encode('aaabdaaabac'): expected [258, 100, 258, 97, 99], got {bpe.encode('aaabdaaabac')!r:.80}"
assert bpe.decode([258, 100]) == "aaabd", f"decode([258, 100]): expected 'aaabd', got {bpe.decode([258, 100])!r:.80}"
print("✅ BPE learns the merges of the classic example")
### BEGIN HIDDEN TESTS
again = BPETokenizer().train("abababab", 300)
assert again.merges == {(97, 98): 256, (256, 256): 257} and again.vocab_size == 258, \
    (f"training stops when no pair occurs twice: train('abababab', 300) expected merges "
     f"{{(97, 98): 256, (256, 256): 257}} and vocab_size 258, got {again.merges!r:.80} and {again.vocab_size}")
assert again.encode("abababab") == [257, 257], \
    f"encode('abababab'): expected [257, 257], got {again.encode('abababab')!r:.80}"
assert again.encode("ababab") == [257, 256], f"encode('ababab'): expected [257, 256], got {again.encode('ababab')!r:.80}"
try:
    BPETokenizer().train("abc", 100)
    raise AssertionError("vocab_size below 256 must raise ValueError")
except ValueError:
    pass
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test-bpe-roundtrip", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
text = "the cat sat on the mat; the hat is on the cat. " * 5
bpe = BPETokenizer().train(text, vocab_size=280)
for s in [text, "the rat", "naïve café ☕ 🐍", "", "\n\t"]:
    assert bpe.decode(bpe.encode(s)) == s, \
        f"decode(encode(s)) should give s back: s = {s!r:.80}, got {bpe.decode(bpe.encode(s))!r:.80}"
assert len(bpe.encode(text)) < len(text) / 3, \
    f"trained on it, BPE compresses the text: expected fewer than {len(text) / 3:.1f} tokens, got {len(bpe.encode(text))}"
assert bpe.decode(bpe.encode("é")[:1]) == "\ufffd", \
    f"half a character decodes to the replacement character '\\ufffd', got {bpe.decode(bpe.encode('é')[:1])!r:.80}"
try:
    bpe.decode([bpe.vocab_size])
    raise AssertionError("an id outside the vocabulary must raise ValueError")
except ValueError:
    pass
print("✅ byte-level BPE round-trips any string")
### BEGIN HIDDEN TESTS
for s in ["ZZZ", "日本語のテキスト", "the cat" * 3, "x" * 50]:
    ids = bpe.encode(s)
    assert bpe.decode(ids) == s, f"decode(encode(s)) should give s back: s = {s!r:.80}, got {bpe.decode(ids)!r:.80}"
    assert all(0 <= i < bpe.vocab_size for i in ids), \
        f"encode({s!r:.40}) gave ids outside [0, {bpe.vocab_size}): {[i for i in ids if not 0 <= i < bpe.vocab_size]!r:.80}"
# encoding applies merges in learned order, so re-encoding the training text gives training's tokens
ids = list(text.encode("utf-8"))
for pair, new_id in bpe.merges.items():
    ids = merge_pair(ids, pair, new_id)
assert bpe.encode(text) == ids, \
    f"encode applies the merges in learned order: expected {ids!r:.80}, got {bpe.encode(text)!r:.80}"
assert bpe.truncated(3).vocab_size == 259, f"truncated(3).vocab_size: expected 259, got {bpe.truncated(3).vocab_size}"
assert bpe.truncated(0).encode("ab") == [97, 98], \
    f"truncated(0) keeps bytes only: encode('ab') expected [97, 98], got {bpe.truncated(0).encode('ab')!r:.80}"
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4 — Tokens per character as the vocabulary grows
#
# Each merge makes the training text shorter by the number of times its pair occurred, so the
# first merges (`"e "`, `"th"`, `" the"`, …) pay off most and later ones less. The figure below
# trains BPE once on 20,000 characters of the corpus and measures, for the first *k* merges, how
# many tokens one character costs — on the training slice and on a slice the tokenizer never saw.
# The held-out curve sits a little above the training one: merges learned from one text fit it
# best, but common English chunks carry over.

# %%
def tokens_per_character(tokenizer, text):
    """How many tokens one character of `text` costs, on average."""
    return len(tokenizer.encode(text)) / len(text)


if SHOW:
    import matplotlib.pyplot as plt

    corpus = load_corpus()
    train_text, held_out = corpus[:20_000], corpus[-10_000:]
    bpe = BPETokenizer().train(train_text, vocab_size=256 + 192)
    sizes = [0, 16, 32, 64, 128, 192]
    curves = {name: [tokens_per_character(bpe.truncated(k), part) for k in sizes]
              for name, part in (("training slice", train_text), ("held-out slice", held_out))}
    learned = [bpe.vocab[i].decode("utf-8", errors="replace") for i in range(256, 266)]
    print("first ten merges:", learned)
    print("a verse in tokens:", [bpe.decode([i]) for i in bpe.encode("And God said, Let there be light")])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in curves.items():
        ax.plot([256 + k for k in sizes], values, marker="o", label=name)
    ax.axhline(1.0, color="grey", ls=":", label="one token per character")
    ax.set_xlabel("vocabulary size (256 bytes + merges)")
    ax.set_ylabel("tokens per character")
    ax.set_title("Byte-level BPE on the King James Bible")
    ax.legend()
    fig.tight_layout()
    plt.show()

# %% [markdown]
# About 200 merges already halve the number of tokens, even on text the merges were not learned from. GPT-2 uses 50,257 tokens and needs
# about one token per four characters of English.

# %% [markdown]
# ## What you built
#
# `tinytorch.core.tokenization` holds `CharTokenizer`, `BPETokenizer`, the two BPE helpers and
# `load_corpus`:
#
# ```python
# from tinytorch.core.tokenization import CharTokenizer, BPETokenizer, load_corpus
# tok = CharTokenizer(load_corpus())
# ids = tok.encode("In the beginning")
# ```
#
# Next, module 11 turns these integers into vectors a network can learn from: embeddings.

# %% [markdown]
# ## Exercises (not graded)
#
# 1. Count tokens on the shipped corpus: `CharTokenizer(load_corpus())` needs exactly one token
#    per character (a vocabulary of 62). Train `BPETokenizer` on `corpus[:20_000]` with
#    `vocab_size=256 + 192` and encode `corpus[:100_000]`: how many tokens, and how many per
#    character? Check that `decode(encode(text)) == text`. Which has the bigger vocabulary, and
#    which the shorter sequences?
# 2. Encode `"café 🙂"` with both tokenizers. Why does `CharTokenizer` raise a `ValueError` while
#    BPE always succeeds? Decode each BPE token of `"é"` on its own: why do you get `'�'`?
# 3. Print the learned tokens (`bpe.vocab[i]` for `i ≥ 256`) longer than five bytes. Which words
#    of the corpus do they show, and why do so many of them start or end with a space or newline?
