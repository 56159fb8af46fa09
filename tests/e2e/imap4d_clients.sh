#!/bin/sh
# imap4d under listen with real clients: mbsync (a client Maildir synced both
# ways with an mbox INBOX in plaintext and a Maildir INBOX over STARTTLS, each
# with more folders: new mail, flags, expunges and moves on either side, then
# a sync that must change nothing), mutt in tmux (read, flag, delete, $),
# fetchmail (keep, then delete over STARTTLS), getmail6 (IMAPS keep, then
# IMAP delete), curl imap:// with --ssl-reqd and imaps:// through listen -c
# (LIST, a body by UID, SEARCH, CREATE, APPEND). Each server's conversation
# is in $T/debug/ (KEEP=1 keeps $T).
# PEER=dovecot runs the same clients against a private Dovecot instead (to
# tell a client's quirk from a server bug).
. "$(dirname "$0")/lib.sh"
setup
R=$UPASROOT
cp -r "$top/configs/root/lib/." "$R/lib/"
users="ms1 ms2 mu mv fm gm cu"
: >"$R/lib/secrets"
for u in $users; do
	printf '%s %spw\n' "$u" "$u" >>"$R/lib/secrets"
	mkdir -p "$R/box/$u"
done
chmod 600 "$R/lib/secrets"
# ms2, mv and gm hold a Maildir, the rest an mbox
maildirs="ms2 mv gm"
for u in $maildirs; do mkdir -p "$R/box/$u/mbox/cur" "$R/box/$u/mbox/new" "$R/box/$u/mbox/tmp"; done
OWNER=$(id -u)
if [ "$OWNER" = 0 ]; then
	# as root the session becomes the owner of box/USER, never root
	OWNER=4242
	chmod 755 "$T"
fi
isdir() { case " $maildirs " in *" $1 "*) return 0 ;; esac; return 1; }

deliver() {	# deliver USER SUBJECT: through upas send
	printf 'From: sender@example.net\nSubject: %s\n\nbody of %s\n' "$2" "$2" | "$UPAS" send "$1"
}
own() { [ "$(id -u)" = 0 ] && chown -R $OWNER:$OWNER "$@"; :; }

mkca ca
# the server's certificate names imap.test, localhost and 127.0.0.1, signed by the CA
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=imap.test" -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:imap.test,DNS:localhost,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null

# P: plaintext logins allowed; PS: STARTTLS, LOGINDISABLED before it;
# PI: implicit TLS by listen -c
P=$(freeport)
PS=$(freeport)
PI=$(freeport)
if [ "${PEER:-}" = dovecot ]; then
	D=$T/dv
	mkdir -p "$D/run" "$D/idx"
	chmod 755 "$D" "$D/run"
	: >"$D/users"
	for u in $users; do
		if isdir $u; then m="maildir:~:INBOX=~/mbox:LAYOUT=fs:INDEX=$D/idx/%u"
		else m="mbox:~:INBOX=~/mbox:INDEX=$D/idx/%u"; fi
		printf '%s:{PLAIN}%spw:%s:%s::%s/box/%s::userdb_mail=%s\n' $u $u $OWNER $OWNER "$R" $u "$m" >>"$D/users"
	done
	own "$D/idx"
	cat >"$D/dovecot.conf" <<-EOF
	protocols = imap
	listen = 127.0.0.1
	base_dir = $D/run
	state_dir = $D/run
	log_path = $D/log
	ssl = yes
	ssl_cert = <$T/srv.crt
	ssl_key = <$T/srv.key
	disable_plaintext_auth = no
	auth_mechanisms = plain login
	first_valid_uid = 1
	mail_uid = $OWNER
	mail_gid = $OWNER
	passdb {
	  driver = passwd-file
	  args = $D/users
	}
	userdb {
	  driver = passwd-file
	  args = $D/users
	}
	service imap-login {
	  inet_listener imap {
	    port = $P
	  }
	  inet_listener imap2 {
	    port = $PS
	  }
	  inet_listener imaps {
	    port = $PI
	    ssl = yes
	  }
	  chroot =
	}
	service anvil {
	  chroot =
	}
	EOF
	spawn /usr/sbin/dovecot -F -c "$D/dovecot.conf"
