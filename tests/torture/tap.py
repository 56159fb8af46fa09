"""What the torture scripts share: TAP lines, messages that carry their
own digest, SIGKILL to a process group after a delay, and a mailbox read
back through upas's reader."""
import hashlib, os, re, signal, subprocess, sys, threading

ntest = nfail = 0
SUM = re.compile(r"^X-Sum: *([0-9a-f]{64}) *$", re.M | re.I)


def ok(good, what, detail=""):
    global ntest, nfail
    ntest += 1
    nfail += not good
    print("%s %d - %s" % ("ok" if good else "not ok", ntest, what), flush=True)
    if not good and detail:
        print("#   " + str(detail)[:1500].replace("\n", "\n#   "), flush=True)


def done():
    print("1..%d" % ntest)
    sys.exit(1 if nfail else 0)


def message(i, rng, lines=2000, tag="t"):
    """Message i (Message-ID <tag i@torture>, Subject "tag i end"), up to
    lines lines, its body's SHA-256 in X-Sum."""
    body = ["line %d of message %d %s" % (k, i, "x" * rng.randrange(0, 70)) for k in range(rng.randrange(1, lines))]
    if rng.random() < 0.1:
        body.insert(0, ".leading dot")	# dot-stuffed on the wire
        body.insert(1, "From the start")	# quoted in an mbox
    text = "\n".join(body) + "\n"
    head = "From: s%d@example.org\nMessage-ID: <%s%d@torture>\nSubject: %s %d end\nX-Sum: %s\n" % (
        i, tag, i, tag, i, hashlib.sha256(text.encode()).hexdigest())
    return head + "\n" + text


def check(text, tag="t"):
    """The number of a message made by message(), or None when it is not
    one whole (no id, no digest, or a body that does not match it)."""
    head, _, body = text.partition("\n\n")
    m = re.search(r"^Message-ID: <%s(\d+)@torture>" % tag, head, re.M | re.I)
    s = SUM.findall(head)
    if not m or len(s) != 1 or hashlib.sha256(body.encode()).hexdigest() != s[0]:
        return None
    return int(m.group(1))


def killer(p, delay):
    """SIGKILL to p's process group after delay seconds (None: never); cancel() it after."""
    def kill():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t = threading.Timer(delay if delay is not None else 3600, kill)
    if delay is not None:
        t.start()
    return t


def dump(unit, env, path, out):
    """Every message of a mailbox through upas's reader: their texts, or None."""
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([unit, "mbdump", path, out], capture_output=True, env=env)
    if r.returncode != 0:
        return None
    return [open(os.path.join(out, f), "rb").read().decode("utf-8", "replace")
            for f in sorted(os.listdir(out), key=int)]
