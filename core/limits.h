/* Every bound upas puts on its inputs, in one place. */
#ifndef UPAS_LIMITS_H
#define UPAS_LIMITS_H

enum {
	/* RFC 5321 §4.5.3.1 */
	LIM_LOCALPART = 64,
	LIM_DOMAIN = 255,
	LIM_PATH = 256,		/* including the angle brackets */
	LIM_CMDLINE = 512,	/* SMTP command line, with CRLF */
	LIM_TEXTLINE = 1000,	/* SMTP text line, with CRLF */
	/* RFC 5322 §2.1.1 */
	LIM_HDRLINE = 998,
	LIM_LABEL = 63,		/* RFC 1035 §2.3.4 */

	LIM_BIOBUF = 4096,	/* Bio read and write buffers */
	LIM_CONFFILE = 1 << 20,	/* a config file read whole */
	LIM_CONFFIELDS = 32,	/* fields on one config line */
	LIM_ADDRS = 1000,	/* addresses in one header or list */
	LIM_ADDRLIST = LIM_ADDRS * LIM_HDRLINE,	/* octets in one address list */
	LIM_COMMENTDEPTH = 8,	/* RFC 5322 comments inside comments */
	LIM_PATHNAME = 1024,	/* a path under the mail root */
	LIM_ERR = 256,		/* error text */

	/* listen defaults */
	LIM_LISTEN_CONNS = 100,	/* connections at once */
	LIM_LISTEN_PERADDR = 10,	/* connections at once from one address */
	LIM_LISTEN_IDLE = 300,	/* seconds of silence before a relay is cut */
	LIM_HANDSHAKE = 30,	/* seconds for a TLS handshake */
	LIM_TLSCLOSE = 2000,	/* ms a close_notify may take to leave */
	LIM_DIAL = 30,		/* seconds to connect */

	/* messages (core/msg.c) */
	LIM_MSGLINE = 1 << 20,	/* octets in one line of a message */
	LIM_MSGHDRS = 1000,	/* header fields in one part */
	LIM_MSGHDRSIZE = 1 << 20,	/* octets in one part's header block */
	LIM_MSGDEPTH = 50,	/* MIME parts inside parts */
	LIM_MSGPARTS = 10000,	/* MIME parts in one message */
	LIM_MSGPARAMS = 100,	/* parameters in one Content-Type or -Disposition */

	/* queue (core/queue.c, qer, runq) and bounces (core/bounce.c) */
	LIM_QARGS = LIM_ADDRS + 16,	/* arguments in one control file */
	LIM_QARG = 1024,	/* octets in one argument */
	LIM_QCTL = 64 + LIM_QARGS * (3 * LIM_QARG + 3),	/* octets in one control file */
	LIM_QFILES = 16,	/* extra files (qer -f) per job */
	LIM_QDATA = 128 << 20,	/* octets of one queued message or extra file */
	LIM_QJOBS = 100000,	/* jobs one runq scans in one directory */
	LIM_QORPHAN = 24 * 3600,	/* seconds before runq sweeps files without a control file */
	LIM_QERRTAIL = 8192,	/* octets of the E file a bounce or listing shows */
	LIM_BOUNCEORIG = 10 << 20,	/* larger originals come back as headers only */
	LIM_QJOBTIME = 2 * 3600,	/* seconds one mailer may run before runq kills it */

	/* rewrite and send (core/rewrite.c, applets/send.c) */
	LIM_RWPASSES = 32,	/* rewrite passes before "forwarding loop" */
	LIM_RWARGS = 256,	/* words in one rewrite command */
	LIM_BUNDLE = 16,	/* addresses given to one | command */
	LIM_BUNDLECHARS = 1024,	/* octets of a bundled command */
	LIM_DESTS = 10000,	/* destinations one message may expand to */
	LIM_RWOUT = 64 * 1024,	/* output a translator or auth command may print */
	LIM_FORWARD = 64 * 1024,	/* a forward file */
	LIM_EQUIVFILE = 64 * 1024,	/* ROOT/lib/equivlist */
	LIM_EQUIV = 256,	/* names in equivlist */
	LIM_MSG = 128 << 20,	/* a message send accepts (upas's MSGLIMIT) */
	LIM_MSGMEM = 64 * 1024,	/* kept in memory; the rest spills to ROOT/tmp */
	LIM_RECEIVED = 32,	/* Received: lines before "possible forward loop" */
	LIM_SYSLOOP = 4,	/* our name in a bang path before it is a loop */
	LIM_ALIASDEPTH = 8,	/* aliasmail #include nesting */