else
	# the conversations, in a directory a session that became a box's owner may write
	mkdir -m 1777 "$T/debug"
	spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$P imap4d -p -d "$T/debug/P"
	spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$PS imap4d -t "$T/srv.crt" -K "$T/srv.key" -d "$T/debug/PS"
	spawn "$UPAS" listen -q -p 50 -c "$T/srv.crt" -k "$T/srv.key" tcp!127.0.0.1!$PI imap4d -p -d "$T/debug/PI"
fi
waitport $P && waitport $PS && waitport $PI || notok "the servers listen"

# state.py SIDE DIR [FOLDER SUBJECT]: one line per message,
# "folder<TAB>subject<TAB>flags" (the Maildir letters, sorted), sorted; or
# the bytes of one message (an mbox's From line, mboxrd quoting and flag
# lines taken away). SIDE local is mbsync's Maildir tree (INBOX in DIR/INBOX),
# mbox and maildir a server's box/USER (INBOX in DIR/mbox, folders beside it)
cat >"$T/state.py" <<'PY'
import os, re, sys
side, d = sys.argv[1], sys.argv[2]
want = sys.argv[3:5]
def subject(head):
    m = re.search(rb"^subject: *(.*)$", head, re.I | re.M)
    return m.group(1).decode(errors="replace").strip() if m else "?"
def maildir(path, name, out):
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(path, sub)):
            if f.startswith("."):
                continue
            m = open(os.path.join(path, sub, f), "rb").read()
            fl = f.split(":2,", 1)[1] if ":2," in f else ""
            out.append((name, subject(m.split(b"\n\n", 1)[0]), "".join(sorted(c for c in fl if c.isupper())), m))
def mbox(path, name, out):
    data = open(path, "rb").read()
    for m in re.split(rb"(?:^|\n)From [^\n]*\n", data)[1:]:
        head, _, body = m.partition(b"\n\n")
        if re.search(rb"^X-IMAP:", head, re.M):
            continue	# Dovecot's folder data in an empty mbox
        fl = ""
        s = re.search(rb"^Status: *(\S*)", head, re.M)
        if s and b"R" in s.group(1):
            fl += "S"
        x = re.search(rb"^X-Status: *(\S*)", head, re.M)
        if x:
            fl += "".join({"A": "R", "F": "F", "T": "D", "D": "T"}.get(chr(c), "") for c in x.group(1))
        head = re.sub(rb"(?m)^(Status|X-Status|X-UID|X-Keywords|X-IMAPbase|Content-Length):[^\n]*\n", b"", head + b"\n")
        body = re.sub(rb"(?m)^>(>*From )", rb"\1", body[:-1] if body.endswith(b"\n") else body)
        out.append((name, subject(head), "".join(sorted(fl)), head + b"\n" + body))
def ismaildir(p):
    return all(os.path.isdir(os.path.join(p, s)) for s in ("cur", "new", "tmp"))
def ismbox(p):
    if not os.path.isfile(p) or os.path.islink(p):
        return False
    with open(p, "rb") as f:
        return f.read(5) == b"From "
out = []
inbox = "INBOX" if side == "local" else "mbox"
for e in sorted(os.listdir(d)):
    p = os.path.join(d, e)
    name = "INBOX" if e == inbox else e
    if e.startswith("."):
        continue
    if ismaildir(p):
        maildir(p, name, out)
    elif side == "mbox" and ismbox(p):
        mbox(p, name, out)
if want:	# without the X-TUID mbsync adds to find what it copied
    sys.stdout.buffer.write(b"".join(re.sub(rb"^((?:[^\n]+\n)*?)X-TUID: [^\n]*\n", rb"\1", m[3]) for m in out if list(m[:2]) == want))
