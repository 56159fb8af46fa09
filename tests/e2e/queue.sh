#!/bin/sh
# qer and runq with a real program as the mailer: durable queueing under kill -9,
# delivery, temporary failures and the retry interval, permanent failures and
# give-up with bounces, one runner per queue, parallel delivery, -a, -r, -K,
# control files injected by hand.
. "$(dirname "$0")/lib.sh"
setup
export USER=tester
QD=$UPASROOT/queue/tester
mkdir -p "$T/got" "$T/run" "$T/bounces" "$T/bin"
echo 0 >"$T/status"
: >"$T/stderr"

# The mailer: records its argv, how many mailers run at once, and stdin,
# one file per call in $T/got; says $T/stderr on stderr; exits $T/status.
cat >"$T/mailer" <<SH
#!/bin/sh
f=\$(mktemp "$T/got/XXXXXX")
touch "$T/run/\$\$"
{ echo "argc=\$#"; for a; do printf 'arg=%s\n' "\$a"; done
  echo "running=\$(ls "$T/run" | wc -l)"; echo "--"; cat; } >"\$f"
[ -f "$T/sleep" ] && sleep \$(cat "$T/sleep")
rm -f "$T/run/\$\$"
cat "$T/stderr" >&2
exit \$(cat "$T/status")
SH
chmod +x "$T/mailer"
M=$T/mailer

# Without a send applet, bounces are seen by a send program on PATH.
cat >"$T/bin/send" <<SH
#!/bin/sh
f=\$(mktemp "$T/bounces/XXXXXX")
{ echo "argv=\$*"; echo "upasname=\$upasname"; echo "--"; cat; } >"\$f"
SH
chmod +x "$T/bin/send"
PATH=$T/bin:$PATH
export PATH
havesend=0
"$UPAS" --list | grep -qx send && havesend=1

# queue ID [sender [dest]]: queue a message whose body line is "body ID"
queue() {
	printf 'From: %s\nSubject: %s\n\nbody %s\n' "${2:-alice}" "$1" "$1" |
		"$UPAS" qer - mail "${2:-alice}" "${3:-net!example.org}" bob@example.org
}
delivered() { grep -lx "body $1" "$T"/got/* 2>/dev/null | wc -l | tr -d ' '; }
calls() { ls "$T/got" | wc -l | tr -d ' '; }
jobs() { ls "$QD" 2>/dev/null | grep -c '^C\.'; }
reset() { rm -f "$T"/got/* "$T"/bounces/* "$T/sleep"; echo "${1:-0}" >"$T/status"; : >"$T/stderr"; }

# --- usage and refusals
"$UPAS" qer >/dev/null 2>&1; is $? 64 "qer without arguments exits 64"
"$UPAS" runq - >/dev/null 2>&1; is $? 64 "runq without a command exits 64"
"$UPAS" runq -n 0 - "$M" >/dev/null 2>&1; is $? 64 "runq -n 0 exits 64"
out=$(echo x | "$UPAS" qer - mail -oQ/tmp net!x bob 2>&1); st=$?
is "$st" 65 "an argument that would be an option is refused"
like "$out" "begins with '-'" "and says why"
is "$(ls "$QD" 2>/dev/null | wc -l | tr -d ' ')" 0 "and nothing is left in the queue"
out=$(echo x | "$UPAS" qer -q ../x - mail alice net!x bob 2>&1); is $? 64 "a subdirectory with a slash is refused"

# --- queueing writes D, then C
out=$(queue q1 2>&1); st=$?
is "$st:$out" "0:" "qer exits 0 and prints nothing"
c=$(ls "$QD"/C.* 2>/dev/null); id=${c##*/C.}
check "the control file exists" test -f "$QD/C.$id"
is "$(head -1 "$QD/C.$id")" "upasq 1 $id" "the control file names its job"
is "$(cat "$QD/D.$id")" "$(printf 'From: alice\nSubject: q1\n\nbody q1')" "the data file holds the message"
is "$(ls "$QD" | grep -c '^T\.')" 0 "no temporary control file is left"
like "$(cat "$UPASROOT/log/runq")" "queued tester/$id mail from alice to net!example.org" "qer logs the job"
out=$("$UNIT" queue_list)
like "$out" "sender: alice" "the listing shows the sender"
like "$out" "destination: net!example.org" "the listing shows the destination"
like "$out" "recipients: bob@example.org" "the listing shows the recipients"

