#!/bin/sh
# marshal: typed headers, RFC 2047 subjects and names, UTF-8 bodies, attachments
# (types, RFC 2231 names, message/rfc822), -C/-B, -8, aliases, the headers file,
# -R, -S, -t, -n, -x, -ps/-pe (PGP/MIME through gpg); the result parsed with
# python3's email package.
. "$(dirname "$0")/lib.sh"
setup

U=$(id -un)
B=$UPASROOT/box/$U
mkdir -p "$B"
# pipefrom stands in for send: it keeps argv, $upasname and the message
cat >"$B/pipefrom" <<SH
#!/bin/sh
printf '%s\n' "\$@" >"$T/argv"
printf '%s\n' "\$upasname" >"$T/upasname"
cat >"$T/msg"
exit \${PIPEFROM_EXIT:-0}
SH
chmod +x "$B/pipefrom"

# pycheck DESC SCRIPT: python3 reads $T/msg as m (policy default); prints OK or why not
pycheck() {
	out=$(python3 - "$T/msg" "$T" <<PY 2>&1
import email, email.policy, sys, os
T = sys.argv[2]
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def fail(why):
    print(why); sys.exit(0)
$2
print("OK")
PY
)
	is "$out" OK "$1"
}

run() { rm -f "$T/argv" "$T/msg"; "$UPAS" marshal "$@"; }

# --- the encoders, decoded by Python: RFC 2047 text and phrases, RFC 2231 names
out=$(python3 - "$UNIT" <<'PY' 2>&1
import email, email.policy, subprocess, sys
unit = sys.argv[1]
# Python keeps the blank between two encoded words of a phrase (RFC 2047 6.2 drops it),
# so phrases are checked on names that fit one word
texts = ["plain ascii", "Grüße aus Köln", "日本語の件名" * 12, ("emoji 😀 " * 20).strip(),
         "looks =?UTF-8?Q?encoded?= but is not", "a " + "x" * 100 + " long word", "tab\there",
         ("ümlaut, \"quoted\" (comment) <angle> @ ; : " * 3).strip(), "Jörg Müller-Lüdenscheidt"]
bad = []
for t in texts:
    for kind in ("text", "phrase", "param"):
        h = subprocess.run([unit, "mimeenc", kind, t], capture_output=True).stdout
        m = email.message_from_bytes(h + b"\n", policy=email.policy.default)
        want = t if kind == "param" else t.replace("\t", " ")
        if kind == "phrase" and len(t.encode()) > 40 and any(ord(c) > 127 for c in t): continue
        for l in h.rstrip(b"\n").split(b"\n"):
            if len(l) > 76 and b"=?" in l: bad.append("%s line %d: %r" % (kind, len(l), l[:40]))
            if any(c >= 0x80 for c in l): bad.append("8-bit %r" % l[:40])
        if kind == "text":
            got = str(m["Subject"])
        elif kind == "phrase":
            got = m["From"].addresses[0].display_name
        else:
            got = m.get_filename()
        if got != want: bad.append("%s: %r != %r" % (kind, got, want))
print("\n".join(bad) or "OK")
PY
)
is "$out" OK "RFC 2047 words, phrases and RFC 2231 names decode to the original (Python)"

# --- usage
"$UPAS" marshal </dev/null >/dev/null 2>&1; is $? 64 "no recipients: usage"
"$UPAS" marshal -Q x </dev/null >/dev/null 2>&1; is $? 64 "unknown option: usage"
"$UPAS" marshal -8 -n x </dev/null >/dev/null 2>&1; is $? 64 "-8 with -n: usage"

