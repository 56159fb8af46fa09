#!/bin/sh
# The DNS stub resolver (core/dns.c, through "unit dnsq") against dnsmasq on a
# loopback port: MX order and shuffling, implicit MX, NXDOMAIN, null MX, CNAME,
# PTR, TCP after a truncated reply, a server that never answers, failover.
. "$(dirname "$0")/lib.sh"
setup
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
if [ ! -x "$DNSMASQ" ]; then
	notok "dnsmasq is installed (package dnsmasq-base)"
	done_testing
	exit 1
fi

P=$(freeport)
big=""
for i in $(seq 1 40); do big="$big --host-record=big.test,192.0.2.$i"; done
# --local: names under .test that dnsmasq does not know are NXDOMAIN, known
# ones without the type asked are NOERROR with no records
spawn "$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--port="$P" --listen-address=127.0.0.1 --bind-interfaces --pid-file= --local=/test/ --local=/2.0.192.in-addr.arpa/ \
	--log-facility=- --log-queries \
	--mx-host=mx.test,mx2.mx.test,20 --mx-host=mx.test,mx1.mx.test,10 --mx-host=mx.test,mx3.mx.test,10 \
	--host-record=mx1.mx.test,192.0.2.11 \
	--host-record=nomx.test,192.0.2.7,2001:db8::7 \
	--mx-host=null.test,.,0 \
	--mx-host=cname.test,alias.test,5 --cname=alias.test,nomx.test \
	--ptr-record=1.2.0.192.in-addr.arpa,host.test \
	--ptr-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,host6.test \
	--txt-record=txt.test,"not asked for" \
	$big 2>"$T/dnsmasq.log"
waitport "$P" || { notok "dnsmasq listens on $P"; cat "$T/dnsmasq.log"; done_testing; exit 1; }
conf() { printf '%s\n' "$@" >"$UPASROOT/lib/resolv.conf"; }
conf "nameserver 127.0.0.1#$P" "options timeout:2 attempts:1"
q() { "$UNIT" dnsq "$@" 2>&1; }

# --- MX
out=$(q mx mx.test); st=$?
is "$st" 0 "MX lookup succeeds"
is "$(printf '%s\n' "$out" | cut -d' ' -f1 | tr '\n' ' ')" "10 10 20 " "MX sorted by preference"
is "$(printf '%s\n' "$out" | sed -n 3p)" "20 mx2.mx.test" "the least preferred comes last"
is "$(printf '%s\n' "$out" | sed -n 1,2p | sort | tr '\n' ' ')" "10 mx1.mx.test 10 mx3.mx.test " "both equal ones are there"
first=""
for i in $(seq 1 30); do first="$first $(q mx mx.test | head -1)"; done
like "$first" "mx1.mx.test" "equal preferences: mx1 comes first sometimes"
like "$first" "mx3.mx.test" "and mx3 other times"
is "$(q mx MX.Test. | sed -n 3p)" "20 mx2.mx.test" "a trailing dot and any case are accepted"

out=$(q mx nomx.test); st=$?
is "$st:$out" "0:" "a domain without MX: 0 hosts (implicit MX)"
is "$(q a nomx.test | tr '\n' ' ')" "192.0.2.7 2001:db8::7 " "its A then AAAA"

out=$(q mx nx.test); st=$?
is "$st" 1 "NXDOMAIN is permanent"
is "$out" "none: nx.test: no such domain" "and says so"

out=$(q mx null.test); st=$?
is "$st" 1 "a null MX (RFC 7505) is permanent"
like "$out" "domain accepts no mail" "and says why"

is "$(q mx cname.test)" "5 alias.test" "MX host as given"
is "$(q a alias.test | tr '\n' ' ')" "192.0.2.7 2001:db8::7 " "A and AAAA through a CNAME"

out=$(q mx 'bad..name'); st=$?
is "$st" 1 "a malformed name is refused before asking"
like "$out" "bad domain name" "and says so"

# --- addresses
out=$(q a big.test); st=$?
is "$st" 0 "40 A records: asked again over TCP after a truncated UDP reply"
is "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 40 "all 40 come back"
is "$(printf '%s\n' "$out" | sort -t. -k4n | tail -1)" "192.0.2.40" "the last one included"
is "$(q a mx1.mx.test)" "192.0.2.11" "an MX host's address"
out=$(q a mx.test); st=$?
is "$st:$out" "1:none: mx.test: no address" "a name with no address is permanent"
is "$(q a 192.0.2.5)" "192.0.2.5" "an address is its own address"
if grep -Eq '^127\.0\.0\.1[[:space:]].*localhost' /etc/hosts 2>/dev/null; then
	like "$(q a localhost)" "^127\.0\.0\.1" "/etc/hosts is read first"
fi

# --- PTR
is "$(q ptr 192.0.2.1)" "host.test" "PTR of an IPv4 address"
is "$(q ptr 2001:db8::1)" "host6.test" "PTR of an IPv6 address"
out=$(q ptr 192.0.2.99); st=$?
is "$st:$out" "1:none: 192.0.2.99: no reverse name" "no PTR is permanent"
out=$(q ptr 192.0.2); st=$?
is "$st" 1 "not an address"

# --- exists
is "$(q exists mx.test)" "ok" "exists: MX"
is "$(q exists nomx.test)" "ok" "exists: A without MX"
is "$(q exists big.test)" "ok" "exists: A over TCP"
out=$(q exists txt.test); st=$?
is "$st" 1 "exists: only a TXT record is not enough"
like "$out" "no MX, A or AAAA" "and says why"
out=$(q exists unknown.test); st=$?
is "$st" 1 "exists: NXDOMAIN"
out=$(q exists null.test); st=$?
is "$st" 1 "exists: a null MX domain takes no bounces"
out=$(q exists example.org); st=$?
is "$st" 75 "REFUSED (outside dnsmasq's zone) is temporary"
like "$out" "query refused from 127\.0\.0\.1#$P" "and names the server"

# --- a server that never answers
S=$(freeport)
spawn python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(120)' "$S" "$T/silent.ready"
i=0; while [ ! -f "$T/silent.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
conf "nameserver 127.0.0.1#$S" "options timeout:1 attempts:2"
t0=$(date +%s%N)
out=$(q mx mx.test); st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$st" 75 "a silent server: temporary"
is "$out" "temp: mx.test: timeout asking 127.0.0.1#$S" "and says so"
check "within timeout x attempts ($ms ms)" [ "$ms" -ge 1900 -a "$ms" -lt 4000 ]
out=$(q exists mx.test); st=$?
is "$st" 75 "exists on a silent server: temporary"

conf "nameserver 127.0.0.1#$S" "nameserver 127.0.0.1#$P" "options timeout:1 attempts:1"
is "$(q mx mx.test | sed -n 3p)" "20 mx2.mx.test" "the next server answers when the first is silent"
conf "nameserver 127.0.0.1#1" "nameserver 127.0.0.1#$P"
t0=$(date +%s%N)
is "$(q mx mx.test | sed -n 3p)" "20 mx2.mx.test" "the next server answers when the first refuses"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "and at once ($ms ms)" [ "$ms" -lt 1000 ]

done_testing
