#!/usr/bin/env python3
"""Concurrency torture: one mailbox (an mbox, then a Maildir) used at once by
smtpd sessions delivering, a pop3 session deleting (TOP, DELE, QUIT), an
imap4d session flagging and expunging, nedmail setting seen and deleting,
and fs -x runs removing message directories and writing flags files, for
SECS seconds; then fs's daemon is started on a second tree and every reader
is asked what it holds.

Each writer owns one thing and remembers what it was told was done:
deliveries (250 after the dot), deletions (pop3's +OK to QUIT, imap4d's OK
to EXPUNGE, nedmail's and fs's exit 0), and a flag each: imap4d \\Flagged,
nedmail \\Seen, fs \\Answered. Afterwards, through upas's reader and
Python's: every message intact and there at most once; every delivered
message there unless someone deleted it; nothing deleted back; each owner's
last word on its flag holds; and imap4d, fs -x, fs's daemon and pop3 see the
same messages with the same flags.

  mix.py UPAS UNIT ROOT SECS OWNER     (TAP on stdout)
"""
import imaplib, mailbox, os, random, re, signal, subprocess, sys, threading, time
from tap import ok, done, message, check, dump

upas, unit, root, secs, owner = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
env = dict(os.environ, UPASROOT=root, site="torture", upasname="glenda", TZ="UTC0")
# nedmail and fs run as the mailbox's owner; smtpd, pop3 and imap4d as root become it themselves
asowner = [] if os.geteuid() != 0 else ["setpriv", "--reuid=%d" % owner, "--regid=%d" % owner, "--clear-groups"]
SUBJ = re.compile(r"^Subject: mix (\d+) end\s*$", re.M | re.I)


class State:
    """What each writer was told was done, under one lock."""
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()	# 250 after the dot
        self.refused = set()	# a definite answer other than 250
        self.deleted = {}	# id -> who acknowledged its deletion
        self.owned = {"flagged": {}, "seen": {}, "answered": {}}	# flag -> id -> last acknowledged value
        self.unsure = {"flagged": set(), "seen": set(), "answered": set()}	# a change not acknowledged
        self.ops = {}
        self.errors = []
        self.stop = False

    def count(self, what, n=1):
        with self.lock:
            self.ops[what] = self.ops.get(what, 0) + n

    def error(self, who, what):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append("%s: %s" % (who, what))

    def live(self, rng, k):
        """Up to k delivered ids not known deleted."""
        with self.lock:
            c = [i for i in self.acked if i not in self.deleted]
        return rng.sample(c, min(k, len(c)))

    def setflag(self, flag, i, v):
        with self.lock:
            self.owned[flag][i] = v
            self.unsure[flag].discard(i)

    def unsureflag(self, flag, i):
        with self.lock:
            self.unsure[flag].add(i)


def deliverer(st, user, seq, rng):
    """smtpd sessions, one to three messages each, pipelined."""
    while not st.stop:
        ids = [seq() for _ in range(rng.choice([1, 1, 2, 3]))]
        wire = "EHLO client.mix\r\n"
        for i in ids:
            text = message(i, rng, 300, "mix")
            data = "".join(("." + l if l.startswith(".") else l) + "\r\n" for l in text.split("\n")[:-1])
            wire += "MAIL FROM:<s%d@example.org>\r\nRCPT TO:<%s@ours.test>\r\nDATA\r\n%s.\r\n" % (i, user, data)
        wire += "QUIT\r\n"
        p = subprocess.run([upas, "smtpd", "-h", "ours.test"], input=wire.encode(), capture_output=True, env=env)
        codes = [r[:3] for r in p.stdout.decode("utf-8", "replace").split("\r\n") if len(r) >= 4 and r[3] == " "]
        # 220, EHLO's 250, then MAIL, RCPT, 354, the dot's answer for each
        for k, i in enumerate(ids):
            j = 2 + 4 * k + 3
            with st.lock:
                if len(codes) > j and codes[j] == "250" and codes[j - 1] == "354":
                    st.acked.add(i)
                elif len(codes) > j and codes[j][0] in "45":
                    st.refused.add(i)
        st.count("smtpd sessions")
        time.sleep(rng.uniform(0, 0.03))


