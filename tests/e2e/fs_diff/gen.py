# A generated corpus for fs's differential test: messages made by Python's
# email package, the same every run (seeded). Usage: gen.py DIR N
import os, random, sys
from email.message import EmailMessage
from email.headerregistry import Address
from email import policy

out, count = sys.argv[1], int(sys.argv[2])
rnd = random.Random(9)
words = ("mail box tree file part body upas plan nine from letter note report invoice "
         "café naïve façade Grüße straße år ĉu Ελληνικά кириллица 日本語 漢字 😀 ✓").split()
names = ["Ann Example", "Bob O'Neil", "Zoë Ünïcode", "李小龍", "Dr. Who, Jr.", "", "Ümlaut Person"]

def text(k):
    return " ".join(rnd.choice(words) for _ in range(k))

def addr(i):
    return Address(display_name=rnd.choice(names), username="u%d" % rnd.randrange(1000), domain="example.org")

def body(k):
    lines = [text(rnd.randrange(1, 14)) for _ in range(k)]
    if rnd.random() < 0.2:
        lines.append("From here, a line mbox must quote")
    return "\n".join(lines) + "\n"

def leafpart(m):
    cs = rnd.choice(["utf-8", "utf-8", "iso-8859-1"])
    t = body(rnd.randrange(1, 20))
    if cs == "iso-8859-1":
        t = t.encode("latin-1", "replace").decode("latin-1")
    m.set_content(t, charset=cs, cte=rnd.choice(["quoted-printable", "base64", "8bit"]))

def make(depth):
    m = EmailMessage()
    m["From"] = addr(0)
    m["To"] = [addr(k) for k in range(rnd.randrange(1, 4))]
    if rnd.random() < 0.5:
        m["Cc"] = [addr(k) for k in range(rnd.randrange(1, 3))]
    m["Subject"] = text(rnd.randrange(1, 16))
    m["Message-ID"] = "<%d.%d@example.org>" % (depth, rnd.randrange(10**9))
    leafpart(m)
    if rnd.random() < 0.4:
        m.add_alternative("<p>%s</p>\n" % text(8), subtype="html")
    for _ in range(rnd.randrange(0, 3)):
        fn = rnd.choice(["report.pdf", "a file name.bin", "Grüße 日本.dat", "x.tar.gz", "très long nom de fichier avec des espaces.txt"])
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 3000)))
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=fn)
    if depth < 2 and rnd.random() < 0.25:
        m.add_attachment(make(depth + 1))
    return m

os.makedirs(out, exist_ok=True)
for i in range(count):
    p = os.path.join(out, "gen%03d.eml" % i)
    open(p, "wb").write(make(0).as_bytes(policy=policy.default.clone(linesep="\n")))
