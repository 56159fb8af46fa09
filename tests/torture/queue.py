#!/usr/bin/env python3
"""Queue torture: N messages queued by qer, most of the qer runs killed
(SIGKILL) at a random moment; then runq, whose mailer delivers each job
with send into a local mbox, killed again and again (runq, its mailers and
their sends, the whole process group) until a last runq empties the queue.
Every message qer acknowledged (exit 0) must be delivered, whole, at least
once; a message is delivered twice only when a runq was killed between its
mailer's success and the removal of its job (runq promises at least once),
so never more often than runq was killed; nothing is left queued; the
mailbox reads back whole.

  queue.py UPAS UNIT ROOT N     (TAP on stdout)
"""
import fcntl, mailbox, os, random, subprocess, sys, time
from tap import ok, done, message, check, killer, dump

upas, unit, root, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
env = dict(os.environ, UPASROOT=root, site="torture", upasname="glenda", USER="glenda", TZ="UTC0")
qdir = os.path.join(root, "queue", "cq")
box = os.path.join(root, "box", "cq", "mbox")
# the mailer: the job's recipients (after tag, reply and destination) by send
mailer = os.path.join(root, "tmp", "mailer")
with open(mailer, "w") as f:
    f.write('#!/bin/sh\nshift 3\nexec "%s" send "$@"\n' % upas)
os.chmod(mailer, 0o755)
os.makedirs(os.path.dirname(box), exist_ok=True)

rng = random.Random(int(os.environ.get("SEED", "0")) or None)
acked, took, kills, t0 = set(), [], 0, time.time()
for i in range(total):
    p = subprocess.Popen([upas, "qer", "-q", "cq", "-", "mail", "s%d@example.org" % i, "local!cq", "cq"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    typical = sorted(took)[len(took) // 2] if took else 0
    delay = rng.uniform(0, 1.2 * typical) if i >= 10 and rng.random() < 0.8 else None
    t = killer(p, delay)
    start = time.time()
    try:
        p.stdin.write(message(i, rng, 3000, "q").encode())
        p.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    if p.wait() == 0:
        acked.add(i)
    t.cancel()
    if delay is None:
        took.append(time.time() - start)
    else:
        kills += 1
queued = len([f for f in os.listdir(qdir) if f.startswith("C.")])
print("# %d qer runs, %d killed (within %.0f ms), %d acknowledged, %d jobs in the queue, %.1f s" %
      (total, kills, 1200 * typical, len(acked), queued, time.time() - t0))
ok(queued >= len(acked), "every acknowledged message has its job (%d of %d)" % (len(acked), queued))

# runq killed at a random moment within 50 ms (a few jobs each), twice as
# many times as there were messages, or until the queue is empty
runs, rkills, t0 = 0, 0, time.time()
while runs < 2 * total and any(f.startswith("C.") for f in os.listdir(qdir)):
    p = subprocess.Popen([upas, "runq", "-i", "0", "-n", "2", "-q", "cq", "-", mailer], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    t = killer(p, rng.uniform(0, 0.05))
    p.wait()
    t.cancel()
    runs += 1
    rkills += p.returncode < 0
# a killed runq's mailer may hold the queue's lock for a moment as it dies;
# a runq finding it taken leaves the queue to its holder and exits 0
with open(os.path.join(qdir, "L.runq"), "a") as l:
    for _ in range(100):
        try:
            fcntl.flock(l, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.1)
last = subprocess.run([upas, "runq", "-i", "0", "-q", "cq", "-", mailer], capture_output=True, env=env)
print("# %d runq runs, %d killed, then one to the end, %.1f s" % (runs, rkills, time.time() - t0))
ok(last.returncode == 0, "the last runq exits 0", last.stderr)
left = sorted(f for f in os.listdir(qdir) if f[:2] in ("C.", "Q.", "E.", "F."))
ok(not left, "no job is left in the queue, none put aside", left[:10])

texts = dump(unit, env, box, os.path.join(root, "tmp", "dump-cq"))
ok(texts is not None, "upas reads the mailbox whole")
seen, bad = {}, 0
for t in texts or []:
    n = check(t, "q")
    if n is None:
        bad += 1
    else:
        seen[n] = seen.get(n, 0) + 1
ok(bad == 0, "every message delivered intact (%d, %d not)" % (len(texts or []), bad))
lost = sorted(i for i in acked if i not in seen)
ok(not lost, "every acknowledged message delivered (%d)" % len(acked), lost[:20])
twice = sum(c - 1 for c in seen.values())
print("# %d delivered again after a runq was killed" % twice)
ok(twice <= 2 * rkills, "a second delivery only for a killed runq (%d, %d runq killed)" % (twice, rkills))
ok(len(mailbox.mbox(box)) == len(texts or []), "Python's mailbox reads as many")
done()
