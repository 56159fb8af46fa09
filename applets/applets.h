/*
 * The one registry of applets, sorted by name: APPLET(name, usage).
 * An applet is applets/<name>.c exporting <name>_main.
 */
APPLET(aliasmail, "[-df] [-n namefile] name...")
APPLET(filter, "[-nbh] rcvr mailbox [regexp file]...")
APPLET(fs, "[-bnpvx] [-c cmd] [-C size] [-f mailbox] [-m dir] [-r secs]")
APPLET(imap4d, "[-pv] [-a user] [-d debugfile] [-r peeraddr|-] [-s servername] [-t cert [-K key]]")
APPLET(listen, "[-q] [-c cert] [-k key] [-n maxconn] [-p peraddr] [-t idle] [-u user] [-l log] addr applet|program [arg...]")
APPLET(mail, "[-f mbox | -r | -c dir | -m...] | [marshal options] addr...")
APPLET(marshal, "[-aA file] [-C cc] [-B bcc] [-Fr#xnd8] [-p es] [-S saveto] [-R replydir] [-s subj] [-t type] addr...")
APPLET(nedmail, "[-rnt] [-f mailfile] [-s msgfile] | -c [dir]")
APPLET(pop3, "[-p] [-a mbox] [-d debugfile] [-r peeraddr|-] [-t cert [-K key]]")
APPLET(qer, "[-K] [-q subdir] [-f file]... root tag reply [arg...]")
APPLET(remotemail, "tag sender dest rcpt...")
APPLET(runq, "[-adER] [-q subdir] [-t hours] [-i minutes] [-r nfiles] [-n njobs] root cmd")
APPLET(send, "[-#bdirx] addr...")
APPLET(sendmail, "[-it] [-f sender] [-F fullname] [-bm | -bp | -q] [-o option] [postfix-option...] [--] [addr...]")
APPLET(smtp, "[-aAdfilopst] [-b mx]... [-g gateway] [-h host] [-u user] [.domain] dest sender rcpt...")
APPLET(smtpd, "[-aBDdEefgLpqrSstv] [-c cert [-K key]] [-h domain]... [-k net]... [-m mailer] [-n peer] [-z maxsize]")