class Pop:
    def __init__(self, box):
        self.p = subprocess.Popen([upas, "pop3", "-a", box], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env=env)
        self.f = self.p.stdout
        self.greet = self.line()

    def line(self):
        return self.f.readline().decode("utf-8", "replace").rstrip("\r\n")

    def cmd(self, c, multi=False):
        self.p.stdin.write((c + "\r\n").encode())
        self.p.stdin.flush()
        r = self.line()
        lines = []
        if multi and r.startswith("+OK"):
            while True:
                l = self.line()
                if l == ".":
                    break
                lines.append(l[1:] if l.startswith(".") else l)
        return r, lines

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait()


def popdeleter(st, box, rng):
    while not st.stop:
        s = Pop(box)
        if not s.greet.startswith("+OK"):
            st.error("pop3", s.greet)
            s.close()
            return
        r, listing = s.cmd("UIDL", True)
        nums = [l.split()[0] for l in listing]
        ids = []
        for n in rng.sample(nums, min(len(nums), rng.choice([1, 2, 3]))):
            r, head = s.cmd("TOP %s 0" % n, True)
            m = SUBJ.search("\n".join(head))
            if r.startswith("+OK") and m and s.cmd("DELE %s" % n)[0].startswith("+OK"):
                ids.append(int(m.group(1)))
        r, _ = s.cmd("QUIT")
        s.close()
        if r.startswith("+OK"):
            with st.lock:
                for i in ids:
                    st.deleted.setdefault(i, "pop3")
            st.count("pop3 deletions", len(ids))
        elif ids:
            st.count("pop3 QUIT refused")
        st.count("pop3 sessions")
        time.sleep(rng.uniform(0.05, 0.3))


def imapsession(user):
    return imaplib.IMAP4_stream("exec '%s' imap4d -a '%s' 2>/dev/null" % (upas, user))


def imapview(m):
    """uid -> (id, flags) for every message of the selected mailbox."""
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    view = {}
    for d in data:
        if not isinstance(d, tuple):
            continue
        meta = d[0].decode()
        u = re.search(r"UID (\d+)", meta)
        f = re.search(r"FLAGS \(([^)]*)\)", meta)
        s = SUBJ.search(d[1].decode("utf-8", "replace"))
        if u and s:
            view[int(u.group(1))] = (int(s.group(1)), set(f.group(1).split()) if f else set())
    return typ, view


def imapper(st, user, rng):
    m = None
    while not st.stop:
        try:
            if m is None or rng.random() < 0.1:
                if m is not None:
                    m.logout()
                m = imapsession(user)
                if m.select("INBOX")[0] != "OK":
                    st.error("imap4d", "SELECT failed")
                    return
                st.count("imap4d sessions")
            typ, view = imapview(m)
            uids = list(view)
            for u in rng.sample(uids, min(len(uids), rng.choice([1, 2, 4]))):
                i = view[u][0]
                v = rng.random() < 0.6
                st.unsureflag("flagged", i)
                typ, _ = m.uid("STORE", str(u), "+FLAGS.SILENT" if v else "-FLAGS.SILENT", "(\\Flagged)")
                if typ == "OK":
                    st.setflag("flagged", i, v)
                    st.count("imap4d stores")
            if uids and rng.random() < 0.3:
                u = rng.choice(uids)
                if m.uid("STORE", str(u), "+FLAGS.SILENT", "(\\Deleted)")[0] == "OK" and m.expunge()[0] == "OK":
                    with st.lock:
                        st.deleted.setdefault(view[u][0], "imap4d")
                    st.count("imap4d expunges")
            m.noop()
        except (imaplib.IMAP4.error, OSError, EOFError) as e:
            st.error("imap4d", repr(e))
            m = None
        time.sleep(rng.uniform(0.02, 0.15))
    if m is not None:
        m.logout()