else:
    for m in sorted(out):
        print("\t".join(m[:3]))
PY

# srv.py USER OP FOLDER SUBJECT [ARG]: a change made on the server, through
# IMAP on P (imaplib): flag (ARG a flag), expunge, move (ARG the folder)
cat >"$T/srv.py" <<'PY'
import imaplib, re, sys
port, user, op, folder, subj = sys.argv[1:6]
arg = sys.argv[6] if len(sys.argv) > 6 else None
c = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
c.login(user, user + "pw")
typ, _ = c.select('"%s"' % folder)
assert typ == "OK", (typ, _)
typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
uid = None
for d in data:
    if isinstance(d, tuple) and re.search(rb"^Subject: *" + re.escape(subj.encode()) + rb"\s*$", d[1], re.I | re.M):
        uid = re.search(rb"UID (\d+)", d[0]).group(1).decode()
assert uid, "no message %r in %s: %r" % (subj, folder, data)
if op == "flag":
    typ, r = c.uid("STORE", uid, "+FLAGS", "(%s)" % arg)
elif op == "expunge":
    typ, r = c.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
    assert typ == "OK", (typ, r)
    typ, r = c.expunge()
elif op == "move":
    typ, r = c.uid("MOVE", uid, '"%s"' % arg)
assert typ == "OK", (op, typ, r)
c.logout()
PY
srv() {	# a failure is a test that fails
	out=$(python3 "$T/srv.py" $P "$@" 2>&1) || { notok "imaplib: $*"; echo "$out" | tail -3 | sed 's/^/#   /'; }
}

