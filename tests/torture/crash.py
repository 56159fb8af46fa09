#!/usr/bin/env python3
"""Crash torture: deliveries through smtpd (a whole SMTP session on pipes,
send run per recipient) and through send itself into an mbox, an mdir and a
Maildir, each killed with SIGKILL (its whole process group, the send it
started too) at a random moment. Afterwards every message that was
acknowledged (250 after the final dot; send's exit 0) must be in each of its
mailboxes exactly once and intact, none may be there twice, and every
mailbox must read back whole through upas's own reader and Python's.

  crash.py UPAS UNIT ROOT N     (N deliveries; TAP on stdout)
"""
import hashlib, mailbox, os, random, signal, subprocess, sys, threading, time

upas, unit, root, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
users = {"mb": "mbox", "md": "mdir", "mx": "Maildir"}
env = dict(os.environ, UPASROOT=root, site="torture", upasname="glenda", USER="glenda", TZ="UTC0")
ntest = nfail = 0


def ok(good, what):
    global ntest, nfail
    ntest += 1
    nfail += not good
    print("%s %d - %s" % ("ok" if good else "not ok", ntest, what), flush=True)


def message(i, rng):
    """A message whose body says its own digest: CRLF lines for SMTP."""
    lines = ["line %d of message %d %s" % (k, i, "x" * rng.randrange(0, 70)) for k in range(rng.randrange(1, 2000))]
    if rng.random() < 0.1:
        lines.insert(0, ".leading dot")	# dot-stuffed on the wire
        lines.insert(1, "From the start")	# quoted in an mbox
    body = "\n".join(lines) + "\n"
    head = "Message-ID: <t%d@torture>\nSubject: torture %d\nX-Sum: %s\n" % (i, i, hashlib.sha256(body.encode()).hexdigest())
    return head + "\n" + body


def killer(p, delay):
    """SIGKILL to p's process group after delay seconds (None: never)."""
    def kill():
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t = threading.Timer(delay if delay is not None else 3600, kill)
    if delay is not None:
        t.start()
    return t


def smtp(i, rcpts, text, delay):
    """One session, killed after delay seconds: True when the dot was answered 250."""
    p = subprocess.Popen([upas, "smtpd", "-h", "ours.test"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    t = killer(p, delay)
    acked = False
    try:
        wire = "EHLO client.torture\r\nMAIL FROM:<s%d@example.org>\r\n" % i
        wire += "".join("RCPT TO:<%s@ours.test>\r\n" % r for r in rcpts) + "DATA\r\n"
        data = "".join(("." + l if l.startswith(".") else l) + "\r\n" for l in text.split("\n")[:-1])
        p.stdin.write((wire + data + ".\r\nQUIT\r\n").encode())	# PIPELINING: all at once
        p.stdin.flush()
        p.stdin.close()
        replies = p.stdout.read().decode("utf-8", "replace").split("\r\n")
        # 220, 250 (EHLO's last line), MAIL, RCPTs, 354, then the dot's
        codes = [r[:3] for r in replies if len(r) >= 4 and r[3] == " "]
        k = 4 + len(rcpts)
        acked = len(codes) > k and codes[k] == "250" and codes[k - 1] == "354"
    except (BrokenPipeError, OSError):
        pass
    p.wait()
    t.cancel()
    return acked


def send(rcpts, text, delay):
    p = subprocess.Popen([upas, "send"] + rcpts, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    t = killer(p, delay)
    try:
        p.stdin.write(text.encode())
        p.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    st = p.wait()
    t.cancel()
    return st == 0


def dump(path, out):
    """Every message of a mailbox through upas's reader: their texts."""
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([unit, "mbdump", path, out], capture_output=True, env=env)
    if r.returncode != 0:
        return None
    return [open(os.path.join(out, f), "rb").read().decode("utf-8", "replace")
            for f in sorted(os.listdir(out), key=int)]


rng = random.Random(int(os.environ.get("SEED", "0")) or None)
os.makedirs(os.path.join(root, "box", "mb"), exist_ok=True)
os.makedirs(os.path.join(root, "box", "md", "mbox"), exist_ok=True)
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, "box", "mx", "mbox", d), exist_ok=True)
acked, kills, took, t0 = {}, 0, [], time.time()
for i in range(total):
    rcpts = rng.sample(list(users), rng.choice([1, 1, 1, 2, 3]))
    text = message(i, rng)
    # the first ten finish, and say how long one takes (a sanitizer build is
    # slower); then most are killed at a moment within that, some finish
    typical = sorted(took)[len(took) // 2] if took else 0
    delay = rng.uniform(0, 1.2 * typical) if i >= 10 and rng.random() < 0.85 else None
    start = time.time()
    a = smtp(i, rcpts, text, delay) if i % 3 else send(rcpts, text, delay)
    if delay is None:
        took.append(time.time() - start)
    else:
        kills += 1
    if a:
        acked[i] = rcpts
print("# %d deliveries, %d killed at a random moment (within %.0f ms), %d acknowledged, in %.1f s" %
      (total, kills, 1200 * typical, len(acked), time.time() - t0))

for u, kind in users.items():
    box = os.path.join(root, "box", u, "mbox")
    texts = dump(box, os.path.join(root, "tmp", "dump-" + u))
    ok(texts is not None, "%s (%s): upas reads the mailbox whole" % (u, kind))
    seen, bad = {}, 0
    for t in texts or []:
        head, _, body = t.partition("\n\n")
        ids = [l for l in head.split("\n") if l.lower().startswith("message-id: <t")]
        sums = [l[7:].strip() for l in head.split("\n") if l.lower().startswith("x-sum:")]
        if len(ids) != 1 or len(sums) != 1 or hashlib.sha256(body.encode()).hexdigest() != sums[0]:
            bad += 1
            continue
        n = int(ids[0].split("<t")[1].split("@")[0])
        seen[n] = seen.get(n, 0) + 1
    want = [n for n, r in acked.items() if u in r]
    ok(bad == 0, "%s: every message intact (%d found, %d not)" % (u, len(texts or []), bad))
    ok(all(seen.get(n) == 1 for n in want), "%s: every acknowledged message there once (%d)" % (u, len(want)))
    ok(all(c == 1 for c in seen.values()), "%s: none twice" % u)
    if kind != "mdir":
        pm = mailbox.mbox(box) if kind == "mbox" else mailbox.Maildir(box, create=False)
        ok(len(pm) == len(texts or []), "%s: Python's mailbox reads as many (%d)" % (u, len(pm)))
print("1..%d" % ntest)
sys.exit(1 if nfail else 0)
