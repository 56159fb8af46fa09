#!/bin/sh
# make run: a demo mail system under ./run on 127.0.0.1, stopped with Ctrl-C.
# Every server that exists in build/upas is started through listen.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
upas=$top/build/upas
export UPASROOT=$top/run
user=${USER:-glenda}
[ "$user" = root ] && user=glenda
mkdir -p "$UPASROOT/box/$user" "$UPASROOT/lib/tls" "$UPASROOT/log" "$UPASROOT/tmp" "$UPASROOT/queue"
# the default configuration, where the demo root has none yet
(cd "$top/configs/root" && find . -type f) | while read -r f; do
	[ -e "$UPASROOT/${f#./}" ] || { mkdir -p "$(dirname "$UPASROOT/${f#./}")"; cp "$top/configs/root/$f" "$UPASROOT/${f#./}"; }
done
# as root, the box belongs to a user: servers never act as root for a mailbox
[ "$(id -u)" = 0 ] && chown 65534:65534 "$UPASROOT/box/$user"
if [ ! -f "$UPASROOT/lib/secrets" ]; then
	umask 077
	echo "$user demo" >"$UPASROOT/lib/secrets"
	umask 022
fi
if [ ! -f "$UPASROOT/lib/tls/cert.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-keyout "$UPASROOT/lib/tls/key.pem" -out "$UPASROOT/lib/tls/cert.pem" 2>/dev/null
fi
has() { "$upas" --list | grep -qx "$1"; }
pids=""
# serve NAME PORT [listen options] -- COMMAND...
serve() {
	name=$1 port=$2
	shift 2
	"$upas" listen -l "$name" "$@" &
	pids="$pids $!"
	printf '  %-28s 127.0.0.1:%s\n' "$name" "$port"
}
echo "upas demo: mail root $UPASROOT, user $user, password demo"
tls="-c $UPASROOT/lib/tls/cert.pem -k $UPASROOT/lib/tls/key.pem"
cert="$UPASROOT/lib/tls/cert.pem" key="$UPASROOT/lib/tls/key.pem"
has smtpd && serve smtpd 2525 tcp!127.0.0.1!2525 smtpd -h localhost -c "$cert" -K "$key"
has smtpd && serve submission 2587 tcp!127.0.0.1!2587 smtpd -S -h localhost -c "$cert" -K "$key"
has smtpd && serve smtps 2465 $tls tcp!127.0.0.1!2465 smtpd -p -h localhost
has pop3 && serve pop3 2110 tcp!127.0.0.1!2110 pop3 -r - -t "$cert" -K "$key"
has pop3 && serve pop3s 2995 $tls tcp!127.0.0.1!2995 pop3 -p -r -
has imap4d && serve imap4d 2143 -t 1800 tcp!127.0.0.1!2143 imap4d -r - -t "$cert" -K "$key"
has imap4d && serve imaps 2993 -t 1800 $tls tcp!127.0.0.1!2993 imap4d -p -r -
# implicit TLS in front of a plain program, as tlssrv does
serve tlsecho 2700 $tls tcp!127.0.0.1!2700 /bin/cat
cat <<MSG
mail:  echo hello | UPASROOT=$UPASROOT build/upas mail -s test $user
       then read it: UPASROOT=$UPASROOT build/upas nedmail -f $UPASROOT/box/$user/mbox
       (,h lists, p prints, q quits; or mutt -f run/box/$user/mbox)
try:   openssl s_client -quiet -connect 127.0.0.1:2700 -CAfile run/lib/tls/cert.pem
       curl -k pop3s://$user:demo@127.0.0.1:2995/1
       curl -k imaps://$user:demo@127.0.0.1:2993/INBOX -X 'FETCH 1 BODY[]'
       mutt -f imaps://$user@127.0.0.1:2993/ (password demo)
       swaks --server 127.0.0.1:2587 --tls --auth-user $user --auth-password demo --to $user@localhost
logs:  $UPASROOT/log/
Ctrl-C stops everything.
MSG
trap 'kill $pids 2>/dev/null; wait; echo; echo "stopped"; exit 0' INT TERM
wait