# --- mbsync: ms1 (mbox INBOX) in plaintext, ms2 (Maildir INBOX) over STARTTLS
mbrc() {	# mbrc USER PORT SSLTYPE: mbsync's configuration for USER
	# (mbsync checks DNS names only: over TLS it dials localhost)
	h=127.0.0.1
	[ "$3" = None ] || h=localhost
	cat <<-EOF
	IMAPAccount $1
	Host $h
	Port $2
	User $1
	Pass $1pw
	SSLType $3
	CertificateFile $T/ca.crt
	Timeout 20

	IMAPStore $1-far
	Account $1

	MaildirStore $1-near
	Path $T/ms/$1/
	Inbox $T/ms/$1/INBOX
	SubFolders Verbatim

	Channel $1
	Far :$1-far:
	Near :$1-near:
	Patterns *
	Create Both
	Expunge Both
	SyncState *
	Sync All
	EOF
}
mbsync_run() {	# mbsync_run USER: one sync; its output, the IMAP exchange, in $T/ms/USER.log
	echo "--- sync" >>"$T/ms/$1.log"
	HOME=$T timeout 30 mbsync -Dn -c "$T/ms/$1.rc" "$1" >>"$T/ms/$1.log" 2>&1
}
# local state (mbsync's Maildir) and the server's (box/USER on disk)
lstate() { python3 "$T/state.py" local "$T/ms/$1" | tr '\t\n' ':|'; }
rstate() { if isdir "$1"; then f=maildir; else f=mbox; fi; python3 "$T/state.py" $f "$R/box/$1" | tr '\t\n' ':|'; }
# one message's bytes: lmsg|rmsg USER FOLDER SUBJECT
lmsg() { python3 "$T/state.py" local "$T/ms/$1" "$2" "$3"; }
rmsg() { if isdir "$1"; then f=maildir; else f=mbox; fi; python3 "$T/state.py" $f "$R/box/$1" "$2" "$3"; }
nmsg() {	# nmsg DIR SUBJECT FLAGS: a message written into a local Maildir folder
	if [ -n "$3" ]; then f="$1/cur/$(date +%s).$$_$2.local:2,$3"; else f="$1/new/$(date +%s).$$_$2.local"; fi
	printf 'From: near@example.org\nSubject: %s\nMessage-ID: <%s@near.test>\n\nwritten by the client\n%b.\n' "$2" "$2" "$fromline" >"$f"
}
lfind() {	# lfind USER FOLDER SUBJECT: the local file holding that message
	grep -l "^Subject: $3\$" "$T/ms/$1/$2"/cur/* "$T/ms/$1/$2"/new/* 2>/dev/null | head -1
}
lflag() {	# lflag USER FOLDER SUBJECT FLAGS: set its Maildir flags
	f=$(lfind "$1" "$2" "$3")
	[ -n "$f" ] || return 1
	b=$(basename "$f"); b=${b%%:2,*}
	mv "$f" "$T/ms/$1/$2/cur/$b:2,$4"
}
snapshot() {	# snapshot USER: the messages' file names on both sides, the mbox files' bytes
	(cd "$T/ms/$1" && find . -type f ! -name '.*' ! -path '*/tmp/*' | sort)
	(cd "$R/box/$1" && find . -type f ! -name '.*' ! -path '*/tmp/*' | sort | while read -r f; do
		case $(head -c 5 "$f") in "From ") echo "$f $(cksum <"$f")" ;; *) echo "$f" ;; esac
	done)
}

# a From line in what the client writes, quoted in the server's mbox (not by
# Dovecot, which relies on Content-Length: and would seem to split it here)
fromline='From here on\n'
[ "${PEER:-}" = dovecot ] && fromline=
mkdir -p "$T/ms"
mbsync_scenario() {	# mbsync_scenario USER PORT SSLTYPE
	u=$1
	mbrc $u $2 $3 >"$T/ms/$u.rc"
	# the server: INBOX m1..m6 delivered, a folder Archive holding a1 made on
	# disk; the client: a folder Local holding l1
	for i in 1 2 3 4 5 6; do deliver $u m$i; done
	printf 'From: far@example.org\nSubject: a1\nContent-Type: text/plain; charset=utf-8\n\nin the archive\n.\n..\n\tCaf\303\251 %s\n' \
		"$(printf '%0200d' 0)" >"$T/ms/$u.a1"
	if isdir $u; then
		mkdir -p "$R/box/$u/Archive/cur" "$R/box/$u/Archive/new" "$R/box/$u/Archive/tmp"
		cp "$T/ms/$u.a1" "$R/box/$u/Archive/cur/1700000000.a1.far:2,"
	else
		{ echo 'From far@example.org Mon Jan  2 15:04:05 2006'; cat "$T/ms/$u.a1"; echo; } >"$R/box/$u/Archive"
	fi
	own "$R/box/$u"
	mkdir -p "$T/ms/$u/Local/cur" "$T/ms/$u/Local/new" "$T/ms/$u/Local/tmp"
	nmsg "$T/ms/$u/Local" l1 ""

	mbsync_run $u; st=$?
	is "$st $(lstate $u)" "0 Archive:a1:|INBOX:m1:|INBOX:m2:|INBOX:m3:|INBOX:m4:|INBOX:m5:|INBOX:m6:|Local:l1:|" \
		"mbsync $u ($3): the first sync brings the server's folders and creates Local there"
	is "$(rstate $u)" "$(lstate $u)" "mbsync $u: the server holds the same"
	is "$(lmsg $u Archive a1 | cksum)" "$(cksum <"$T/ms/$u.a1")" "mbsync $u: a1 came byte for byte"
	is "$(rmsg $u Local l1 | cksum)" "$(lmsg $u Local l1 | cksum)" "mbsync $u: l1 went byte for byte"

	# both sides change: the server gets m7, flags m2, expunges m3 and moves
	# m4 to Archive; the client writes n1, reads m1, flags and reads a1,
	# deletes l1 and moves m6 to Archive
	deliver $u m7
	srv $u flag INBOX m2 '\Flagged'
	srv $u expunge INBOX m3
	srv $u move INBOX m4 Archive
	nmsg "$T/ms/$u/INBOX" n1 ""
	lflag $u INBOX m1 S
	lflag $u Archive a1 FS
	rm -f "$(lfind $u Local l1)"
	f=$(lfind $u INBOX m6); b=$(basename "$f"); b=$(echo "${b%%:2,*}" | sed 's/,U=[0-9]*//')
	mv "$f" "$T/ms/$u/Archive/cur/$b:2,"
	mbsync_run $u; st=$?
	want="Archive:a1:FS|Archive:m4:|Archive:m6:|INBOX:m1:S|INBOX:m2:F|INBOX:m5:|INBOX:m7:|INBOX:n1:|"
	is "$st $(lstate $u)" "0 $want" "mbsync $u: new, flagged, expunged and moved on both sides, locally"
	is "$(rstate $u)" "$want" "mbsync $u: and on the server"

	# flags set and a message deleted on each side once more: the server
	# reads m5 and deletes m7 (\Deleted, expunged by mbsync), the client
	# flags n1 and marks m4 deleted (T)
	srv $u flag INBOX m5 '\Seen'
	srv $u flag INBOX m7 '\Deleted'
	lflag $u INBOX n1 F
	lflag $u Archive m4 T
	mbsync_run $u; st=$?
	want="Archive:a1:FS|Archive:m6:|INBOX:m1:S|INBOX:m2:F|INBOX:m5:S|INBOX:n1:F|"
	is "$st $(lstate $u)" "0 $want" "mbsync $u: flags and deletions again, locally"
	is "$(rstate $u)" "$want" "mbsync $u: and on the server"

	# nothing changed: a sync changes nothing on either side
	snapshot $u >"$T/ms/$u.before"
	mbsync_run $u; st=$?
	snapshot $u >"$T/ms/$u.after"
	is "$st $(diff "$T/ms/$u.before" "$T/ms/$u.after" | tr '\n' '|')" "0 " "mbsync $u: a sync with no change changes no file"
	last=$(sed -n '/^--- sync/h; /^--- sync/!H; ${x;p}' "$T/ms/$u.log")
	like "$(echo "$last" | grep -c '^>>> [0-9]* SELECT') $(echo "$last" | grep -E '^>>> [0-9]+ (UID )?(STORE|APPEND|EXPUNGE|MOVE|COPY|CREATE)' | tr '\n' '|')" '^3 $' \
		"mbsync $u: and asks the server for no change"
}
if command -v mbsync >/dev/null 2>&1; then
	mbsync_scenario ms1 $P None
	mbsync_scenario ms2 $PS STARTTLS
	like "$(grep -m1 '^>>> .*STARTTLS' "$T/ms/ms2.log")" 'STARTTLS' "mbsync ms2 used STARTTLS"
