#!/bin/sh
# imap4d under concurrency, for an mbox INBOX and a Maildir INBOX: four
# sessions (imap4d -a USER over pipes) doing random STORE (+/-FLAGS, keywords),
# EXPUNGE, APPEND, COPY and MOVE to a folder, FETCH, SEARCH, STATUS, NOOP and
# IDLE while `upas send` delivers 50 messages (20 of them in a burst, while two
# sessions fight over one message's flags and two ask STATUS). Each session
# tracks its view as a client does (EXISTS, EXPUNGE and FETCH, RFC 3501
# numbering) and checks: UIDs ascending, an expunged UID never back,
# UIDVALIDITY constant, one UID and one body per Message-ID, \Recent in at
# most one session, no EXPUNGE answering FETCH, STORE or SEARCH, flags
# another session owns never lost. At the end every session, a fresh one and
# the mailbox on disk agree, and nothing is lost. Then sessions killed with
# -9 at random points must leave UIDVALIDITY and the UIDs of the survivors
# alone. STRESS_SECS sets the length of each random run (8 s); KEEP=1 keeps
# $T with every session's exchange.
. "$(dirname "$0")/lib.sh"
setup
R=$UPASROOT
cp -r "$top/configs/root/lib/." "$R/lib/"
OWNER=$(id -u)
if [ "$OWNER" = 0 ]; then
	OWNER=4242
	chmod 755 "$T"
fi
# sm: an mbox INBOX; sd: a Maildir INBOX; each with a folder "Saved" of its kind
mkdir -p "$R/box/sm" "$R/box/sd/mbox/cur" "$R/box/sd/mbox/new" "$R/box/sd/mbox/tmp" \
	"$R/box/sd/Saved/cur" "$R/box/sd/Saved/new" "$R/box/sd/Saved/tmp"
: >"$R/box/sm/mbox"
: >"$R/box/sm/Saved"
chmod 600 "$R/box/sm/mbox" "$R/box/sm/Saved"
[ "$(id -u)" = 0 ] && chown -R $OWNER:$OWNER "$R/box/sm" "$R/box/sd"

cat >"$T/stress.py" <<'PY'
import os, random, re, subprocess, sys, threading, time
UPAS = os.environ["UPAS"]
R = os.environ["UPASROOT"]
USER, KIND, SECS = sys.argv[1], sys.argv[2], float(sys.argv[3])
lock = threading.Lock()
fails = []
def res(cond, desc, detail=""):
    print(("ok|" if cond else "notok|") + desc + ("" if cond else "|" + str(detail)[:900]), flush=True)
def fail(who, what):
    with lock:
        if len(fails) < 40:
            fails.append("%s: %s" % (who, what))

# ---- a minimal IMAP reader: lines with their literals, parsed into tokens
class Lit(bytes):
    pass
def tokens(s, i=0, depth=0):
    out = []
    n = len(s)
    while i < n:
        c = s[i:i+1]
        if c == b" ":
            i += 1
        elif c == b"(":
            v, i = tokens(s, i + 1, depth + 1)
            out.append(v)
        elif c == b")":
            return out, i + 1
        elif c == b'"':
            j, b = i + 1, b""
            while s[j:j+1] != b'"':
                if s[j:j+1] == b"\\":
                    j += 1
                b += s[j:j+1]
                j += 1
            out.append(b)
            i = j + 1
        elif c == b"\0":	# a literal's place: \0index\0
            j = s.index(b"\0", i + 1)
            out.append(("lit", int(s[i+1:j])))
            i = j + 1
        else:
            j = i
            while j < n and s[j:j+1] not in (b" ", b"(", b")") :
                if s[j:j+1] == b"[":
                    j = s.index(b"]", j)
                j += 1
            out.append(s[i:j])
            i = j
    return out, i

