/* ciconv: iconv between UTF-8 and charsets glibc converts through its
 * gconv modules (ISO-8859-15, CP1252, EBCDIC), which the image builder
 * packs for a program that calls iconv_open. Output must match natively. */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

static void convert(const char *to, const char *from, const char *in) {
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1) {
		printf("%s -> %s: iconv_open: %s\n", from, to, strerror(errno));
		return;
	}
	char out[64], *ip = (char *)in, *op = out;
	size_t il = strlen(in), ol = sizeof out;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		printf("%s -> %s: iconv: %s\n", from, to, strerror(errno));
	printf("%s -> %s:", from, to);
	for (char *p = out; p < op; p++)
		printf(" %02x", (unsigned char)*p);
	printf("\n");
	iconv_close(cd);
}

int main(void) {
	convert("ISO-8859-15", "UTF-8", "caf\xc3\xa9 \xe2\x82\xac");
	convert("CP1252", "UTF-8", "\xe2\x80\x9cquoted\xe2\x80\x9d");
	convert("EBCDIC-US", "UTF-8", "HELLO");
	convert("UTF-16LE", "UTF-8", "hi");
	convert("NO-SUCH-CHARSET", "UTF-8", "x");
	return 0;
}