# --- a plain ASCII message
printf 'Hello there.\nSecond line.\n' | run -s 'plain subject' alice@example.com; st=$?
is "$st" 0 "plain message: exit 0"
is "$(cat "$T/argv")" "$(printf -- '-b\nalice@example.com')" "send gets -b and the recipient"
is "$(cat "$T/upasname")" "$U" "send gets the login name as \$upasname"
pycheck "plain: headers, text/plain US-ASCII 7bit, no Message-ID" '
if m["Subject"] != "plain subject": fail("subject %r" % m["Subject"])
if m["To"] != "alice@example.com": fail("to %r" % m["To"])
if m["From"] != os.popen("id -un").read().strip(): fail("from %r" % m["From"])
if m["Date"] is None or m["Date"].datetime is None: fail("no date")
if m["MIME-Version"] != "1.0": fail("mime-version")
if m["Message-ID"] is not None: fail("has a message-id")
if m.get_content_type() != "text/plain" or m.get_param("charset").lower() != "us-ascii": fail(m["Content-Type"])
if m["Content-Transfer-Encoding"] != "7bit": fail("cte")
if m.get_content() != "Hello there.\nSecond line.\n": fail("body %r" % m.get_content())
'

# --- the full works: UTF-8 body, a long non-ASCII subject, several attachments
python3 - "$T" <<'PY'
import os, sys
T = sys.argv[1]
png = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + os.urandom(3000)
open(T + "/pic.png", "wb").write(png)
open(T + "/noext", "wb").write(bytes(range(256)) * 8)
open(T + "/notes.txt", "w").write("some notes\nline two\n")
open(T + "/r\u00e9sum\u00e9 \u00fcn\u00efcode \u65e5\u672c.txt", "w").write("name test\n")
open(T + "/fwd.eml", "w").write("From bob Mon Jan  2 15:04:05 2006\nFrom: bob@example.net\nSubject: forwarded one\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\nforwarded body\n")
open(T + "/page", "w").write("<!DOCTYPE html>\n<html><body>hi</body></html>\n")
PY
SUBJ='Grüße aus Köln — ein ziemlich langer Betreff, der über mehrere Zeilen gefaltet werden muss, 日本語も'
printf 'Hallo Wörld,\nzweite Zeile ✓\n' | upasname='Jörg Müller <joerg@example.org>' \
	run -s "$SUBJ" -C carol@example.com -B secret@example.com \
	-a "$T/notes.txt" -a "$T/pic.png" -a "$T/résumé ünïcode 日本.txt" -a "$T/fwd.eml" -A "$T/page" -a "$T/noext" \
	alice@example.com bob@example.net; st=$?
is "$st" 0 "attachments: exit 0"
is "$(cat "$T/argv")" "$(printf -- '-b\nalice@example.com\nbob@example.net\ncarol@example.com\nsecret@example.com')" \
	"send gets To, Cc and Bcc recipients"
is "$(cat "$T/upasname")" "joerg@example.org" "send gets the bare address of \$upasname"
pycheck "multipart/mixed with the expected parts" '
if not m.is_multipart() or m.get_content_type() != "multipart/mixed": fail(m.get_content_type())
if not m.get_boundary().startswith("upas-") or len(m.get_boundary()) != 31: fail(m.get_boundary())
parts = list(m.iter_parts())
types = [p.get_content_type() for p in parts]
want = ["text/plain", "text/plain", "image/png", "text/plain", "message/rfc822", "text/html", "application/octet-stream"]
if types != want: fail("types %r" % types)
'
pycheck "Subject decodes to the original, From name too, Bcc absent" '
if str(m["Subject"]) != """'"$SUBJ"'""": fail("subject %r" % str(m["Subject"]))
a = m["From"].addresses[0]
if a.display_name != "Jörg Müller" or a.addr_spec != "joerg@example.org": fail("from %r" % str(m["From"]))
if m["Bcc"] is not None or b"secret@" in raw: fail("bcc leaked")
if [x.addr_spec for x in m["To"].addresses] != ["alice@example.com", "bob@example.net"]: fail("to %r" % str(m["To"]))
if [x.addr_spec for x in m["Cc"].addresses] != ["carol@example.com"]: fail("cc")
if m["Date"] is None: fail("no date")
'
pycheck "raw header lines stay within 76 octets and 7-bit" '
head = raw.split(b"\n\n", 1)[0]
for l in head.split(b"\n"):
    if len(l) > 76: fail("long line %r" % l)
    if any(c >= 0x80 for c in l): fail("8-bit header %r" % l)
