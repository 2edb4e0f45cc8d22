#!/usr/bin/python3
"""Extract the built-in text corpus: the opening chapters of Jane Austen's
"Pride and Prejudice" (1813; public domain), from the text that Debian's
r-cran-janeaustenr package distributes (MIT-licensed R package; the novel
text itself is public domain, from Project Gutenberg).

    apt-get download r-cran-janeaustenr && dpkg-deb -x r-cran-janeaustenr_*.deb pkg
    /usr/bin/python3 tools/extract_corpus.py pkg data/pride_and_prejudice.txt

The package stores its data as an R lazy-load database (Rdata.rdb): a series
of zlib streams, each an R serialisation in XDR format. The novel is a
character vector, one element per line; its strings are CHARSXP records
(a 4-byte flags word whose low byte is 9, a 4-byte length, the bytes)."""
import struct
import sys
import zlib

LIMIT = 300_000  # bytes: "a few hundred KB at most"


def chunks(rdb):
    pos = 0
    while pos < len(rdb):
        d = zlib.decompressobj()
        out = d.decompress(rdb[pos + 4:])
        yield out
        pos += 4 + (len(rdb) - pos - 4 - len(d.unused_data))


def charsxps(buf):
    i = 0
    while i < len(buf) - 8:
        flags, n = struct.unpack(">Ii", buf[i:i + 8])
        if flags & 0xFF == 9 and 0 <= n < 100000 and i + 8 + n <= len(buf):
            yield buf[i + 8:i + 8 + n].decode("utf-8")
            i += 8 + n
        else:
            i += 1


def main():
    pkg, out = sys.argv[1], sys.argv[2]
    rdb = open(pkg + "/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb", "rb").read()
    for c in chunks(rdb):
        lines = list(charsxps(c))
        if lines and lines[0] == "PRIDE AND PREJUDICE":
            break
    else:
        sys.exit("Pride and Prejudice not found")
    text, size = [], 0
    for line in lines:
        # stop at the last chapter heading that keeps the text under LIMIT
        if line.startswith("Chapter ") and size > LIMIT * 0.9:
            break
        text.append(line)
        size += len(line.encode()) + 1
    while text and not text[-1].strip():
        text.pop()
    open(out, "w", encoding="utf-8").write("\n".join(text) + "\n")
    print(f"{out}: {size} bytes, {len(text)} lines")


if __name__ == "__main__":
    main()
