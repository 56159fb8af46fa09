#!/usr/bin/env python3
# The benchmarks' synthetic mail: N messages of random words, seeded, so
# every run and every benchmark sees the same bytes.  Sizes are log-uniform
# (about 0.9..14 KB before headers and MIME, median ~4 KB); a quarter are
# multipart/mixed with a base64 attachment, a quarter multipart/alternative
# with quoted-printable text and HTML, the rest plain text.
#
#   mkmail.py DIR N [--files] [--mbox] [--maildir] [-q]
#
#   --files    one file per message, DIR/msg/m0000 ... (the raw message)
#   --mbox     DIR/mbox, one mbox with mboxrd quoting
#   --maildir  DIR/Maildir, the messages in new/
#   -q         no summary line (messages, median and total size)
import argparse, base64, os, random

WORDS = ("mail system plan nine upas delivery mailbox router queue file "
         "message header body line test bench network fast small never "
         "lost safe internet server client index lock append").split()

def messages(n):
    # yields the n messages as bytes; the order of the random calls is the
    # generator's contract: changing it changes every benchmark's input
    rnd = random.Random(5322)
    def text(size):
        out, line = [], []
        total = 0
        while total < size:
            w = rnd.choice(WORDS)
            line.append(w)
            if len(" ".join(line)) > 66:
                s = " ".join(line)
                out.append(s); total += len(s) + 1; line = []
        if line:
            out.append(" ".join(line))
        return "\n".join(out) + "\n"
    for i in range(n):
        sz = int(1024 * 2 ** rnd.uniform(-0.2, 3.8))
        h = ("From: Sender %d <sender@example.com>\n"
             "To: bench@example.com\n"
             "Subject: benchmark message %d\n"
             "Date: Sat, 21 Nov 2026 12:%02d:%02d +0000\n"
             "Message-ID: <bench.%d@example.com>\n" % (i, i, i // 60 % 60, i % 60, i))
        kind = i % 4
        if kind == 0:
            # multipart/mixed with a base64 attachment
            b = "=-=bench%d=-=" % i
            att = base64.encodebytes(rnd.randbytes(sz // 3)).decode()
            body = ("MIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
                    "This is a multi-part message in MIME format.\n\n"
                    "--%s\nContent-Type: text/plain; charset=utf-8\n\n%s\n"
                    "--%s\nContent-Type: application/octet-stream; name=\"data%d.bin\"\n"
                    "Content-Transfer-Encoding: base64\n"
                    "Content-Disposition: attachment; filename=\"data%d.bin\"\n\n%s"
                    "--%s--\n" % (b, b, text(sz - sz // 3 * 4 // 3 - 400), b, i, i, att, b))
        elif kind == 1:
            # multipart/alternative, quoted-printable UTF-8 text and HTML
            b = "=-=alt%d=-=" % i
            t = text(sz // 2)
            body = ("MIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=\"%s\"\n\n"
                    "--%s\nContent-Type: text/plain; charset=utf-8\n"
                    "Content-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 %s\n"
                    "--%s\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>%s</p></body></html>\n"
                    "--%s--\n" % (b, b, t, b, t.replace("\n", "<br>\n"), b))
        else:
            body = "\n" + text(sz - len(h) - 1)
        yield (h + body).encode()

def mboxrd(f, i, m):
    # From_ line, then the message with every ">*From " line quoted once more
    f.write(b"From sender@example.com Sat Nov 21 12:%02d:%02d 2026\n" % (i // 60 % 60, i % 60))
    for l in m.splitlines(True):
        if l.lstrip(b">").startswith(b"From "):
            l = b">" + l
        f.write(l)
    f.write(b"\n")

def main():
    p = argparse.ArgumentParser(description="generate the benchmarks' messages")
    p.add_argument("dir")
    p.add_argument("n", type=int)
    p.add_argument("--files", action="store_true", help="DIR/msg/mNNNN")
    p.add_argument("--mbox", action="store_true", help="DIR/mbox (mboxrd)")
    p.add_argument("--maildir", action="store_true", help="DIR/Maildir")
    p.add_argument("-q", action="store_true", help="no summary line")
    a = p.parse_args()
    if not (a.files or a.mbox or a.maildir):
        p.error("nothing to write: --files, --mbox or --maildir")
    if a.files:
        os.mkdir(os.path.join(a.dir, "msg"))
    if a.maildir:
        for s in ("tmp", "cur", "new"):
            os.makedirs(os.path.join(a.dir, "Maildir", s))
    mbox = open(os.path.join(a.dir, "mbox"), "wb") if a.mbox else None
    sizes = []
    for i, m in enumerate(messages(a.n)):
        sizes.append(len(m))
        if a.files:
            with open(os.path.join(a.dir, "msg", "m%04d" % i), "wb") as f:
                f.write(m)
        if mbox:
            mboxrd(mbox, i, m)
        if a.maildir:
            with open(os.path.join(a.dir, "Maildir", "new", "%d.M%06dP1.bench" % (1795000000 + i, i)), "wb") as f:
                f.write(m)
    if mbox:
        mbox.close()
    if not a.q:
        s = sorted(sizes)
        print("messages: %d, median %d bytes, total %d bytes" % (a.n, s[len(s) // 2], sum(s)))

main()