subj = [l for l in head.split(b"\n") if l.startswith(b"Subject:")]
if not subj: fail("no subject")
i = head.split(b"\n").index(subj[0])
if not head.split(b"\n")[i + 1].startswith(b" "): fail("long subject not folded")
'
pycheck "body part is UTF-8 8bit and intact" '
b = list(m.iter_parts())[0]
if b.get_param("charset").lower() != "utf-8" or b["Content-Transfer-Encoding"] != "8bit": fail(str(b))
if b.get_content() != "Hallo Wörld,\nzweite Zeile ✓\n": fail("body %r" % b.get_content())
'
pycheck "attachments: payloads byte-identical, file names decoded" '
p = list(m.iter_parts())
def same(part, name, fn):
    if part.get_filename() != fn: fail("filename %r != %r" % (part.get_filename(), fn))
    if part.get_payload(decode=True) != open(T + "/" + name, "rb").read(): fail("payload of " + name)
same(p[1], "notes.txt", "notes.txt")
same(p[2], "pic.png", "pic.png")
if p[2]["Content-Transfer-Encoding"] != "base64": fail("png not base64")
same(p[3], "résumé ünïcode 日本.txt", "résumé ünïcode 日本.txt")
same(p[6], "noext", "noext")
for l in raw.split(b"\n"):
    if len(l) > 76: fail("line longer than 76: %r" % l[:80])
if p[5].get_content_disposition() != "inline": fail("-A not inline")
if p[1].get_content_disposition() != "attachment": fail("-a not attachment")
'
pycheck "message/rfc822 attachment without its From_ line" '
p = list(m.iter_parts())[4]
inner = p.get_content()
if inner["Subject"] != "forwarded one": fail("inner subject %r" % inner["Subject"])
if b"From bob Mon" in raw: fail("From_ line kept")
if inner.get_content() != "forwarded body\n": fail("inner body")
'

# --- a missing attachment sends nothing
printf 'x\n' | run -a "$T/nosuchfile" alice@example.com 2>"$T/err"; st=$?
is "$st" 66 "missing attachment: exit 66"
check "missing attachment: nothing sent" test ! -e "$T/msg"
like "$(cat "$T/err")" 'nosuchfile' "missing attachment: named on stderr"

# --- -8: recipients from typed headers; Attach: and Include:
printf 'To: Dora <dora@example.com>\nCc: eve@example.com\nBcc: hidden@example.com\nSubject: typed subject\nAttach: %s\nInclude: %s\nX-Mailer-Test: yes\n\nbody after typed headers\n' \
	"$T/pic.png" "$T/notes.txt" | run -8 -s 'not this one' frank@example.com; st=$?
is "$st" 0 "-8: exit 0"
is "$(sort "$T/argv" | tr '\n' ' ')" "-b dora@example.com eve@example.com frank@example.com hidden@example.com " \
	"-8: recipients from the arguments and To/Cc/Bcc"
pycheck "-8: Bcc stripped, typed Subject kept, Attach:/Include: attached" '
if m["Bcc"] is not None or b"hidden@" in raw: fail("bcc leaked")
if m["Subject"] != "typed subject": fail("subject %r" % m["Subject"])
if m["X-Mailer-Test"] != "yes": fail("x- header lost")
if b"Attach:" in raw or b"Include:" in raw: fail("attach header kept")
tos = sorted(a.addr_spec for a in m["To"].addresses)
if tos != ["dora@example.com", "frank@example.com"]: fail("to %r" % tos)
if m["To"].addresses[0].display_name != "Dora": fail("display name lost")
p = list(m.iter_parts())
if [x.get_content_type() for x in p] != ["text/plain", "image/png", "text/plain"]: fail([x.get_content_type() for x in p])
if p[0].get_content() != "body after typed headers\n": fail("body %r" % p[0].get_content())
if p[2].get_content_disposition() != "inline": fail("Include: not inline")
'

# --- a line that is no header starts the body
printf 'Subject: s\nDear Bob: hello\nmore\n' | run alice@example.com
pycheck "an unknown header name ends the typed headers" '
if m["Subject"] != "s": fail("subject")
if m.get_content() != "Dear Bob: hello\nmore\n": fail("body %r" % m.get_content())
'