# --- runq delivers and removes
"$UPAS" runq - "$M"; is $? 0 "runq exits 0"
is "$(delivered q1)" 1 "the mailer got the message"
f=$(grep -lx "body q1" "$T"/got/*)
is "$(sed -n '1,5p' "$f" | tr '\n' ' ')" "argc=4 arg=mail arg=alice arg=net!example.org arg=bob@example.org " \
	"the mailer ran as cmd tag reply dest rcpt"
is "$(ls "$QD" | grep -v '^L\.runq$' | wc -l | tr -d ' ')" 0 "the job's files are all gone"
like "$(cat "$UPASROOT/log/runq")" "tester/$id: delivered to bob@example.org via net!example.org" "runq logs the delivery"

# --- a hostile argument travels intact and cannot add lines
reset
nasty=$(printf 'bob@example.org\nend 4\na -oQ/tmp\r "quoted" 100%%')
printf 'Subject: nasty\n\nbody nasty\n' | "$UPAS" qer - mail alice net!example.org "$nasty"
c=$(ls "$QD"/C.*)
is "$(wc -l <"$c" | tr -d ' ')" 6 "the control file has one line per argument"
"$UPAS" runq - "$M"
f=$(grep -lx "body nasty" "$T"/got/*)
is "$(head -1 "$f")" "argc=4" "the mailer got four arguments"
is "$(sed -n '5,7p' "$f")" "$(printf 'arg=%s\n' "$nasty")" "the last one byte for byte"

# --- a temporary failure is kept and retried after the interval
reset 75
echo "451 try later" >"$T/stderr"
queue t1
"$UPAS" runq - "$M"
is "$(calls):$(jobs)" "1:1" "exit 75: tried once, kept"
c=$(ls "$QD"/C.*); id=${c##*/C.}
is "$(cat "$QD/E.$id")" "451 try later" "the mailer's stderr is in the E file"
like "$("$UNIT" queue_list)" "error: 451 try later" "the listing shows the last error"
"$UPAS" runq - "$M"
is "$(calls)" 1 "not retried within the 30 minute interval"
"$UPAS" runq -i 0 - "$M"
is "$(calls):$(jobs)" "2:1" "-i 0: retried, still failing, kept"
touch -d '31 minutes ago' "$QD/E.$id"
reset 0
"$UPAS" runq - "$M"
is "$(delivered t1):$(jobs)" "1:0" "retried after 31 minutes: delivered and removed"

# "Retry" in the output is temporary whatever the status
reset 1
echo "Retry, Temporary Failure" >"$T/stderr"
queue t2
"$UPAS" runq - "$M"
is "$(calls):$(jobs)" "1:1" "exit 1 saying Retry: kept"
is "$(ls "$T/bounces" | wc -l | tr -d ' ')" 0 "and not bounced"
reset 0
"$UPAS" runq -E - "$M"
is "$(delivered t2):$(jobs)" "1:0" "-E retries at once"