else
	notok "mbsync is not installed (scripts/deps.sh test)"
fi

# --- mutt in tmux: reads one message, flags another, deletes a third, syncs
# with $; the server's mailbox shows it: mu holds an mbox, mv a Maildir
for i in 1 2 3; do deliver mu mu-$i; deliver mv mv-$i; done
own "$R/box/mu" "$R/box/mv"
twait() {	# twait REGEX: until the screen shows it (10 s); the screen in $screen
	for i in $(seq 100); do
		screen=$(tmux -L "imap$$" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
mutt_scenario() {	# mutt_scenario USER FORMAT
	u=$1
	printf 'set folder=%s\nset imap_pass=%spw\nset ssl_starttls=no\nset ssl_force_tls=no\nset sort=mailbox-order\nset delete=yes\nset quit=yes\nset mail_check=0\nset move=no\nset mark_old=no\nset resolve=no\n' "$T" $u >"$T/muttrc"
	tmux -L "imap$$" new-session -d -x 160 -y 30 "HOME=$T mutt -n -F $T/muttrc -f imap://$u@127.0.0.1:$P/INBOX" 2>/dev/null
	twait 'Msgs:3 '
	like "$screen" "Msgs:3 " "mutt $u: shows three messages"
	tmux -L "imap$$" send-keys Enter 2>/dev/null
	twait "body of $u-1"
	like "$screen" "body of $u-1" "mutt $u: reads the first"
	tmux -L "imap$$" send-keys 'i' 2>/dev/null
	twait 'Msgs:3 '
	tmux -L "imap$$" send-keys '2' Enter 'F' '3' Enter 'd' '$' 2>/dev/null
	for i in $(seq 100); do
		case $(python3 "$T/state.py" $2 "$R/box/$u") in *"$u-3"*) sleep 0.1 ;; *) break ;; esac
	done
	tmux -L "imap$$" send-keys 'q' 2>/dev/null
	for i in $(seq 100); do
		tmux -L "imap$$" has-session 2>/dev/null || break
		sleep 0.1
	done
	tmux -L "imap$$" kill-server 2>/dev/null
	for i in $(seq 50); do
		got=$(python3 "$T/state.py" $2 "$R/box/$u" | tr '\t\n' ':|')
		[ "$got" = "INBOX:$u-1:S|INBOX:$u-2:F|" ] && break
		sleep 0.1
	done
	is "$got" "INBOX:$u-1:S|INBOX:$u-2:F|" \
		"mutt $u: the $2 shows the first seen, the second flagged, the third gone"
}
if command -v mutt >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1; then
	mutt_scenario mu mbox
	mutt_scenario mv maildir