# --- personal aliases and the headers file
printf '# my aliases\nteam\tann@example.com bea@example.com\nboss cto@example.com team\n' >"$B/names"
printf 'Reply-To: me@example.org\nOrganization: upas tests\n' >"$B/headers"
printf 'x\n' | run boss; st=$?
is "$(cat "$T/argv" | tr '\n' ' ')" "-b cto@example.com ann@example.com bea@example.com " "names: aliases expanded, nested too"
pycheck "headers file prepended; To: shows the expanded aliases" '
if m["Reply-To"] != "me@example.org" or m["Organization"] != "upas tests": fail("headers file missing")
if [a.addr_spec for a in m["To"].addresses] != ["cto@example.com", "ann@example.com", "bea@example.com"]: fail(str(m["To"]))
'
rm -f "$B/names" "$B/headers"

# --- -t types, -t mime, -n
printf 'PART-DATA\n' >"$T/blob"
printf 'Content-Type: text/x-special; charset=us-ascii\nContent-Disposition: inline\n\nverbatim part\n' >"$T/part"
run -n -t application/x-custom -a "$T/blob" -t mime -a "$T/part" -a "$T/notes.txt" alice@example.com </dev/null; st=$?
is "$st" 0 "-n with attachments: exit 0"
pycheck "-t sets the next type only; mime parts copied verbatim; -n has no text part" '
p = list(m.iter_parts())
if [x.get_content_type() for x in p] != ["application/x-custom", "text/x-special", "text/plain"]: fail([x.get_content_type() for x in p])
if p[0].get_payload(decode=True) != b"PART-DATA\n": fail("custom payload")
if p[1].get_content() != "verbatim part\n": fail("mime part %r" % p[1].get_content())
'
"$UPAS" marshal -t 'bad
type' -a "$T/blob" x@example.com </dev/null >/dev/null 2>&1; is $? 64 "-t with a newline: usage"

# --- -R: In-Reply-To from the upas/fs message directory
mkdir -p "$T/reply"
printf 'abc.123@example.net\n' >"$T/reply/messageid"
printf 'reply\n' | run -R "$T/reply" alice@example.com
pycheck "-R: In-Reply-To from DIR/messageid" '
if m["In-Reply-To"] != "<abc.123@example.net>": fail(repr(m["In-Reply-To"]))
'

# --- a name that must be quoted, an attempt at header injection through $upasname
printf 'x\n' | upasname='"Bunny, Glenda" <glenda@example.org>' run alice@example.com
pycheck "a display name with a comma is quoted" '
a = m["From"].addresses[0]
if a.display_name != "Bunny, Glenda" or a.addr_spec != "glenda@example.org": fail(str(m["From"]))
'
printf 'x\n' | upasname="$(printf 'x@example.org\nBcc: evil@example.com')" run alice@example.com 2>/dev/null; st=$?
is "$st" 64 "a newline in \$upasname is refused"
printf 'x\n' | run -- -oQ/tmp 2>/dev/null; st=$?
is "$st" 64 "a recipient beginning with - is refused"

# --- -x passes through and reads nothing
run -x alice@example.com </dev/null; st=$?
is "$(cat "$T/argv" | tr '\n' ' ')" "-b -x alice@example.com " "-x is passed to send"
is "$(wc -c <"$T/msg" | tr -d ' ')" 0 "-x: no message"

# --- send's status is marshal's
printf 'x\n' | PIPEFROM_EXIT=75 run alice@example.com; is $? 75 "marshal exits with send's status"

# --- -S saves a copy
printf 'keep me\n' | run -s 'saved copy' -S saved alice@example.com; st=$?
is "$st" 0 "-S: exit 0"
like "$(cat "$B/saved" 2>/dev/null)" 'Subject: saved copy' "-S: the copy is in box/USER/saved"

