#!/bin/sh
# msg: the MIME parser (core/msg.c) against Python's email package. Python
# composes messages (email.mime and EmailMessage: alternatives, attachments,
# forwarded messages, digests, non-ASCII names and subjects, several charsets
# and transfer encodings, LF and CRLF); the part tree "unit msgdump" prints
# for each must equal the one Python's walk() gives for the same bytes.
. "$(dirname "$0")/lib.sh"
setup

mkdir -p "$T/m"
python3 - "$T/m" <<'PY' || notok "python composes the messages"
import sys, os
from email import policy
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.headerregistry import Address
from email.charset import Charset, BASE64, QP

out = sys.argv[1]
def save(name, msg, pol=policy.default):
    with open(os.path.join(out, name), "wb") as f:
        f.write(msg.as_bytes(policy=pol))

png = bytes(range(256)) * 7 + b"\x89PNG"

# 1. EmailMessage: text and HTML alternative, attachments with non-ASCII names
m = EmailMessage()
m["From"] = Address("Jörg Müller", "joerg", "example.de")
m["To"] = "Zoë <zoe@example.org>, bob@example.com"
m["Subject"] = "Grüße aus Köln — テスト of a subject long enough that it must be folded across lines"
m.set_content("Hallo Zoë,\nanbei die Unterlagen.\n\n-- \nJörg\n")
m.add_alternative("<p>Hallo Zo&euml;, <b>anbei</b> die Unterlagen €</p>\n", subtype="html")
m.add_attachment(png, maintype="image", subtype="png", filename="résumé photo é.png")
m.add_attachment(b"%PDF-1.4\n" + bytes(range(200)), maintype="application", subtype="pdf",
                 filename="Ein sehr langer Dateiname mit Umlauten äöü und noch viel mehr Text damit er umbricht.pdf")
m.add_attachment("plain ascii notes\n", filename="notes.txt")
save("alt-attach", m)

# 2. a forwarded message that is itself multipart, inside a mixed one, CRLF line ends
inner = EmailMessage()
inner["From"] = "x@example.org"
inner["Subject"] = "Привет, мир"
inner.set_content("Текст письма\n", charset="koi8-r", cte="8bit")
inner.add_attachment(b"\x00\x01\x02binary", maintype="application", subtype="octet-stream",
                     filename="данные.bin")
outer = EmailMessage()
outer["From"] = "y@example.org"
outer["Subject"] = "Fwd: Привет"
outer.set_content("see below\n")
outer.add_attachment(inner)
save("forward-crlf", outer, policy.SMTP)

# 3. email.mime: charsets and transfer encodings chosen by hand
mm = MIMEMultipart()
mm["Subject"] = "=?iso-8859-1?q?caf=E9?= =?utf-8?b?4oKs?= plain"
latin = Charset("iso-8859-1"); latin.body_encoding = QP
t = MIMEText("", "plain"); del t["Content-Transfer-Encoding"]; t.set_payload("Café crème, naïve façade -- soft line breaks come with a line that is long enough to need one, " * 3 + "\n", latin)
mm.attach(t)
cyr = Charset("koi8-r"); cyr.body_encoding = BASE64
t = MIMEText("", "plain"); del t["Content-Transfer-Encoding"]; t.set_payload("Съешь же ещё этих мягких французских булок\n" * 20, cyr)
mm.attach(t)
mm.attach(MIMEText("€ and ✓ in UTF-8, quoted-printable\n" * 3, "plain", "utf-8"))
mm.attach(MIMEText("<html><body>ünïcödé</body></html>", "html", "utf-8"))
w = MIMEText("", "plain"); del w["Content-Transfer-Encoding"]; w.set_payload("“smart quotes” and a € sign\n".encode("cp1252"))
w.set_param("charset", "windows-1252"); w.add_header("Content-Transfer-Encoding", "8bit")
mm.attach(w)
a = MIMEApplication(bytes(range(256)) * 40, "octet-stream")
a.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "Übersicht 2024.xlsx"))
mm.attach(a)
im = MIMEImage(png, "png")
im.add_header("Content-Disposition", "inline", filename="tiny.png")
mm.attach(im)
save("mime-charsets", mm)

