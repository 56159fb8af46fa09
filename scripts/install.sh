#!/bin/sh
# install.sh BINARY DESTDIR PREFIX MAILROOT
# The binary and one link per applet in PREFIX/lib/upas; mail and sendmail on PATH
# when the binary has them; the mail root's default files only where none exist.
set -eu
bin=$1 dest=$2 prefix=$3 root=$4
top=$(cd "$(dirname "$0")/.." && pwd)
lib=$dest$prefix/lib/upas
mkdir -p "$lib" "$dest$prefix/bin" "$dest$prefix/sbin"
install -m 755 "$bin" "$lib/upas"
for a in $("$bin" --list); do
	ln -sf upas "$lib/$a"
	case $a in
	mail) ln -sf ../lib/upas/upas "$dest$prefix/bin/mail" ;;
	sendmail) ln -sf ../lib/upas/upas "$dest$prefix/sbin/sendmail" ;;
	esac
done
ln -sf ../lib/upas/upas "$dest$prefix/bin/upas"
for m in "$top"/docs/*.[1-8]; do
	[ -f "$m" ] || continue
	sec=${m##*.}
	mkdir -p "$dest$prefix/share/man/man$sec"
	install -m 644 "$m" "$dest$prefix/share/man/man$sec/"
done
# the mail root: directories, then default files that are not there yet
for d in box lib lib/tls log tmp queue; do
	mkdir -p "$dest$root/$d"
done
chmod 1777 "$dest$root/tmp"
cd "$top/configs/root"
find . -type f | while read -r f; do
	t="$dest$root/${f#./}"
	mkdir -p "$(dirname "$t")"
	[ -e "$t" ] || install -m 644 "$f" "$t"
done