# --- through the real send into a local mailbox, when send is built
rm -f "$B/pipefrom"
if "$UPAS" --list | grep -qx send && [ -d "$top/configs/root/lib" ]; then
	cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
	mkdir -p "$UPASROOT/box/glenda"
	printf 'Grüße\n' | "$UPAS" marshal -s 'über send' -a "$T/pic.png" glenda >"$T/out" 2>&1; st=$?
	is "$st" 0 "marshal through send: exit 0"
	out=$(python3 - "$UPASROOT/box/glenda/mbox" "$T/pic.png" <<'PY' 2>&1
import mailbox, email.policy, sys
box = mailbox.mbox(sys.argv[1], factory=None, create=False)
msgs = list(box)
if len(msgs) != 1: print("messages: %d" % len(msgs)); sys.exit(0)
import email
m = email.message_from_bytes(msgs[0].as_bytes(), policy=email.policy.default)
if str(m["Subject"]) != "über send": print("subject %r" % m["Subject"]); sys.exit(0)
p = list(m.iter_parts())
if p[1].get_payload(decode=True) != open(sys.argv[2], "rb").read(): print("payload"); sys.exit(0)
print("OK")
PY
)
	is "$out" OK "marshal through send: Python's mailbox reads the delivered message"
else
	diag "send not built: skipping delivery through send"
fi

# --- -ps, -pe, -pes: RFC 3156 PGP/MIME made by gpg, delivered by the real send
if command -v gpg >/dev/null 2>&1 && "$UPAS" --list | grep -qx send && [ -d "$top/configs/root/lib" ]; then
	export GNUPGHOME="$T/gnupg"
	mkdir -m 700 "$GNUPGHOME"
	# no key servers or WKD: a missing key must fail here, not be fetched
	printf 'auto-key-locate local\nno-auto-key-retrieve\n' >"$GNUPGHOME/gpg.conf"
	gpg --batch --passphrase '' --quick-gen-key 'Test <alice@example.com>' default default never >/dev/null 2>&1
	is $? 0 "gpg: a throwaway key"
	cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
	{ printf 'alice@example\\.com\t>>\t\\m/box/alice/mbox\nbob@example\\.com\t>>\t\\m/box/bob/mbox\n'
	  cat "$top/configs/root/lib/rewrite"; } >"$UPASROOT/lib/rewrite"
	mkdir -p "$UPASROOT/box/alice" "$UPASROOT/box/bob"
	printf 'signed Grüße\n' >"$T/note.txt"
	# pgpcheck DESC SCRIPT: the last message of box/alice/mbox as m (raw bytes in raw);
	# part(raw, i) is the i-th body part of raw, byte for byte, as a signer saw it;
	# gpg(args, input) runs gpg; verify(raw) checks a multipart/signed; the script prints OK or why not
	pgpcheck() {
		out=$(python3 - "$UPASROOT/box/alice/mbox" "$T" <<PY 2>&1
import email, email.policy, mailbox, subprocess, sys
T = sys.argv[2]
box = mailbox.mbox(sys.argv[1], create=False)
raw = box.get_bytes(box.keys()[-1])
m = email.message_from_bytes(raw, policy=email.policy.default)
def fail(why):
    print(why); sys.exit(0)
def parse(b):
    return email.message_from_bytes(b, policy=email.policy.default)
def part(raw, i):
    d = b"--" + parse(raw).get_boundary().encode()
    nl = b"\r\n" if b"\r\n" in raw else b"\n"
    body = raw.split(nl + nl, 1)[1]
    return body.split(nl + d)[i + 1][len(nl):]
def gpg(args, data):
    r = subprocess.run(["gpg", "--batch"] + args, input=data, capture_output=True)
    if r.returncode != 0: fail("gpg %s: %s" % (args, r.stderr.decode(errors="replace")))
    return r.stdout
def verify(raw):
    signed = part(raw, 0).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    open(T + "/signed", "wb").write(signed)
    open(T + "/sig.asc", "wb").write(parse(raw).get_payload()[1].get_payload(decode=True))
    gpg(["--verify", T + "/sig.asc", T + "/signed"], b"")
    return parse(signed)
$2
print("OK")
PY
)
		is "$out" OK "$1"
	}

	"$UPAS" marshal -ps -s 'signed one' -a "$T/note.txt" alice@example.com >"$T/out" 2>&1 <<EOF
Hello Wörld,
a signed body.
EOF
	is $? 0 "-ps: exit 0"
	pgpcheck "-ps: multipart/signed whose detached signature gpg verifies" '
