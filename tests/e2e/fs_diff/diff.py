# fs's tree against Python's email package (compat32, as a lenient reader):
# for each message its from, to, cc, subject and type; for each leaf part
# its filename and decoded body (text as UTF-8 from its charset, default
# ISO-8859-1).  Usage: diff.py TREE KNOWN FILE...  (message N is the Nth FILE)
# KNOWN: lines "FILE FIELD  why" of differences that are upas's choice.
# Prints the differences, then "BAD CHECKED".
import email, email.policy, email.utils, os, re, sys
from email.header import decode_header, make_header

tree, knownfile, files = sys.argv[1], sys.argv[2], sys.argv[3:]
known = set()
for l in open(knownfile):
    if l.strip() and not l.startswith("#"):
        f, k = l.split()[:2]
        known.add((f, k))
bad = n = 0

def addrs(v):
    return " ".join(a for _, a in email.utils.getaddresses([str(x) for x in v]) if a) if v else ""

def hdr(v):
    try:
        # unfolded as RFC 5322 says (compat32 keeps the line breaks)
        return str(make_header(decode_header(re.sub(r"\r?\n(?=[ \t])", "", str(v)))))
    except Exception:
        return str(v)

def norm(s):
    return "\n".join(l.rstrip() for l in s.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"))

def read(path):
    try:
        return open(path, "rb").read()
    except OSError:
        return None

def check(f, k, got, want):
    global bad, n
    if (f, k) in known:
        return
    n += 1
    if got is None or got != want:
        bad += 1
        print("# %s %s: upas %r, Python %r" % (f, k, got if got is None else got[:70], want[:70]))

def leaf(f, where, d, p):
    fn = p.get_filename()
    check(f, where + "filename", (read(d + "/filename") or b"").decode("utf-8", "replace").strip(),
          hdr(fn).replace(" ", "_").strip() if fn else "")
    data = p.get_payload(decode=True) or b""
    got = read(d + "/body")
    if p.get_content_maintype() == "text":
        cs = p.get_content_charset() or "iso-8859-1"
        try:
            want = data.decode(cs, "replace")
        except LookupError:
            return	# a charset Python does not know
        check(f, where + "body", norm(got.decode("utf-8", "replace")) if got is not None else None, norm(want))
    else:
        check(f, where + "body", got, data)

def walk(f, where, d, p, depth):
    if depth > 40:
        return
    if p.is_multipart():
        for i, q in enumerate(p.get_payload(), 1):
            if os.path.isdir(d + "/" + str(i)):
                walk(f, where + str(i) + "/", d + "/" + str(i), q, depth + 1)
    else:
        leaf(f, where, d, p)

for i, path in enumerate(files, 1):
    f = os.path.basename(path)
    m = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.compat32)
    d = os.path.join(tree, str(i))
    want = {"from": addrs(m.get_all("from")), "to": addrs(m.get_all("to")), "cc": addrs(m.get_all("cc")),
            "subject": hdr(m["subject"]) if m["subject"] else "", "type": m.get_content_type()}
    for k, w in want.items():
        if k == "from" and not w:
            continue	# no address: upas gives the envelope sender
        g = read(d + "/" + k)
        check(f, k, g.decode("utf-8", "replace").strip() if g is not None else None, w.strip())
    walk(f, "", d, m, 0)
print(bad, n)
