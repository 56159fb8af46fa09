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
};

#endif