if m.get_content_type() != "multipart/signed": fail(m.get_content_type())
if m.get_param("micalg") != "pgp-sha256" or m.get_param("protocol") != "application/pgp-signature": fail(str(m["Content-Type"]))
if str(m["Subject"]) != "signed one": fail("subject")
p = m.get_payload()
if len(p) != 2 or p[1].get_content_type() != "application/pgp-signature": fail([x.get_content_type() for x in p])
inner = verify(raw)
if inner.get_content_type() != "multipart/mixed": fail("inner " + inner.get_content_type())
q = list(inner.iter_parts())
if [x.get_content_type() for x in q] != ["text/plain", "text/plain"]: fail([x.get_content_type() for x in q])
if q[0].get_content().replace("\r\n", "\n") != "Hello Wörld,\na signed body.\n": fail("body %r" % q[0].get_content())
if q[1].get_payload(decode=True).replace(b"\r\n", b"\n") != open(T + "/note.txt", "rb").read(): fail("attachment")
if any(c >= 0x80 for c in part(raw, 0)): fail("signed part is not 7bit")
'

	printf 'the secret text\n' | "$UPAS" marshal -pe -s 'encrypted one' alice@example.com >"$T/out" 2>&1
	is $? 0 "-pe: exit 0"
	pgpcheck "-pe: multipart/encrypted that gpg decrypts to the text part" '
if m.get_content_type() != "multipart/encrypted" or m.get_param("protocol") != "application/pgp-encrypted": fail(str(m["Content-Type"]))
if b"secret text" in raw: fail("plain text in the message")
p = m.get_payload()
if [x.get_content_type() for x in p] != ["application/pgp-encrypted", "application/octet-stream"]: fail([x.get_content_type() for x in p])
if p[0].get_payload(decode=True).strip() != b"Version: 1": fail("version part %r" % p[0].get_payload())
inner = parse(gpg(["--decrypt"], p[1].get_payload(decode=True)))
if inner.get_content_type() != "text/plain": fail(inner.get_content_type())
if inner.get_content().replace("\r\n", "\n") != "the secret text\n": fail("decrypted %r" % inner.get_content())
'

	printf 'signed and sealed\n' | "$UPAS" marshal -ps -pe -s both alice@example.com >"$T/out" 2>&1
	is $? 0 "-ps -pe: exit 0"
	pgpcheck "-ps -pe: encrypted multipart/signed, the signature verifies after decryption" '
if m.get_content_type() != "multipart/encrypted": fail(m.get_content_type())
dec = gpg(["--decrypt"], m.get_payload()[1].get_payload(decode=True))
if parse(dec).get_content_type() != "multipart/signed": fail("inner " + parse(dec).get_content_type())
inner = verify(dec)
if inner.get_content().replace("\r\n", "\n") != "signed and sealed\n": fail("body %r" % inner.get_content())
'
	n1=$(grep -c '^From ' "$UPASROOT/box/alice/mbox")

	printf 'x\n' | "$UPAS" marshal -pe bob@example.com alice@example.com >"$T/out" 2>&1; st=$?
	is "$st" 69 "-pe to a recipient without a key: exit 69"
	like "$(cat "$T/out")" 'bob@example.com' "-pe without a key: gpg names the recipient"
	like "$(cat "$T/out")" 'nothing sent' "-pe without a key: marshal says nothing was sent"
	check "-pe without a key: nothing delivered to bob" test ! -s "$UPASROOT/box/bob/mbox"
	is "$(grep -c '^From ' "$UPASROOT/box/alice/mbox")" "$n1" "-pe without a key: nothing delivered to alice"
	printf 'x\n' | GPG=$T/no-such-gpg "$UPAS" marshal -ps alice@example.com >"$T/out" 2>&1; st=$?
	is "$st" 69 "\$GPG not there: exit 69"
	is "$(grep -c '^From ' "$UPASROOT/box/alice/mbox")" "$n1" "\$GPG not there: nothing delivered"
	"$UPAS" marshal -pz alice@example.com </dev/null >/dev/null 2>&1; is $? 64 "-p with a letter other than e or s: usage"
else
	diag "gpg or send missing: skipping -ps and -pe"
fi

done_testing
