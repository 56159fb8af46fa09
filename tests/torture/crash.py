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
import mailbox, os, random, subprocess, sys, time
from tap import ok, done, message, check, killer, dump

upas, unit, root, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
users = {"mb": "mbox", "md": "mdir", "mx": "Maildir"}
env = dict(os.environ, UPASROOT=root, site="torture", upasname="glenda", USER="glenda", TZ="UTC0")


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
    texts = dump(unit, env, box, os.path.join(root, "tmp", "dump-" + u))
    ok(texts is not None, "%s (%s): upas reads the mailbox whole" % (u, kind))
    seen, bad = {}, 0
    for t in texts or []:
        n = check(t)
        if n is None:
            bad += 1
        else:
            seen[n] = seen.get(n, 0) + 1
    want = [n for n, r in acked.items() if u in r]
    ok(bad == 0, "%s: every message intact (%d found, %d not)" % (u, len(texts or []), bad))
    ok(all(seen.get(n) == 1 for n in want), "%s: every acknowledged message there once (%d)" % (u, len(want)))
    ok(all(c == 1 for c in seen.values()), "%s: none twice" % u)
    if kind != "mdir":
        pm = mailbox.mbox(box) if kind == "mbox" else mailbox.Maildir(box, create=False)
        ok(len(pm) == len(texts or []), "%s: Python's mailbox reads as many (%d)" % (u, len(pm)))
done()
