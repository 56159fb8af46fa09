#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "digest.h"
#include "secrets.h"

/* The example exchange of RFC 2195. */
TEST(hmac_md5_rfc2195)
{
	const char *chal = "<1896.697170952@postoffice.reston.mci.net>";
	unsigned char mac[16];
	char hex[33];
	int i;

	hmac_md5("tanstaaftanstaaf", 16, chal, strlen(chal), mac);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECKSTR(hex, "b913a602c7eda7a495b4e6e7334d3890");
}

/* Hashes made by openssl passwd -6 / -5, and the specification's own rounds= example. */
TEST(sha_crypt)
{
	char out[LIM_CRYPTOUT];

	CHECKSTR(sha_crypt("secret", "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.", out, sizeof out),
	    "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.");
	CHECKSTR(sha_crypt("secret", "$5$xyz$", out, sizeof out), "$5$xyz$ifvnqJEnDw1U3s4hNgRQfsh5KGcuIMh2ReetMWPfxY7");
	CHECKSTR(sha_crypt("Hello world!", "$5$rounds=10000$saltstringsaltstring", out, sizeof out),
	    "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA");
	CHECK(sha_crypt("secret", "$1$abc$", out, sizeof out) == NULL);
}

TEST(secrets_equal)
{
	CHECK(secrets_equal("secret", "secret"));
	CHECK(!secrets_equal("secreT", "secret"));
	CHECK(!secrets_equal("secret1", "secret"));
	CHECK(!secrets_equal("secre", "secret"));
	CHECK(!secrets_equal("", "secret"));
}