	/* composing (core/mimeenc.c, applets/marshal.c, applets/sendmail.c) */
	LIM_ATTACH = 256,	/* attachments in one message */
	LIM_HDRFILE = 64 * 1024,	/* box/USER/headers */
	LIM_FULLNAME = 256,	/* octets of a sender's full name (sendmail -F) */

	/* mailboxes (core/mbox.c, mbfile.c, mdir.c, maildir.c, lock.c, index.c) */
	LIM_MBOX_LOCKWAIT = 60,	/* seconds an append waits for the mailbox locks */
	LIM_DOTLOCK_STALE = 300,	/* seconds a dotlock and its mailbox stay untouched before it is broken */
	LIM_MBOXBUF = 64 * 1024,	/* mbox read buffer */
	LIM_MBOXMSG = 1 << 30,	/* octets of one message read from a mailbox */
	LIM_MDIRNN = 100,	/* mdir names secs.00 to secs.99 per second */
	LIM_MAILDIR_TMPAGE = 36 * 3600,	/* seconds before a Maildir tmp/ or mdir .tmp file is litter */
	LIM_IDXLINE = 2048,	/* octets of one index line */
	LIM_IDXFILE = 1 << 30,	/* octets of an index */
	LIM_IDXBUF = 64 * 1024,	/* an index is read in pieces of this size */
	LIM_MBOXSYNC = 10,	/* seconds between dotlock touches during a rewrite */

	/* smtpd (applets/smtpd.c) */
	LIM_SMTPCMDBUF = LIM_CMDLINE + 512,	/* a command line with tolerance for long parameters */
	LIM_SMTPRCPT = 100,	/* recipients of one transaction */
	LIM_SMTPSIZE = 64 << 20,	/* default message size */
	LIM_SMTPIDLE = 300,	/* seconds to wait for a command */
	LIM_SMTPDATA = 600,	/* seconds to wait for DATA text */
	LIM_SMTPERRS = 20,	/* error replies before the server hangs up */
	LIM_SMTPDOMS = 32,	/* -h domains */
	LIM_SMTPSENDERR = 512,	/* octets of send's complaint quoted back */
	LIM_SMTPDROP = 32,	/* -k networks */
	LIM_SMTPBUST = 16,	/* smtp -b hosts */
	LIM_SMTPMX = 32,	/* MX records tried */
	LIM_SMTPADDRS = 8,	/* addresses tried per host */
	LIM_SMTPHOSTS = 64,	/* addresses tried per message */
	LIM_SMTPREPLY = 2048,	/* octets of a reply, its lines joined */
	LIM_SPOOLMEM = 1 << 20,	/* octets of a message smtpd keeps in memory before spooling to tmp/ */
	LIM_SMTPTARPIT = 15,	/* seconds -D makes a stranger wait at HELO; a quarter of the longest refusal wait */

	/* SMTP AUTH (applets/smtpd.c, core/secrets.c) */
	LIM_SECRETS = 64 << 10,	/* lib/secrets */
	LIM_SECRET = 256,	/* a user's secret or crypt hash */
	LIM_AUTHUSER = 64,	/* an authentication identity */
	LIM_AUTHDEC = 512,	/* a decoded AUTH response */
	LIM_AUTHFAILS = 3,	/* failed AUTH attempts before the server hangs up */
	LIM_AUTHDELAY = 8,	/* seconds, at most, a failed AUTH waits */

	/* DNS stub resolver (core/dns.c) */
	LIM_DNSUDP = 512,	/* octets of a reply over UDP (RFC 1035 §4.2.1, no EDNS) */
	LIM_DNSTCP = 65535,	/* octets of a reply over TCP */
	LIM_DNSANSWERS = 1024,	/* records in one answer section */
	LIM_DNSRR = 64,	/* records of the asked type kept from one answer */
	LIM_DNSHOPS = 128,	/* compression pointers followed in one name */
	LIM_DNSCNAME = 8,	/* CNAMEs followed in one answer */
	LIM_DNSSERVERS = 3,	/* nameservers used from resolv.conf (MAXNS) */
	LIM_DNSTIMEOUT = 30,	/* seconds, at most, of options timeout: (default 5) */
	LIM_DNSATTEMPTS = 5,	/* options attempts:, at most (default 2) */