class Sess:
    """One imap4d over pipes, seen as a client sees it."""
    def __init__(self, name, shared, select=True):
        self.name = name
        self.sh = shared
        self.p = subprocess.Popen([UPAS, "imap4d", "-a", USER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.buf = b""
        self.n = 0
        self.view = []		# per sequence number: [uid, flags(set), msgid]
        self.gone = set()	# UIDs this session saw expunged
        self.validity = None
        self.log = []		# the last exchanges, for a report
        self.full = []		# all of them, kept with KEEP=1
        self.dead = False
        l = self.readline()[0]
        if not l.startswith(b"* PREAUTH"):
            raise RuntimeError(l)
        if select:
            self.select()
    def readline(self):
        """One response line with its literals: (text with \\0i\\0 for literal i, [literal bytes])."""
        lits = []
        text = b""
        while True:
            while b"\r\n" not in self.buf:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    raise EOFError(self.name + ": server closed")
                self.buf += d
            l, self.buf = self.buf.split(b"\r\n", 1)
            m = re.search(rb"~?\{(\d+)\}$", l)
            if not m:
                return text + l, lits
            k = int(m.group(1))
            text += l[:m.start()] + b"\0%d\0" % len(lits)
            while len(self.buf) < k:
                d = os.read(self.p.stdout.fileno(), 65536)
                if not d:
                    raise EOFError(self.name + ": server closed in a literal")
                self.buf += d
            lits.append(self.buf[:k])
            self.buf = self.buf[k:]
    def send(self, b):
        self.log.append(b">" + b[:120])
        self.full.append(b"%.3f >" % time.time() + b[:200])
        self.p.stdin.write(b)
        self.p.stdin.flush()
    def cmd(self, text, lit=None):
        """Send a command (a literal with LITERAL+ when given); handle the responses; the tagged one."""
        self.n += 1
        tag = b"%s%d" % (self.name.encode(), self.n)
        if lit is not None:
            self.send(tag + b" " + text + b" {%d+}\r\n" % len(lit) + lit + b"\r\n")
        else:
            self.send(tag + b" " + text + b"\r\n")
        r = self.until(tag)
        # RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH (UID ones aside)
        if text.split(b" ", 1)[0] in (b"FETCH", b"STORE", b"SEARCH") and any(
                re.match(rb"\* \d+ EXPUNGE", l) for l in self.resp):
            self.bad("EXPUNGE during " + text[:40].decode())
        return r
    def until(self, tag):
        self.resp = []
        while True:
            l, lits = self.readline()
            self.resp.append(l)
            self.log.append(b"<" + l[:160])
            self.full.append(b"%.3f <" % time.time() + l[:300])
            del self.log[:-60]
            if l.startswith(tag + b" "):
                return l
            if l.startswith(b"* "):
                self.untagged(l, lits)
    def bad(self, what):
        fail(self.name, what + " | last: " + repr(self.log[-12:]))
    def untagged(self, l, lits):
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|FETCH|RECENT)\b ?(.*)$", l, re.S)
        if not m:
            v = re.search(rb"\[UIDVALIDITY (\d+)\]", l)
            if v:
                v = int(v.group(1))
                if self.validity is not None and v != self.validity:
                    self.bad("UIDVALIDITY changed %d -> %d" % (self.validity, v))
                self.validity = v
                if self.sh.validity is None:
                    self.sh.validity = v
                elif v != self.sh.validity:
                    self.bad("UIDVALIDITY %d, another session had %d" % (v, self.sh.validity))
            return
        n, what = int(m.group(1)), m.group(2)
        if what == b"EXISTS":
            if n < len(self.view):
                self.bad("EXISTS %d below the %d known" % (n, len(self.view)))
            while len(self.view) < n:
                self.view.append([None, None, None])
        elif what == b"EXPUNGE":
            if n < 1 or n > len(self.view):
                self.bad("EXPUNGE %d of %d" % (n, len(self.view)))
                return
            e = self.view.pop(n - 1)
            if e[0] is not None:
                self.gone.add(e[0])
                with self.sh.lock:
                    self.sh.expunged.add(e[0])
        elif what == b"FETCH":
            if n < 1 or n > len(self.view):
                self.bad("FETCH %d of %d" % (n, len(self.view)))
                return
            t, _ = tokens(m.group(3))
            if not t or not isinstance(t[0], list):
                self.bad("FETCH syntax")
                return
            t = t[0]
            e = self.view[n - 1]
            for i in range(0, len(t) - 1, 2):
                k, v = t[i].upper() if isinstance(t[i], bytes) else t[i], t[i + 1]
                if k == b"UID":
                    u = int(v)
                    if e[0] is not None and e[0] != u:
                        self.bad("message %d: UID %d, was %d" % (n, u, e[0]))
                    if u in self.gone:
                        self.bad("UID %d back after its EXPUNGE" % u)
                    e[0] = u
                elif k == b"FLAGS":
                    e[1] = set(x.decode().lower() for x in v)
                elif k.startswith(b"BODY[HEADER.FIELDS"):
                    h = lits[v[1]] if isinstance(v, tuple) else v
                    mm = re.search(rb"<([^>]+)>", h)
                    e[2] = mm.group(1).decode() if mm else ""
                elif k == b"BODY[]":
                    body = lits[v[1]] if isinstance(v, tuple) else v
                    mm = re.search(rb"(?im)^Message-ID: *<([^>]+)>", body)
                    if e[2] is not None and (mm is None or mm.group(1).decode() != e[2]):
                        self.bad("UID %s: body of %s, header said %s" % (e[0], mm and mm.group(1), e[2]))
            self.checkmsg(e)
            self.order()
    def checkmsg(self, e):
        uid, fl, mid = e
        if uid is None:
            return
        with self.sh.lock:
            if mid:
                old = self.sh.uid2id.setdefault(uid, mid)
                if old != mid:
                    self.bad("UID %d is %s, was %s" % (uid, mid, old))
                u = self.sh.id2uid.setdefault(mid, uid)
                if u != uid:
                    self.bad("%s has UID %d and %d" % (mid, u, uid))
            if fl is not None and "\\recent" in fl:
                s = self.sh.recent.setdefault(uid, set())
                s.add(self.name)
                if len(s) > 1:
                    self.bad("UID %d \\Recent in %s" % (uid, sorted(s)))
    def order(self):
        last = 0
        for e in self.view:
            if e[0] is None:
                continue
            if e[0] <= last:
                self.bad("UIDs not ascending: %s" % [x[0] for x in self.view])
                return
            last = e[0]
    def learn(self):
        """FETCH what the view does not know yet."""
        for _ in range(5):
            miss = [i + 1 for i, e in enumerate(self.view) if e[0] is None or e[2] is None]
            if not miss:
                return
            self.cmd(b"FETCH %d:%d (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" % (miss[0], miss[-1]))
    def select(self):
        self.view = []
        l = self.cmd(b"SELECT INBOX")
        if b" OK " not in l:
            raise RuntimeError(l)
        self.learn()
    def kill(self):
        self.p.kill()
        self.p.wait()
    def close(self):
        if os.environ.get("KEEP"):
            with open(os.path.join(os.path.dirname(R), "%s.%s.log" % (KIND, self.name)), "wb") as fh:
                fh.write(b"\n".join(self.full) + b"\n")
        try:
            self.cmd(b"LOGOUT")
        except Exception:
            pass
        self.p.wait()

class Shared:
    def __init__(self):
        self.lock = threading.Lock()
        self.validity = None
        self.uid2id, self.id2uid = {}, {}
        self.recent = {}
        self.expunged = set()
        self.created = set()	# Message-IDs delivered or appended to INBOX
        self.deleted = set()	# Message-IDs some session set \Deleted on (or moved)
        self.copied = {}	# Message-ID: copies made into Saved
        self.owned = {}		# (Message-ID, owner): the owner's flag and keyword as last stored

OWN = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft"]
def newmsg(mid, tag):
    return ("From: stress@example.net\r\nTo: %s@example.com\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\n"
            "body of %s\r\n%s" % (USER, tag, mid, mid, "line\r\n" * random.randint(0, 300))).encode()

def worker(k, sh, end, end2):
    s = Sess("c%d" % k, sh)
    rnd = random.Random(os.getpid() * 10 + k)
    napp = 0
    try:
        while time.time() < end:
            known = [e for e in s.view if e[0] is not None and e[2]]
            # the first messages stay: \Deleted and MOVE spare them
            spare = [e for e in known if not e[2].startswith("pre.")]
            hot = [e for e in known if e[2].startswith("pre.0.")]
            op = rnd.random()
            if op < 0.30 and known:
                # half of them on one message, where sessions meet
                e = hot[0] if hot and rnd.random() < 0.5 else rnd.choice(known)
                on = rnd.random() < 0.6
                r = s.cmd(b"UID STORE %d %sFLAGS (%s own%d)" % (e[0], b"+" if on else b"-", OWN[k].encode(), k))
                if b" OK " in r:
                    with sh.lock:
                        sh.owned[(e[2], k)] = on
            elif op < 0.36 and spare:
                e = rnd.choice(spare)
                seq = s.view.index(e) + 1
                with sh.lock:
                    sh.deleted.add(e[2])	# from now on it may go
                r = s.cmd(b"STORE %d +FLAGS.SILENT (\\Deleted)" % seq)
                if b" OK " in r and e in s.view and e[1] is not None:
                    e[1].add("\\deleted")	# .SILENT: the client knows
            elif op < 0.40:
                s.cmd(b"EXPUNGE" if rnd.random() < 0.5 else b"UID EXPUNGE 1:*")
            elif op < 0.48:
                napp += 1
                mid = "app.%d.%d.%d@stress" % (k, napp, os.getpid())
                with sh.lock:
                    sh.created.add(mid)
                r = s.cmd(b"APPEND INBOX", newmsg(mid, "append"))
                if b" OK " not in r:
                    s.bad("APPEND: %r" % r)
            elif op < 0.53 and known:
                e = rnd.choice(known)
                move = rnd.random() < 0.3 and e in spare
                if move:
                    with sh.lock:
                        sh.deleted.add(e[2])
                r = s.cmd(b"UID %s %d Saved" % (b"MOVE" if move else b"COPY", e[0]))
                if b" OK " in r and b"[COPYUID" in b"".join(s.resp):
                    with sh.lock:
                        sh.copied[e[2]] = sh.copied.get(e[2], 0) + 1
            elif op < 0.68 and s.view:
                lo = rnd.randint(1, len(s.view))
                hi = rnd.randint(lo, len(s.view))
                if rnd.random() < 0.5:
                    s.cmd(b"FETCH %d:%d (UID FLAGS)" % (lo, hi))
                else:
                    s.cmd(b"UID FETCH %d:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)] BODY.PEEK[])" %
                          (s.view[lo - 1][0] or 1))
            elif op < 0.73:
                s.cmd(b"SEARCH ALL")
            elif op < 0.80:
                s.cmd(b"STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY)")
            elif op < 0.87:
                s.send(b"idle IDLE\r\n")
                l, _ = s.readline()
                if not l.startswith(b"+"):
                    s.bad("IDLE: %r" % l)
                time.sleep(rnd.uniform(0.1, 0.8))
                s.send(b"DONE\r\n")
                s.until(b"idle")
            else:
                s.cmd(b"NOOP")
            s.learn()
        # a burst of deliveries: two sessions duel over one message's flags,
        # two ask STATUS and look
        i = 0
        while time.time() < end2 or (k < 2 and i < 40):
            i += 1
            hot = [e for e in s.view if e[2] and e[2].startswith("pre.0.")]
            if k < 2 and hot:
                on = i % 2 == 1
                r = s.cmd(b"UID STORE %d %sFLAGS (%s own%d)" % (hot[0][0], b"+" if on else b"-", OWN[k].encode(), k))
                if b" OK " in r:
                    with sh.lock:
                        sh.owned[(hot[0][2], k)] = on
            elif k >= 2:
                s.cmd(b"STATUS INBOX (UIDNEXT MESSAGES)" if i % 2 else b"NOOP")
            s.learn()
        if k < 2 and hot and i % 2 == 0:
            r = s.cmd(b"UID STORE %d +FLAGS (%s own%d)" % (hot[0][0], OWN[k].encode(), k))
            if b" OK " in r:
                with sh.lock:
                    sh.owned[(hot[0][2], k)] = True
    except (EOFError, OSError, RuntimeError, ValueError) as x:
        s.bad("session died: %r" % x)
    return s

def deliver(sh, mids, delay, start=0):
    while time.time() < start:
        time.sleep(0.05)
    for mid in mids:
        time.sleep(delay)
        with sh.lock:
            sh.created.add(mid)
        m = newmsg(mid, "delivered").replace(b"\r\n", b"\n")
        r = subprocess.run([UPAS, "send", USER], input=m, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            fail("send", "%s: exit %d %s" % (mid, r.returncode, r.stderr[:200]))

def ondisk(box):
    """Message-ID: flags of the mailbox on disk."""
    out = {}
    path = os.path.join(R, "box", USER, box)
    if os.path.isdir(path):
        for sub in ("new", "cur"):
            for f in os.listdir(os.path.join(path, sub)):
                with open(os.path.join(path, sub, f), "rb") as fh:
                    t = fh.read()
                mm = re.search(rb"(?im)^Message-ID: *<([^>]+)>", t)
                fl = f.split(":2,")[1] if ":2," in f else ""
                m = {"S": "\\seen", "F": "\\flagged", "R": "\\answered", "D": "\\draft", "T": "\\deleted"}
                out.setdefault(mm.group(1).decode() if mm else "?", []).append(set(m[c] for c in fl if c in m))
        return out
    t = open(path, "rb").read()
    for msg in re.split(rb"(?m)^From [^\n]*\n", t)[1:]:
        hdr = msg.split(b"\n\n", 1)[0]
        mm = re.search(rb"(?im)^Message-ID: *<([^>]+)>", hdr)
        st = re.search(rb"(?m)^Status: *(\w*)", hdr)
        xs = re.search(rb"(?m)^X-Status: *(\w*)", hdr)
        fl = set()
        if st and b"R" in st.group(1):
            fl.add("\\seen")
        m = {b"A": "\\answered", b"F": "\\flagged", b"D": "\\deleted", b"T": "\\draft"}
        for c in (xs.group(1) if xs else b""):
            if bytes([c]) in m:
                fl.add(m[bytes([c])])
        out.setdefault(mm.group(1).decode() if mm else "?", []).append(fl)
    return out

def stress():
    sh = Shared()
    # some mail to start with
    deliver(sh, ["pre.%d.%d@stress" % (i, os.getpid()) for i in range(5)], 0)
    end = time.time() + SECS
    ws, ts = [None] * 4, []
    def run(k):
        ws[k] = worker(k, sh, end, end + 2)
    for k in range(4):
        ts.append(threading.Thread(target=run, args=(k,)))
    # 30 deliveries spread over the random phase, 20 in a burst after it
    for i in range(3):
        ts.append(threading.Thread(target=deliver, args=(sh, ["dlv.%d.%d.%d@stress" % (i, j, os.getpid()) for j in range(10)],
                                                         SECS / 11)))
    for i in range(4):
        ts.append(threading.Thread(target=deliver, args=(sh, ["burst.%d.%d.%d@stress" % (i, j, os.getpid()) for j in range(5)],
                                                         0, end)))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sess = [w for w in ws if w is not None]
    # quiet now: every session catches up
    for s in sess:
        try:
            s.cmd(b"NOOP")
            s.learn()
        except Exception as x:
            s.bad("final NOOP: %r" % x)
    f = Sess("fresh", sh)
    want = [(e[0], e[2]) for e in f.view]
    wantfl = {e[0]: (e[1] or set()) - {"\\recent"} for e in f.view}
    for s in sess:
        got = [(e[0], e[2]) for e in s.view]
        if got != want:
            s.bad("view differs from a fresh session: %s\n   fresh %s" % (got, want))
        for e in s.view:
            if e[0] in wantfl and (e[1] or set()) - {"\\recent"} != wantfl[e[0]]:
                s.bad("UID %d flags %s as told, %s in a fresh session" % (e[0], sorted(e[1] or ()), sorted(wantfl[e[0]])))
    res(not fails, "%s: %d sessions and 55 deliveries: every invariant held" % (KIND, len(sess)), "\n".join(fails))
    fails.clear()
    # against the disk
    disk = ondisk("mbox")
    mine = {}
    for u, mid in want:
        mine.setdefault(mid, []).append(u)
    dup = [m for m, v in disk.items() if len(v) > 1] + [m for m, v in mine.items() if len(v) > 1]
    res(not dup, "%s: no Message-ID twice" % KIND, dup)
    res(set(disk) == set(mine), "%s: the fresh session shows the mailbox on disk" % KIND,
        "disk only %s, imap only %s" % (sorted(set(disk) - set(mine)), sorted(set(mine) - set(disk))))
    sys_ = {"\\seen", "\\flagged", "\\answered", "\\draft", "\\deleted"}
    bad = [(m, sorted(disk[m][0]), sorted(wantfl[u] & sys_)) for u, m in want if m in disk and disk[m][0] != wantfl[u] & sys_]
    res(not bad, "%s: flags as on disk" % KIND, bad)
    lost = sorted(m for m in sh.created - set(mine) if m not in sh.deleted)
    lost = ["%s (UID %s%s)" % (m, sh.id2uid.get(m), ", reported expunged" if sh.id2uid.get(m) in sh.expunged else "")
            for m in lost]
    res(not lost, "%s: nothing lost (deliveries + appends - expunges)" % KIND,
        "%d lost: %s; created %d, present %d" % (len(lost), lost[:8], len(sh.created), len(mine)))
    extra = sorted(set(mine) - sh.created)
    res(not extra, "%s: nothing extra" % KIND, extra)
    # flags owned by one session: what it stored last
    owned = []
    for (mid, k), on in sh.owned.items():
        if mid in mine:
            fl = wantfl[mine[mid][0]]
            if (OWN[k].lower() in fl) != on or (("own%d" % k) in fl) != on:
                owned.append("%s c%d stored %s, now %s" % (mid, k, on, sorted(fl)))
    res(not owned, "%s: no session's flag change lost to another's" % KIND, owned[:6])
    saved = ondisk("Saved")
    short = sorted(m for m, n in sh.copied.items() if len(saved.get(m, [])) < n)
    res(not short, "%s: every COPY and MOVE is in Saved" % KIND, short[:8])
    for s in sess + [f]:
        s.close()
    return sh

def killed(sh):
    """kill -9 sessions at random points; the next session must agree on UIDVALIDITY and UIDs."""
    rnd = random.Random(os.getpid())
    f = Sess("before", sh)
    v0, before = f.validity, {e[2]: e[0] for e in f.view}
    f.close()
    probs = []
    for it in range(6):
        s = Sess("k%d" % it, sh)
        # the server's output drained, its death at a random moment
        drain = threading.Thread(target=lambda p=s.p: [None for _ in iter(lambda: os.read(p.stdout.fileno(), 65536), b"")])
        drain.start()
        timer = threading.Timer(rnd.uniform(0.05, 0.8), s.p.kill)
        timer.start()
        dmid = "kill.%d.%d@stress" % (it, os.getpid())
        t = threading.Thread(target=deliver, args=(sh, [dmid], rnd.uniform(0, 0.3)))
        t.start()
        try:
            i = 0
            while s.p.poll() is None:
                i += 1
                known = [e for e in s.view if e[0] is not None]
                if known and i % 3 == 0:
                    e = rnd.choice(known)
                    s.send(b"x UID STORE %d +FLAGS (\\Flagged kw%d)\r\n" % (e[0], i))
                elif i % 3 == 1:
                    mid = "kapp.%d.%d.%d@stress" % (it, i, os.getpid())
                    m = newmsg(mid, "kill") * 20
                    s.send(b"x APPEND INBOX {%d+}\r\n" % len(m) + m + b"\r\n")
                else:
                    s.send(b"x UID COPY 1:* Saved\r\nx NOOP\r\n")
                time.sleep(0.01)
        except (BrokenPipeError, OSError):
            pass
        s.p.wait()
        drain.join()
        t.join()
        n = Sess("after%d" % it, sh)
        now = {e[2]: e[0] for e in n.view}
        if n.validity != v0:
            probs.append("kill %d: UIDVALIDITY %s, was %s" % (it, n.validity, v0))
        moved = [(m, u, now[m]) for m, u in before.items() if m in now and now[m] != u]
        if moved:
            probs.append("kill %d: UIDs changed: %s" % (it, moved[:5]))
        lost = [m for m in before if m not in now] + ([dmid] if dmid not in now else [])
        if lost:
            probs.append("kill %d: messages gone: %s" % (it, lost[:5]))
        torn = [e for e in n.view if not e[2]]
        if torn:
            probs.append("kill %d: messages without their Message-ID: %s" % (it, torn[:3]))
        before = now
        n.close()
    res(not probs, "%s: kill -9 mid-session: UIDVALIDITY, UIDs and messages kept" % KIND, "; ".join(probs))

sh = stress()
killed(sh)
PY
export PYTHONPATH="$T" UPAS

pyt() {
	python3 "$@" >"$T/py.out" 2>&1
	rc=$?
	while IFS='|' read -r st desc detail; do
		case $st in
		ok) ok "$desc" ;;
		notok) notok "$desc"; diag "$detail" ;;
		*) diag "$st $desc $detail" ;;
		esac
	done <"$T/py.out"
	[ $rc = 0 ] || notok "python exited $rc"
}

S=${STRESS_SECS:-8}
pyt "$T/stress.py" sm mbox "$S"
pyt "$T/stress.py" sd Maildir "$S"
grep -h -i "sanitizer\|runtime error" "$R/log/imap4d" 2>/dev/null | head -5 | while read -r l; do diag "$l"; done
check "no sanitizer report in the log" sh -c "! grep -qi 'sanitizer\|runtime error' '$R/log/imap4d' 2>/dev/null"
done_testing