# a mailer that cannot run at all is a temporary failure
queue t3
"$UPAS" runq - "$T/nosuchmailer"
is "$(jobs)" 1 "a missing mailer keeps the job"
c=$(ls "$QD"/C.*); id=${c##*/C.}
like "$(cat "$QD/E.$id")" "cannot run" "and says so in the E file"
"$UPAS" runq -E - "$M"
is "$(jobs)" 0 "delivered once the mailer exists"

# after a temporary failure, other jobs to that destination wait for the next run
reset 75
queue b1 alice net!down.example
queue b2 alice net!down.example
queue b3 alice net!up.example
"$UPAS" runq - "$M"
is "$(delivered b1):$(delivered b2):$(delivered b3)" "1:0:1" "a destination that failed is skipped for the rest of the run"
reset 0
"$UPAS" runq -E - "$M"
is "$(jobs)" 0 "all delivered in the next run"

# --- a permanent failure bounces to the sender with the original and the symptom
reset 1
echo "550 5.1.1 no such user bob" >"$T/stderr"
if [ $havesend = 1 ]; then
	[ -d "$top/configs/root/lib" ] && cp -R "$top/configs/root/lib/." "$UPASROOT/lib/"
	mkdir -p "$UPASROOT/box/alice"
fi
queue p1
"$UPAS" runq - "$M"
is "$(calls):$(jobs)" "1:0" "exit 1: tried once, removed"
if [ $havesend = 1 ]; then
	diag "the send applet exists: the bounce goes to the mailbox"
	b=$(cat "$UPASROOT/box/alice/mbox" 2>/dev/null)
else
	diag "no send applet yet: the bounce is seen by a send program on PATH"
	b=$(cat "$T"/bounces/* 2>/dev/null)
	like "$b" "^argv=alice$" "send is run with the sender as its argument"
	like "$b" "^upasname=/dev/null$" "with the null sender, so a bounce never bounces"
fi
like "$b" "^Subject: permanent failure" "the bounce says permanent failure"
like "$b" "550 5.1.1 no such user bob" "and carries the mailer's stderr"
like "$b" "^Content-Type: message/rfc822" "and the original as message/rfc822"
like "$b" "^Subject: p1$" "the original's header"
like "$b" "^body p1$" "and body"
like "$(cat "$UPASROOT/log/runq")" "permanent failure \(status 1\), returned to alice" "runq logs the bounce"
# the bounce as runq composes it parses as MIME, with the original intact
printf 'From: alice\nSubject: p2\n\nbody p2\n' | "$UNIT" bounce_make alice "permanent failure" >"$T/b.eml"
out=$(python3 - "$T/b.eml" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
parts = m.get_payload()
print(m.get_content_type(), len(parts), parts[0].get_content_type(), parts[1].get_content_type(),
      parts[1].get_payload(0)["Subject"], parts[1].get_payload(0).get_payload().strip())
PY
)
is "$out" "multipart/mixed 2 text/plain message/rfc822 p2 body p2" "Python's email package reads the bounce"

# no bounce to the null sender or for bulk mail
reset 1
queue n1 /dev/null
printf 'Precedence: bulk\nSubject: n2\n\nbody n2\n' | "$UPAS" qer - mail alice net!example.org bob
"$UPAS" runq - "$M"
is "$(calls):$(jobs)" "2:0" "null sender and bulk mail: tried, removed"
is "$(ls "$T/bounces" | wc -l | tr -d ' ')" 0 "and never bounced"

# --- give up after -t hours (default 120)
reset 75
echo "451 still down" >"$T/stderr"
queue g1
c=$(ls "$QD"/C.*); id=${c##*/C.}
touch -d '3 hours ago' "$QD/D.$id"
"$UPAS" runq -E - "$M"
is "$(jobs)" 1 "3 hours old: kept under the default give-up age"
"$UPAS" runq -E -R -t 2 - "$M"
is "$(jobs)" 1 "-R: never given up"
"$UPAS" runq -E -t 2 - "$M"
is "$(jobs)" 0 "-t 2: given up"
queue g2
c=$(ls "$QD"/C.*); id=${c##*/C.}
touch -d '121 hours ago' "$QD/D.$id"
"$UPAS" runq -E - "$M"
is "$(jobs)" 0 "121 hours old: given up by default"
if [ $havesend = 1 ]; then
	b=$(cat "$UPASROOT/box/alice/mbox" 2>/dev/null)
else
	b=$(cat "$T"/bounces/* 2>/dev/null)
fi
like "$b" "^Subject: Giveup" "the give-up bounce says so"
like "$b" "451 still down" "with the last symptom"
like "$b" "^body g2$" "and the original"

# --- a control file injected by hand is quarantined and never run
reset 0
queue i1
c=$(ls "$QD"/C.*); id=${c##*/C.}
printf 'upasq 1 %s\na mail\na alice\na net!example.org\na bob\n-oQ/tmp\nend 4\n' "$id" >"$QD/C.$id"
cp "$QD/D.$id" "$QD/D.42"
printf 'upasq 1 42\na mail\na alice\na net!x\na bob%%0A\nend 4\na evil\nend 5\n' >"$QD/C.42"
"$UPAS" runq -E - "$M"
is "$(calls)" 0 "the mailer never runs for a tampered control file"
check "the first is moved aside" test -f "$QD/Q.$id" -a ! -f "$QD/C.$id"
check "so is the second" test -f "$QD/Q.42" -a ! -f "$QD/C.42"
like "$(cat "$UPASROOT/log/runq")" "42: bad control file, moved aside as Q.42" "runq logs it"
like "$("$UNIT" queue_list)" "quarantined" "the listing shows it"
rm -f "$QD"/Q.* "$QD"/D.*

# --- two runq at once: each job exactly once
reset 0
echo 0.05 >"$T/sleep"
i=0; while [ $i -lt 20 ]; do queue c$i; i=$((i + 1)); done
"$UPAS" runq - "$M" & p1=$!
"$UPAS" runq - "$M" & p2=$!
"$UPAS" runq -a "$UPASROOT/queue" "$M" & p3=$!
wait $p1; s1=$?; wait $p2; s2=$?; wait $p3; s3=$?
is "$s1:$s2:$s3" "0:0:0" "three runq at once all exit 0"
once=0; i=0; while [ $i -lt 20 ]; do [ "$(delivered c$i)" = 1 ] && once=$((once + 1)); i=$((i + 1)); done
is "$once:$(calls):$(jobs)" "20:20:0" "each of 20 jobs delivered exactly once"

# --- -n 4: 40 jobs in parallel, each exactly once
reset 0
echo 0.2 >"$T/sleep"
i=0; while [ $i -lt 40 ]; do queue n$i; i=$((i + 1)); done
"$UPAS" runq -n 4 - "$M"
once=0; i=0; while [ $i -lt 40 ]; do [ "$(delivered n$i)" = 1 ] && once=$((once + 1)); i=$((i + 1)); done
is "$once:$(calls):$(jobs)" "40:40:0" "-n 4: each of 40 jobs delivered exactly once"
max=$(cat "$T"/got/* | sed -n 's/^running=//p' | sort -n | tail -1)
check "up to 4 mailers ran at once (at most $max)" test "$max" -ge 2 -a "$max" -le 4

# --- -r limits the jobs per run; -a runs every subdirectory and removes empty ones
reset 0
i=0; while [ $i -lt 5 ]; do queue r$i; i=$((i + 1)); done
"$UPAS" runq -r 2 - "$M"
is "$(calls):$(jobs)" "2:3" "-r 2: two jobs in this run"
printf 'Subject: a1\n\nbody a1\n' | "$UPAS" qer -q other - mail alice net!x bob
"$UPAS" runq -a "$UPASROOT/queue" "$M"
is "$(calls):$(jobs)" "6:0" "-a: every subdirectory"
check "-a removes empty queue directories" test ! -d "$UPASROOT/queue/other" -a ! -d "$QD"

# --- qer -K starts runq in the background (remotemail may not exist: then it
# fails for now, which the E file shows)
printf 'Subject: k1\n\nbody k1\n' | "$UPAS" qer -K - mail alice 'net!127.0.0.1!9' bob; st=$?
is "$st" 0 "qer -K exits 0"
i=0; while [ $i -lt 50 ] && ! ls "$QD" 2>/dev/null | grep -q '^E\.'; do sleep 0.1; i=$((i + 1)); done
check "the kicked runq tried the job" sh -c "ls '$QD' | grep -q '^E\.'"

# --- kill -9 during qer never leaves a control file without complete data
rm -rf "$QD"
python3 -c 'import os,base64; print("Subject: big\n"); print(base64.encodebytes(os.urandom(6<<20)).decode())' >"$T/big"
# kill at random points over how long one qer takes here
t0=$(date +%s%N); "$UPAS" qer - mail alice net!x bob <"$T/big"; t1=$(date +%s%N)
rm -rf "$QD"
ms=$(((t1 - t0) / 1000000 + 25))
i=0
while [ $i -lt 50 ]; do
	d=$(awk -v s=$i -v ms=$ms 'BEGIN { srand(s); printf "%.3f", rand() * ms * 1.2 / 1000 }')
	# the writer pauses half way, so many kills land mid-copy
	{ head -c 4000000 "$T/big"; sleep 0.02; tail -c +4000001 "$T/big"; } |
		"$UPAS" qer - mail alice net!x bob & p=$!
	sleep "$d"
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	i=$((i + 1))
done
bad=0; full=0
for c in "$QD"/C.*; do
	[ -f "$c" ] || continue
	full=$((full + 1))
	cmp -s "$QD/D.${c##*/C.}" "$T/big" || bad=$((bad + 1))
done
cut=0; short=0
for d in "$QD"/D.*; do
	[ -f "$d" ] && [ ! -f "$QD/C.${d##*/D.}" ] || continue
	cut=$((cut + 1))
	cmp -s "$d" "$T/big" || short=$((short + 1))
done
diag "50 runs over ${ms} ms each: $full queued, $cut cut off after the data file was made ($short of them mid-copy)"
is "$bad" 0 "every control file has its complete data"
reset 0
"$UPAS" runq - "$M"
is "$(calls)" "$full" "runq delivers exactly the jobs whose control file exists"

# --- a runq that finds the queue busy leaves K.runq, so the busy one looks again
reset 0
queue kick1
flock "$QD/L.runq" sleep 1 &
sleep 0.2
"$UPAS" runq - "$M"
check "a runq that finds the lock taken leaves K.runq" test -f "$QD/K.runq"
is "$(calls)" 0 "and runs nothing"
wait
"$UPAS" runq - "$M"
is "$(calls):$(jobs)" "1:0" "the next runq runs the job"
check "and takes K.runq away" test ! -f "$QD/K.runq"

# --- as root, the mailer runs as the owner of the queue directory
if [ "$(id -u)" = 0 ]; then
	reset 0
	cat >"$T/whoami" <<SH
#!/bin/sh
id -u >"$T/uid"
cat >/dev/null
SH
	chmod 755 "$T/whoami"
	: >"$T/uid"; chmod 666 "$T/uid"
	chmod 755 "$T"
	mkdir -p "$UPASROOT/queue/nob"
	printf 'Subject: u\n\nbody u\n' | "$UPAS" qer -q nob - mail alice net!example.org bob
	chown -R 65534:65534 "$UPASROOT/queue/nob"
	"$UPAS" runq -q nob - "$T/whoami"
	is "$(cat "$T/uid" 2>/dev/null)" 65534 "root's runq runs a user's jobs as that user"
	printf 'Subject: r\n\nbody r\n' | "$UPAS" qer -q rootq - mail alice net!example.org bob
	"$UPAS" runq -q rootq - "$T/whoami"
	is "$(cat "$T/uid" 2>/dev/null)" 0 "and its own as root"
fi

done_testing