def ned(st, box, rng):
    while not st.stop:
        ids = st.live(rng, rng.choice([1, 2, 3]))
        if not ids:
            time.sleep(0.05)
            continue
        todo, script = [], ""
        for i in ids:
            what = rng.choice(["d", "F +s", "F +s", "F -s"])
            # forward from the current message, else back: one finds it
            script += "/mix %d end/%s\n?mix %d end?%s\n" % (i, what, i, what)
            todo.append((i, what))
        for i, what in todo:
            if what != "d":
                st.unsureflag("seen", i)
        p = subprocess.run(asowner + [upas, "nedmail", "-r", "-f", box], input=(script + "q\n").encode(),
                           capture_output=True, env=env)
        if p.returncode == 0:
            for i, what in todo:
                if what == "d":
                    with st.lock:
                        st.deleted.setdefault(i, "nedmail")
                else:
                    st.setflag("seen", i, what == "F +s")
            st.count("nedmail runs")
        else:
            st.error("nedmail", "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:]))
        time.sleep(rng.uniform(0.05, 0.3))


def fsrun(box, tree):
    return subprocess.run(asowner + [upas, "fs", "-x", "-f", box, "-m", tree], capture_output=True, env=env)


def treeview(dir):
    """id -> [flags] for every message directory of an fs tree."""
    view = {}
    for n in os.listdir(dir):
        if not n.isdigit():
            continue
        try:
            s = open(os.path.join(dir, n, "subject")).read().strip()
            f = open(os.path.join(dir, n, "flags")).read().strip()
        except OSError:
            continue
        m = re.match(r"mix (\d+) end$", s)
        if m:
            view.setdefault(int(m.group(1)), []).append((n, f))
    return view


def fser(st, box, tree, rng):
    while not st.stop:
        p = fsrun(box, tree)
        if p.returncode != 0:
            st.error("fs", "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:]))
            time.sleep(0.2)
            continue
        view = treeview(tree + "/mbox")
        todo = []
        for i in rng.sample(list(view), min(len(view), rng.choice([1, 2, 3]))):
            n = view[i][0][0]
            d = os.path.join(tree, "mbox", n)
            if rng.random() < 0.3:
                subprocess.run(["rm", "-rf", d])
                todo.append((i, "rm"))
            else:
                v = rng.random() < 0.6
                st.unsureflag("answered", i)
                try:
                    with open(os.path.join(d, "flags"), "w") as f:
                        f.write("+a\n" if v else "-a\n")
                    todo.append((i, v))
                except OSError:
                    pass
        p = fsrun(box, tree)
        if p.returncode == 0:
            for i, what in todo:
                if what == "rm":
                    with st.lock:
                        st.deleted.setdefault(i, "fs")
                else:
                    st.setflag("answered", i, what)
            st.count("fs runs")
        else:
            st.error("fs", "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:]))
        time.sleep(rng.uniform(0.05, 0.3))


def letters(flags):
    """imap4d's flags as fs's letters for answered, deleted, flagged, seen."""
    return "".join(c if ("\\" + w) in flags else "-" for c, w in
                   (("a", "Answered"), ("D", "Deleted"), ("f", "Flagged"), ("s", "Seen")))


def fsletters(f):
    """fs's seven places (answered, Deleted, draft, flagged, recent, seen, Stored) as the four above."""
    return f[0] + f[1] + f[3] + f[5] if len(f) == 7 else "?" + f


def run(kind, user, seed):
    rng = random.Random(seed)
    box = os.path.join(root, "box", user, "mbox")
    tree, tree2 = os.path.join(root, "tmp", "tree-" + user), os.path.join(root, "tmp", "daemon-" + user)
    for d in (tree, tree2):
        os.makedirs(d)
        os.chown(d, owner, owner) if os.geteuid() == 0 else None
    st = State()
    counter, seqlock = iter(range(1, 10 ** 9)), threading.Lock()

    def ids():
        with seqlock:
            return next(counter)
    def worker(fn, *args):
        """fn in a thread of its own; what it raises is a failed session"""
        r = random.Random(rng.random())

        def guard():
            try:
                fn(st, *args, r)
            except Exception as e:
                st.error(fn.__name__, repr(e))
        return threading.Thread(target=guard)
    workers = [worker(deliverer, user, ids) for _ in range(2)]
    workers += [worker(popdeleter, box), worker(imapper, user), worker(ned, box), worker(fser, box, tree)]
    # fs's daemon on a tree of its own, from the start: it follows everything
    daemon = subprocess.Popen(asowner + [upas, "fs", "-f", box, "-m", tree2], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env)
    t0 = time.time()
    for w in workers:
        w.start()
    time.sleep(secs)
    st.stop = True
    for w in workers:
        w.join()
    took = time.time() - t0
    # fs applies what its tree was last given at its next run
    last = fsrun(box, tree)
    ok(last.returncode == 0, "%s: a last fs -x run" % kind, last.stderr)
    print("# %s: %.1f s, %d delivered, %d deleted (%s); %s" % (
        kind, took, len(st.acked), len(st.deleted),
        ", ".join("%s %d" % (w, list(st.deleted.values()).count(w)) for w in ("pop3", "imap4d", "nedmail", "fs")),
        ", ".join("%s %d" % kv for kv in sorted(st.ops.items()))), flush=True)
    ok(not st.errors, "%s: no session failed" % kind, "\n".join(st.errors))
    ok(len(st.acked) > 20 and st.ops.get("pop3 deletions", 0) and st.ops.get("imap4d stores", 0)
       and st.ops.get("nedmail runs", 0) and st.ops.get("fs runs", 0), "%s: every writer got work done" % kind, st.ops)

    texts = dump(unit, env, box, os.path.join(root, "tmp", "dump-" + user))
    ok(texts is not None, "%s: upas reads the mailbox whole" % kind)
    seen, bad = {}, []
    for t in texts or []:
        n = check(t, "mix")
        if n is None:
            bad.append("%d octets: %s ... %s" % (len(t), t[:300], t[-300:]))
        else:
            seen[n] = seen.get(n, 0) + 1
    ok(not bad, "%s: every message intact, none interleaved (%d)" % (kind, len(texts or [])), bad[:3])
    ok(all(c == 1 for c in seen.values()), "%s: none twice" % kind, [i for i, c in seen.items() if c > 1])
    lost = sorted(i for i in st.acked if i not in st.deleted and i not in seen)
    ok(not lost, "%s: every delivered message not deleted is there (%d)" % (kind, len(st.acked) - len(st.deleted)), lost)
    back = sorted(i for i in st.deleted if i in seen)
    ok(not back, "%s: nothing deleted is back (%d deleted)" % (kind, len(st.deleted)),
       ["%d by %s" % (i, st.deleted[i]) for i in back])
    stray = sorted(i for i in seen if i not in st.acked)
    ok(not [i for i in stray if i in st.refused], "%s: nothing refused was delivered" % kind, stray)
    pm = mailbox.mbox(box) if kind == "mbox" else mailbox.Maildir(box, create=False)
    ok(len(pm) == len(texts or []), "%s: Python's mailbox reads as many (%d)" % (kind, len(pm)))

    # every reader's view, and each owner's last word on its flag
    m = imapsession(user)
    m.select("INBOX", readonly=True)
    typ, iv = imapview(m)
    m.logout()
    imap = {i: letters(f) for i, f in iv.values()}
    ok(typ == "OK" and sorted(imap) == sorted(seen), "%s: imap4d holds the same messages" % kind,
       set(imap) ^ set(seen))
    fsv = treeview(tree + "/mbox")
    ok(sorted(fsv) == sorted(seen) and all(len(v) == 1 for v in fsv.values()),
       "%s: fs -x's tree holds the same messages, each once" % kind, set(fsv) ^ set(seen))
    diff = {i: (imap[i], fsletters(fsv[i][0][1])) for i in imap if i in fsv and imap[i] != fsletters(fsv[i][0][1])}
    ok(not diff, "%s: imap4d and fs agree on every message's flags" % kind, list(diff.items())[:10])
    wrong = []
    for flag, place in (("answered", 0), ("flagged", 2), ("seen", 3)):
        for i, v in st.owned[flag].items():
            if i in imap and i not in st.unsure[flag] and (imap[i][place] != "-") != v:
                wrong.append("%d %s: %s, told %s" % (i, flag, imap[i], v))
    ok(not wrong, "%s: each owner's last acknowledged flag holds (%d answered, %d flagged, %d seen)" % (
        kind, len(st.owned["answered"]), len(st.owned["flagged"]), len(st.owned["seen"])), wrong[:10])
    # the daemon catches up on its own; pop3 counts the same
    d2 = {}
    for _ in range(100):
        d2 = treeview(tree2 + "/mbox")
        if sorted(d2) == sorted(seen) and all(fsletters(v[0][1]) == imap.get(i) for i, v in d2.items()):
            break
        time.sleep(0.1)
    ok(sorted(d2) == sorted(seen) and all(len(v) == 1 and fsletters(v[0][1]) == imap.get(i) for i, v in d2.items()),
       "%s: fs's daemon followed it all: the same messages and flags" % kind,
       [set(d2) ^ set(seen), [(i, v, imap.get(i)) for i, v in d2.items() if fsletters(v[0][1]) != imap.get(i)][:5]])
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    ok(daemon.returncode == 0, "%s: fs's daemon exits 0 on SIGTERM" % kind, daemon.stderr.read().decode()[-500:])
    s = Pop(box)
    r, listing = s.cmd("UIDL", True)
    s.cmd("QUIT")
    s.close()
    ok(len(listing) == len(seen), "%s: pop3 lists as many (%d)" % (kind, len(listing)))


seed = int(os.environ.get("SEED", "0")) or random.randrange(1, 10 ** 6)
print("# SEED=%d" % seed)
for kind, user in (("mbox", "cm"), ("Maildir", "cd")):
    run(kind, user, seed)
done()
