"""Rebuild tinytorch/data/kjv.txt.gz from Debian's King James Bible (run once; the result is committed).

    apt-get install bible-kjv-text bible-kjv      # the text and its reader, `bible`
    python milestones/03_tiny_gpt/make_corpus.py

Takes Genesis 1:1 to Ruth 4:22 (the first eight books), drops chapter headings and verse
numbers, and writes one verse per line, gzipped deterministically (mtime 0).
"""
import gzip
import re
import subprocess
from pathlib import Path

FIRST, LAST = "Ge1:1", "Ru4:22"
TARGET = Path(__file__).resolve().parents[2] / "tinytorch" / "data" / "kjv.txt.gz"
VERSE = re.compile(r"^\s+\d+ (.*\S)\s*$")


def main():
    raw = subprocess.run(["bible", "-l10000", f"{FIRST}-{LAST}"], capture_output=True, text=True,
                         check=True).stdout
    verses = [m.group(1) for m in map(VERSE.match, raw.splitlines()) if m]
    text = "\n".join(verses) + "\n"
    with open(TARGET, "wb") as raw_file, gzip.GzipFile(fileobj=raw_file, mode="wb", mtime=0, filename="") as out:
        out.write(text.encode("utf-8"))
    print(f"{len(verses)} verses, {len(text):,} characters -> {TARGET} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
