/* Bounces: mail back to a sender about mail that could not be delivered. */
#ifndef UPAS_BOUNCE_H
#define UPAS_BOUNCE_H

#include "core.h"

/*
 * Compose a bounce from postmaster to sender: multipart/mixed, a text part
 * giving reason (its first line is also the Subject; control characters and
 * invalid UTF-8 become '?'), then the original (its leading "From " line
 * dropped) as message/rfc822, or only its header as text/rfc822-headers when
 * it is over LIM_BOUNCEORIG. No bounce is due for a null sender ("/dev/null",
 * "<>" or empty) or for bulk mail (Precedence: bulk/junk/list): then it
 * returns 1 and composes nothing. 0 composed, -1 error (a sender that is no
 * valid address, such as one beginning with '-').
 */
int bounce_make(Str *out, const char *sender, const char *reason, const char *orig, size_t n);

/* bounce_make, then deliver it to sender through the send applet with the
 * null envelope sender ($upasname=/dev/null), so a bounce never bounces.
 * 0 sent, 1 not due, -1 error (send could not run or failed). */
int bounce_send(const char *sender, const char *reason, const char *orig, size_t n);
#endif