	/* smtpd policy (core/policy.c): smtpd.conf, lib/blocked, ratify/, grey/ */
	LIM_OURNETS = 64,	/* ournets in smtpd.conf */
	LIM_OURDOMS = 64,	/* ourdomains in smtpd.conf */
	LIM_BLOCKED = 10000,	/* values in lib/blocked */
	LIM_POLICYFIELDS = 1024,	/* values on one line of smtpd.conf or lib/blocked */
	LIM_RATIFYTRUST = 3600,	/* seconds a ratify/trusted entry (POP-before-SMTP) lasts */
	LIM_GREYMIN = 300,	/* seconds before a greylisted peer may retry */
	LIM_GREYMAX = 14 * 3600,	/* seconds after which its first attempt is forgotten */
	LIM_GREYLIST = 16 << 20,	/* octets of grey/whitelist */

	/* client credentials (core/keys.c): box/USER/keys */
	LIM_KEYSFILE = 64 << 10,	/* octets of a keys file */
	LIM_KEYATTRS = 32,	/* attributes in one key */
};

/* pop3 (applets/pop3.c) */
enum {
	LIM_POPCMD = 512,	/* a command line with CRLF: RFC 2449's 255 octets, doubled for tolerance */
	LIM_POPIDLE = 600,	/* seconds without a command before the session ends (RFC 1939 §3: at least 10 minutes) */
	LIM_POPERRS = 20,	/* bad commands before the server hangs up */
	LIM_UIDL = 70,	/* octets of a unique-id listing's id (RFC 1939 §7) */
};

/* imap4d (applets/imap4d.c, core/imap*.c) */
enum {
	LIM_IMAPLINE = 64 * 1024,	/* a command line, literals apart (Dovecot's imap_max_line_length) */
	LIM_IMAPTAG = 64,	/* octets of a tag */
	LIM_IMAPLITS = 64,	/* literals in one command */
	LIM_IMAPLIT = 64 * 1024,	/* octets of all literals of a command other than APPEND */
	LIM_IMAPTOKENS = 20000,	/* arguments in one command, lists included */
	LIM_IMAPNEST = 16,	/* parenthesized lists inside lists */
	LIM_IMAPSEQ = 10000,	/* ranges in one sequence set */
	LIM_IMAPIDLE = 1800,	/* seconds without a command (RFC 3501 §5.4: at least 30 minutes) */
	LIM_IMAPAUTHIDLE = 60,	/* seconds without a command before login */
	LIM_IMAPERRS = 20,	/* bad commands in a row before the server hangs up */
	LIM_IMAPPOLL = 2,	/* seconds between mailbox checks under IDLE */
	LIM_IMPFILE = 256 << 20,	/* octets of a .imp file */
	LIM_IMAPAPPEND = 64 << 20,	/* octets of an APPENDed message */
	LIM_IMAPKEYWORDS = 64,	/* keywords on one message */
	LIM_IMAPKWLEN = 64,	/* octets of a keyword */
};

/* IMAP SEARCH (core/imapsearch.c) */
enum {
	LIM_IMAPSEARCHKEYS = 256,	/* search keys in one command, NOT, OR and lists included */
	LIM_IMAPSEARCHDEPTH = 64,	/* NOT, OR and lists inside each other (a left-nested OR chain takes one per OR) */
};

/* IMAP mailbox names, LIST and subscriptions (core/imapname.c) */
enum {
	LIM_IMAPNAMEDEPTH = 16,	/* levels of folders in one mailbox name */
	LIM_IMAPLIST = 10000,	/* mailboxes one LIST or LSUB answers; names in imap.subscribed */
	LIM_IMAPSCAN = 100000,	/* directory entries one LIST looks at more closely than by name */
	LIM_IMAPSUBS = 1 << 20,	/* octets of imap.subscribed */
};

/* IMAP FETCH sections (core/imapfetch.c) */
enum {
	LIM_IMAPFIELDS = 256,	/* names in one HEADER.FIELDS list */
	LIM_IMAPSECTDEPTH = 128,	/* numbers in one section's part path */
};

#endif