else
	notok "mutt or tmux is not installed (scripts/deps.sh test)"
fi

# messages whose bytes the retrieving clients must keep: From and dot lines,
# 8-bit text, a base64 attachment, blank lines at the end
mkdir -p "$T/want"
mkmsg() {	# mkmsg SUBJECT: into $T/want/SUBJECT
	case $1 in
	*-1) printf 'From: a@example.org\nTo: b@example.org\nSubject: %s\nMessage-ID: <%s@example.org>\n\nplain\n' $1 $1 ;;
	*-2) printf 'From: a@example.org\nSubject: %s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nFrom the start\n>From quoted\n.\n..two\nCaf\303\251 \342\202\254\n\n\n' $1 ;;
	*) printf 'From: a@example.org\nSubject: %s\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: text/plain\n\ntext\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n%s\n--b1--\n' $1 "$(head -c 300 /dev/zero | tr '\0' 'x' | base64 -w 76)" ;;
	esac >"$T/want/$1"
}
putmbox() {	# putmbox USER SUBJECT...: appended to box/USER/mbox, mboxrd-quoted
	u=$1; shift
	for s in "$@"; do
		mkmsg $s
		printf 'From a@example.org Mon Jan  2 15:04:05 2006\n'
		sed 's/^\(>*From \)/>\1/' "$T/want/$s"
		echo
	done >>"$R/box/$u/mbox"
}
putmaildir() {	# putmaildir USER SUBJECT...: into box/USER/mbox/new
	u=$1; shift
	for s in "$@"; do
		mkmsg $s
		cp "$T/want/$s" "$R/box/$u/mbox/new/1700000000.$s.far"
	done
}
same() {	# same DIR SUBJECT...: DIR holds a file per SUBJECT, byte for byte as
	# sent but for the Return-Path: getmail6 puts first
	d=$1; shift
	for s in "$@"; do
		f=$(grep -l "^Subject: $s\$" "$d"/* 2>/dev/null | head -1)
		if [ -z "$f" ]; then echo "$s missing"; return; fi
		sed '1{/^Return-Path: /d;}' "$f" >"$T/got"
		cmp -s "$T/got" "$T/want/$s" || { echo "$s differs: $(diff "$T/got" "$T/want/$s" | head -8 | tr '\n' '|')"; return; }
	done
	echo same
}

# --- fetchmail: keep mode (the unseen), then delete mode over STARTTLS with the CA
putmbox fm fm-1 fm-2 fm-3
# (Dovecot reads an mbox as mboxo: its From lines keep their '>')
fm2=fm-2
[ "${PEER:-}" = dovecot ] && fm2=
own "$R/box/fm"
mkdir -p "$T/fm1" "$T/fm2"
fetch() {	# fetch RCFILE: fetchmail's exit status (0 mail, 1 none)
	HOME=$T FETCHMAILHOME=$T timeout 60 fetchmail -v --nosyslog -f "$1" >>"$T/fm.log" 2>&1
	echo $?
}
cat >"$T/fmrc" <<-EOF
set invisible
poll 127.0.0.1 port $P protocol imap
	user fm password fmpw keep sslproto '' mda "cat >$T/fm1/\$\$"
EOF
cat >"$T/fmrc2" <<-EOF
set invisible
poll 127.0.0.1 port $PS protocol imap
	user fm password fmpw fetchall nokeep sslproto 'tls1.2+' sslcommonname imap.test sslcertck sslcertfile "$T/ca.crt" mda "cat >$T/fm2/\$\$"
EOF
chmod 600 "$T/fmrc" "$T/fmrc2"
if command -v fetchmail >/dev/null 2>&1; then
	st=$(fetch "$T/fmrc")
	is "$st $(cat "$T/fm1"/* | grep -c '^Subject: fm-')" "0 3" "fetchmail keep: three messages"
	is "$(same "$T/fm1" fm-1 $fm2 fm-3)" same "fetchmail keep: byte for byte"
	st=$(fetch "$T/fmrc")
	is "$st $(cat "$T/fm1"/* | grep -c '^Subject: fm-')" "1 3" "fetchmail keep again: nothing unseen"
	deliver fm fm-4
	st=$(fetch "$T/fmrc")
	is "$st $(cat "$T/fm1"/* | grep '^Subject: fm-' | sort | tr '\n' ' ')" "0 Subject: fm-1 Subject: fm-2 Subject: fm-3 Subject: fm-4 " \
		"fetchmail keep: only the new message"
	is "$(python3 "$T/state.py" mbox "$R/box/fm" | tr '\t\n' ':|')" "INBOX:fm-1:S|INBOX:fm-2:S|INBOX:fm-3:S|INBOX:fm-4:S|" \
		"fetchmail keep: all four seen on the server"
	st=$(fetch "$T/fmrc2")
	is "$st $(cat "$T/fm2"/* | grep -c '^Subject: fm-')" "0 4" "fetchmail over STARTTLS, certificate checked, deletes all four"
	is "$(same "$T/fm2" fm-1 $fm2 fm-3)" same "fetchmail delete: byte for byte"
	like "$(grep -m1 'STARTTLS' "$T/fm.log")" 'STARTTLS' "fetchmail used STARTTLS"
	is "$(python3 "$T/state.py" mbox "$R/box/fm")" "" "the mailbox is empty"
else
	notok "fetchmail is not installed (scripts/deps.sh test)"
fi

# --- getmail6: IMAPS through listen -c keeping, then IMAP deleting; it
# refuses to deliver as root: it runs as nobody
putmaildir gm gm-1 gm-2 gm-3
own "$R/box/gm"
mkdir -p "$T/gm" "$T/gmout/cur" "$T/gmout/new" "$T/gmout/tmp" "$T/gmout2/cur" "$T/gmout2/new" "$T/gmout2/tmp"
cat >"$T/gm/rc1" <<EOF
[retriever]
type = SimpleIMAPSSLRetriever
server = 127.0.0.1
port = $PI
username = gm
password = gmpw
ca_certs = $T/ca.crt
record_mailbox = false
[destination]
type = Maildir
path = $T/gmout/
[options]
delete = false
read_all = false
received = false
delivered_to = false
verbose = 0
EOF
sed -e 's/SimpleIMAPSSLRetriever/SimpleIMAPRetriever/' -e "s/^port = .*/port = $P/" -e '/^ca_certs/d' \
	-e 's/^delete = .*/delete = true/' -e 's/^read_all = .*/read_all = true/' -e 's/gmout/gmout2/' "$T/gm/rc1" >"$T/gm/rc2"
if command -v getmail >/dev/null 2>&1; then
	as=""
	if [ "$(id -u)" = 0 ]; then
		chown -R 65534 "$T/gm" "$T/gmout" "$T/gmout2"
		as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	fi
	gm() { HOME=$T $as timeout 60 getmail --getmaildir "$T/gm" --rcfile "$1" 2>&1; }
	out=$(gm rc1); st=$?
	is "$st $(cat "$T/gmout/new/"* 2>/dev/null | grep -c '^Subject: gm-')" "0 3" "getmail6 over IMAPS retrieves three messages $out"
	is "$(same "$T/gmout/new" gm-1 gm-2 gm-3)" same "getmail6: byte for byte"
	out=$(gm rc1); st=$?
	is "$st $(ls "$T/gmout/new" | wc -l)" "0 3" "getmail6 again: nothing new $out"
	out=$(gm rc2); st=$?
	is "$st $(cat "$T/gmout2/new/"* 2>/dev/null | grep -c '^Subject: gm-')" "0 3" "getmail6 over IMAP retrieves and deletes $out"
	is "$(ls "$R/box/gm/mbox/cur" "$R/box/gm/mbox/new" | grep -c gm-)" 0 "the Maildir is empty"
else
	notok "getmail6 is not installed (scripts/deps.sh test)"
fi

# --- curl: STARTTLS with --ssl-reqd, implicit TLS; LIST, a body by UID,
# SEARCH, CREATE, APPEND
for i in 1 2 3; do deliver cu cu-$i; done
own "$R/box/cu"
c() { curl -sS --max-time 10 --cacert "$T/ca.crt" -u cu:cupw "$@" 2>&1; }
out=$(c --ssl-reqd "imap://127.0.0.1:$PS/")
like "$out" '^\* LIST \([^)]*\) "/" "?INBOX"?' "curl --ssl-reqd: LIST over STARTTLS"
out=$(c --ssl-reqd "imap://127.0.0.1:$PS/INBOX;UID=1")
like "$out" 'body of cu-1' "curl --ssl-reqd: SELECT and FETCH UID 1"
out=$(c "imaps://127.0.0.1:$PI/INBOX;UID=2")
like "$out" 'body of cu-2' "curl imaps:// through listen -c: UID 2"
out=$(c "imaps://127.0.0.1:$PI/INBOX?SUBJECT%20cu-3")
like "$out" '^\* SEARCH 3' "curl imaps://: SEARCH"
out=$(c --ssl-reqd -X 'CREATE Work' "imap://127.0.0.1:$PS/"); st=$?
is "$st" 0 "curl: CREATE Work $out"
printf 'From: curl@example.org\nSubject: appended\n\nvia curl\n' >"$T/append.txt"
out=$(c --ssl-reqd -T "$T/append.txt" "imap://127.0.0.1:$PS/Work"); st=$?
is "$st $(python3 "$T/state.py" mbox "$R/box/cu" | tr '\t\n' ':|')" \
	"0 INBOX:cu-1:S|INBOX:cu-2:S|INBOX:cu-3:|Work:appended:S|" "curl APPEND (seen) into Work: an mbox beside INBOX $out"
out=$(c --ssl-reqd "imap://127.0.0.1:$PS/")
like "$(echo "$out" | tr -d '\r' | tr '\n' '|')" '"/" "?Work"?\|' "curl: LIST shows Work"
out=$(c "imaps://127.0.0.1:$PI/Work;UID=1")
like "$out" 'via curl' "curl: the appended message reads back"
# (Dovecot offers STARTTLS on every port)
[ "${PEER:-}" = dovecot ] || { out=$(c --ssl-reqd "imap://127.0.0.1:$P/"); st=$?
check "curl --ssl-reqd refuses a server without STARTTLS (exit $st)" test "$st" != 0; }

check "the logs hold no sanitizer report" sh -c "! cat '$R/log/'* 2>/dev/null | grep -Eq 'Sanitizer|runtime error'"

done_testing
