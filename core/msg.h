/*
 * Messages: RFC 5322 header fields and the MIME tree (RFC 2045-2049),
 * parsed in place.  msg_parse keeps pointers into the caller's bytes, which
 * must outlive the Msg; everything else lives in the Msg's arena and goes
 * with msg_free.  Parsing is linear in the input; the bounds in limits.h
 * (LIM_MSG*) make it fail with seterr() rather than run long.
 *
 * Decoding happens on demand: msg_body undoes the transfer encoding and
 * converts text parts to UTF-8; msg_hdrtext unfolds a field and decodes its
 * RFC 2047 words.  Unknown or broken charsets pass through unchanged.
 *
 * Rules beyond the RFCs (docs/DEVIATIONS.md):
 *	- LF and CRLF line ends are both accepted; a leading mbox "From " line
 *	  is skipped (kept in unixfrom);
 *	- a header line that is no field and no fold starts the body even
 *	  without the blank line;
 *	- an unparseable Content-Type is text/plain (RFC 2045 §5.2), and a
 *	  multipart without a boundary is a leaf;
 *	- a missing close delimiter ends a multipart at its parent's next
 *	  delimiter or at the end of the message;
 *	- RFC 2047 words are decoded anywhere in unstructured text and in
 *	  parameter values, even where the RFC forbids them, as mail readers do;
 *	  decoded control characters CR, LF and NUL become spaces;
 *	- iso-8859-1 and us-ascii text with 8-bit bytes: see msg_toutf8.
 */
#ifndef UPAS_MSG_H
#define UPAS_MSG_H

#include <time.h>
#include "core.h"

typedef struct Hdr {
	const char *name;	/* as written, without the colon; not NUL-terminated */
	size_t nlen;
	const char *val;	/* after the colon and the blanks following it, folds kept, */
	size_t vlen;		/* the line end ending the field left out */
} Hdr;

typedef struct Param {
	char *name;	/* lowercased, RFC 2231 "*0*" suffixes gone */
	char *val;	/* unquoted, RFC 2231 and RFC 2047 decoded to UTF-8 */
} Param;

enum { ENC_NONE, ENC_QP, ENC_B64 };	/* transfer encodings msg_decode undoes */

typedef struct Part Part;
struct Part {
	const char *raw;	/* header and body */
	size_t rawlen;
	const char *hdr;	/* header block, with the blank line ending it */
	size_t hdrlen;
	const char *body;	/* undecoded; for a multipart, preamble to epilogue */
	size_t bodylen;
	Hdr *h;			/* header fields in order */
	int nh;
	char *type, *subtype;	/* lowercased; text/plain (message/rfc822 in a digest) by default */
	char *charset;		/* lowercased; us-ascii for text/ without one; else NULL if none */
	Param *param;		/* of Content-Type */
	int nparam;
	char *cte;		/* Content-Transfer-Encoding lowercased, "7bit" by default */
	int enc;		/* ENC_ */
	char *disp;		/* Content-Disposition type lowercased, NULL if none */
	Param *dparam;		/* of Content-Disposition */
	int ndparam;
	char *filename;		/* disposition filename=, else type name=; NULL if none */
	Part *parent;
	Part *child;		/* first child: the parts of a multipart, the message of a message/rfc822 */
	Part *next;		/* next sibling */
	int nchild;
	int depth;		/* 0 for the message */
};

typedef struct Msg {
	Arena ar;
	const char *raw;	/* the message without its From line */
	size_t n;
	const char *unixfrom;	/* the mbox "From " line without its line end, or NULL */
	size_t unixlen;
	Part *root;
	int nparts;
} Msg;

/* Parse raw[0..n) into m (which need not be initialised); -1 with seterr() on a bound. */
int msg_parse(Msg *m, const char *raw, size_t n);
void msg_free(Msg *m);

/* The first field called name (any case), or NULL; msg_hdrnext gives the next with h's name. */
Hdr *msg_hdr(Part *p, const char *name);
Hdr *msg_hdrnext(Part *p, Hdr *h);

/* A field value unfolded (line breaks removed), with outer blanks trimmed. */
char *msg_unfold(Arena *ar, const char *v, size_t n);

/* Unfolded, RFC 2047 words decoded, UTF-8. */
char *msg_hdrdecode(Arena *ar, const char *v, size_t n);

/* msg_hdrdecode of the first field called name, or NULL if there is none. */
char *msg_hdrtext(Msg *m, Part *p, const char *name);

/* A Content-Type (msg_param) or Content-Disposition (msg_dparam) parameter, or NULL. */
const char *msg_param(Part *p, const char *name);
const char *msg_dparam(Part *p, const char *name);

/*
 * A MIME structured value "token; a=b; c*=utf-8''%C3%A9": *value is the
 * part before the first ';' (comments and blanks removed, case kept), *v
 * the parameters with RFC 2231 continuations joined.  -1 with seterr()
 * past LIM_MSGPARAMS parameters.
 */
int msg_params(Arena *ar, const char *s, size_t n, char **value, Param **v, int *nv);

/* Append p's body with its transfer encoding undone. */
void msg_decode(Part *p, Str *out);

/* msg_decode, then text/ converted to UTF-8: 0, or 1 when its charset was unknown and kept. */
int msg_body(Part *p, Str *out);

/*
 * Append s converted from charset to UTF-8; 0, or -1 (bytes appended as
 * they are) when iconv knows no such charset.  Invalid sequences become
 * U+FFFD.  utf-8, us-ascii and unlabelled 8-bit text are kept as they are;
 * iso-8859-1 is read as windows-1252, as every mail reader does.
 */
int msg_toutf8(const char *charset, const char *s, size_t n, Str *out);

/* Transfer decoders, lenient as mail readers are: base64 skips what is not base64,
 * quoted-printable keeps bad escapes; hdr: RFC 2047's Q ('_' is a space). */
void msg_b64dec(const char *s, size_t n, Str *out);
void msg_qpdec(const char *s, size_t n, int hdr, Str *out);

/*
 * An RFC 5322 date-time, leniently: weekday and seconds optional, two- and
 * three-digit years, obsolete and military zones, no zone (UTC), ctime
 * order ("Mon Jan  2 15:04:05 2006"), comments.  -1 if it is no date.
 */
time_t msg_date(const char *s, size_t n);

#endif