# 4. a digest of three messages, one of them multipart
dg = MIMEMultipart("digest")
dg["Subject"] = "Digest, Vol 1"
for i in range(3):
    e = EmailMessage()
    e["Subject"] = "Issue %d ½" % i
    e.set_content("body %d\n" % i)
    if i == 1:
        e.add_attachment(b"attached %d" % i, maintype="application", subtype="x-data", filename="a%d.dat" % i)
    dg.attach(MIMEMessage(e))
save("digest", dg)

# 5. deep nesting: mixed > alternative > related > message > mixed
rel = MIMEMultipart("related")
rel.attach(MIMEText("<img src=cid:x>", "html"))
rel.attach(MIMEImage(png, "png"))
alt = MIMEMultipart("alternative")
alt.attach(MIMEText("text version\n"))
alt.attach(rel)
msg = EmailMessage()
msg["Subject"] = "nested"
msg.set_content("in the forwarded one\n")
msg.add_attachment(b"zz", maintype="application", subtype="zip", filename="z.zip")
top = MIMEMultipart()
top["Subject"] = "=?UTF-8?Q?deep=20nesting=20=E2=9C=93?="
top.attach(alt)
top.attach(MIMEMessage(msg))
save("deep", top)

# 6. written by hand: RFC 2231 continuations, 2047 in a name, unclosed parts, junk in base64
with open(os.path.join(out, "handmade"), "wb") as f:
    f.write(b"From sender@example.com Mon Jan  2 15:04:05 2006\n"
            b"Subject: hand made\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"==b1==\"\n\npreamble\n"
            b"--==b1==\nContent-Type: text/plain; charset=\"ISO-8859-1\"\n"
            b"Content-Disposition: attachment;\n filename*0*=iso-8859-1''caf%E9%20;\n filename*1=\"au lait.txt\"\n"
            b"Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 au =\nlait\n"
            b"--==b1==\nContent-Type: application/octet-stream; name=\"=?utf-8?q?=C3=A9t=C3=A9?=.bin\"\n"
            b"Content-Transfer-Encoding: base64\n\nAAEC\nAwQF\nBgc=\n"
            b"--==b1==\nContent-Type: multipart/alternative; boundary=b2\n\n"
            b"--b2\nContent-Type: text/plain\n\nnever closed\n"
            b"--==b1==--\nepilogue\n")
PY

n=0
for f in "$T"/m/*; do
	name=$(basename "$f")
	mine=$("$UNIT" msgdump "$f" 2>&1)
	theirs=$(python3 - "$f" <<'PY'
import sys, email
from email import policy
msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=policy.default)
def walk(p, depth):
    if p.is_multipart():
        size = "-"
    elif p.get_content_maintype() == "text":
        size = str(len(p.get_content().encode("utf-8", "surrogateescape")))
    else:
        size = str(len(p.get_payload(decode=True)))
    cs = p.get_content_charset() or ("us-ascii" if p.get_content_maintype() == "text" else "-")
    cte = str(p.get("content-transfer-encoding", "7bit")).strip().lower()
    subj = p["subject"]
    print("\t".join([str(depth), p.get_content_type(), cs, cte, size,
                     p.get_filename() or "-", str(subj) if subj is not None else "-"]))
    if p.is_multipart():
        for c in p.get_payload():
            walk(c, depth + 1)
walk(msg, 0)
PY
)
	is "$mine" "$theirs" "$name: part tree, charsets, encodings, sizes, names and subjects agree with Python"
	n=$((n + 1))
done
is "$n" 6 "all six messages compared"
# the unit tool shows what it read
out=$("$UNIT" msgdump "$T/m/handmade")
like "$out" "	caf.* au lait.txt	" "RFC 2231 continuations in a file name"
like "$out" "	été.bin	" "RFC 2047 in a name parameter"
done_testing
