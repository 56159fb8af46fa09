/* The core every applet builds on. */
#ifndef UPAS_CORE_H
#define UPAS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sysexits.h>
#include "limits.h"

#define nelem(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/* err.c: errors and logging.
 * A format ending in ':' gets ": strerror(errno)" appended, Plan 9 %r style. */
extern const char *argv0;
void die(int status, const char *fmt, ...) PRINTF(2, 3) __attribute__((noreturn));
void warn(const char *fmt, ...) PRINTF(1, 2);
void seterr(const char *fmt, ...) PRINTF(1, 2);	/* the last error, for callers */
const char *lasterr(void);
int err_temporary(int e);	/* an errno worth a retry, not a bounce */
void logmsg(const char *log, const char *fmt, ...) PRINTF(2, 3);
void logkeep(const char *log);	/* root about to become a user: log/NAME opened now as fd 2 */
void fmtv(char *buf, size_t n, const char *fmt, va_list ap);

/* str.c: memory, growable strings and arenas. x* allocators die with EX_TEMPFAIL. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int hexdigit(int c);

typedef struct Str {
	char *p;	/* NUL-terminated once anything was added */
	size_t n, cap;
} Str;
void str_addn(Str *s, const char *p, size_t n);
void str_adds(Str *s, const char *p);
void str_addc(Str *s, int c);
void str_fmt(Str *s, const char *fmt, ...) PRINTF(2, 3);
void str_reset(Str *s);
void str_reserve(Str *s, size_t more);	/* room for more octets and a NUL */
void str_free(Str *s);
/* A word of a line of words (the index, .sum): blanks, controls and '%' as
 * %XX, "" as "-" (and "-" or "*" alone escaped). */
void str_word(Str *s, const char *p);
/* v in base 10 or 16 (lowercase), appended; by hand, for files of many numbers. */
void str_num(Str *s, uint64_t v, int base);
/* Read s as fmt says, the whole of scanf that is needed: a blank matches
 * any blanks, %u and %x an unsigned (uint64_t *), %d a signed (int64_t *),
 * each after blanks and of at most its width in digits (%2d), %c width
 * characters (char *, default 1), anything else itself. The rest of s, or
 * NULL when it does not match. */
const char *str_scan(const char *s, const char *fmt, ...);

typedef struct Arena {
	struct Achunk *c;
} Arena;
void *arena_alloc(Arena *a, size_t n);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
void arena_free(Arena *a);

/* charset.c: text to UTF-8 (single-byte tables, UTF-16/32), no iconv. */
void utf8_put(Str *out, unsigned c);
int charset_toutf8(const char *norm, const char *s, size_t n, Str *out);	/* -1 unknown */

/* conn.c: a connection, plaintext or TLS (tls/ swaps the operations in place).
 * Every wait honours the idle timeout and the absolute deadline. */
typedef struct Conn Conn;
struct Conn {
	int rfd, wfd;
	int timeout;		/* ms a single wait may take; 0: none */
	int idle;		/* ms the socket's SO_RCVTIMEO bounds a wait to (listen -t); 0: none */
	int64_t deadline;	/* monotonic ms by which all I/O must end; 0: none */
	ssize_t (*read)(Conn *, void *, size_t);	/* >0, 0 at EOF, -1 */
	int (*write)(Conn *, const void *, size_t);	/* all or -1 */
	void (*close)(Conn *);
	void *tls;		/* owned by tls/ */
};
void conn_init(Conn *c, int rfd, int wfd);
int conn_wait(Conn *c, int fd, int events);	/* 0 ready, -1 timeout or error */
int conn_again(Conn *c, int fd, int events);	/* after EAGAIN */
int64_t now_ms(void);
int fd_writeall(int fd, const void *p, size_t n);

/* bio.c: buffered I/O over a Conn. */
enum { BIO_EOF = 0, BIO_ERR = -1, BIO_LONG = -2 };
enum { BIO_RERR = 1, BIO_WERR = 2 };	/* Bio.err: a read, a write failed */
typedef struct Bio {
	Conn *c;
	size_t rpos, rlen, wlen;
	int err;	/* BIO_RERR | BIO_WERR: a read that timed out still lets a 421 go */
	char rbuf[LIM_BIOBUF];
	char wbuf[LIM_BIOBUF];
} Bio;
void bio_init(Bio *b, Conn *c);
int bio_getc(Bio *b);
ssize_t bio_read(Bio *b, void *p, size_t n);
ssize_t bio_line(Bio *b, char *buf, size_t max);
int bio_write(Bio *b, const void *p, size_t n);
int bio_puts(Bio *b, const char *s);
int bio_printf(Bio *b, const char *fmt, ...) PRINTF(2, 3);
int bio_flush(Bio *b);
size_t bio_buffered(Bio *b);
void bio_discard(Bio *b);
int bio_chomp(char *line, ssize_t *n);	/* the line end gone; -1 if a NUL or CR is left */

/* path.c: every path derives from one mail root (MAILROOT, moved by UPASROOT). */
const char *upas_root(void);
int name_ok(const char *s);
int path_clean(const char *p);	/* no empty, . or .. component */
int upas_path(char *buf, size_t n, ...);	/* components, then NULL */
char *readfile(const char *path, size_t max, size_t *len);
char *readfileat(int dfd, const char *name, size_t max, size_t *len);	/* no symlink */
int readfileinto(int dfd, const char *name, size_t max, Str *out);	/* readfileat appended to out */

/* conf.c: the tokenizer for upas's text formats.
 * Lines: blank and '#' lines skipped, backslash-newline joins, fields split on
 * white space, a field opened by ' or " runs to the same quote (no escapes). */
typedef struct Conf {
	char *buf, *p, *end;
	int lineno;
	const char *name;
} Conf;
int conf_open(Conf *c, const char *path);
void conf_text(Conf *c, char *text, size_t n, const char *name);
int conf_line(Conf *c, char **field, int max);	/* fields, 0 at end, -1 bad line */
void conf_close(Conf *c);

/* dial.c: Plan 9 dial strings and a built-in service table. */
typedef struct Dial {
	char net[8];		/* tcp, udp */
	char host[LIM_DOMAIN + 1];	/* name, address, or "*" */
	char port[32];		/* decimal */
} Dial;
int svc_port(const char *name, const char *net);
int dial_parse(const char *s, const char *defsvc, Dial *d);
int dial(const char *s, const char *defsvc, int timeout_ms);
int announce(const char *s, const char *defsvc, int backlog);
int sock_name(int fd, int peer, char *host, size_t hn, char *port, size_t pn);
void sock_addr(int fd, int peer, char *buf, size_t n, const char *fallback);
int addr_loopback(const char *a);

/* proc.c: programs run with an argv, never through a shell. */
int applet_known(const char *name);	/* the registry's: is name an applet */
int applet_call(char **argv);	/* the registry's: run applet argv[0] here, or -1 */
void proc_exec(char **argv) __attribute__((noreturn));
pid_t proc_start(char **argv, int in, int out);
pid_t proc_startas(char **argv, int in, int out, uid_t uid, gid_t gid);
void proc_closefrom(int low);	/* close fds low and up */
int proc_wait(pid_t pid);	/* exit status; 128+signal for a signal */

/* priv.c: identities without /etc/passwd. */
int priv_lookup(const char *user, uid_t *uid, gid_t *gid);
int priv_become(uid_t uid, gid_t gid);
int priv_owner(const char *path, uid_t *uid, gid_t *gid);
int priv_box(const char *user, uid_t *uid, gid_t *gid);	/* owner of box/USER, never root */
enum { NOBODY = 65534 };

#endif
