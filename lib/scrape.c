/*
 * scrape.c: the access rule of the metrics, and their page.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "metrics.h"
#include "outbox.h"
#include "scrape.h"

/* Whether the client's address is a loopback one. */
static bool
scrape_loopback(const char *addr)
{
	return addr != NULL && (strncmp(addr, "127.", 4) == 0 ||
	    strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0);
}

/* Whether the request's bearer token is METRICS_TOKEN. */
static bool
scrape_token_ok(const char *want, const char *authorization)
{
	const char	*tok;
	size_t		 len, wantlen = strlen(want);

	return wantlen > 0 && auth_bearer(authorization, &tok, &len) &&
	    len == wantlen && CRYPTO_memcmp(tok, want, len) == 0;
}

void
scrape_handle(struct app *app, const struct http_request *req,
    struct http_response *resp)
{
	const struct config	*cfg = app->cfg;
	struct outbox		*ob;
	int			 pending = -1, dead = -1;
	char			*text;
	size_t			 len;

	if (*cfg->metrics_token == '\0' && !cfg->metrics_allow_loopback) {
		http_error(resp, API_NOT_FOUND, "There is nothing here.");
		return;
	}
	if (!scrape_token_ok(cfg->metrics_token, req->authorization) &&
	    !(cfg->metrics_allow_loopback &&
	    scrape_loopback(req->remote_addr))) {
		http_error(resp, API_UNAUTHORIZED, "Send the metrics token as: "
		    "Authorization: Bearer <METRICS_TOKEN>.");
		return;
	}
	if ((ob = app_outbox(app)) != NULL)
		(void)outbox_counts(ob, &pending, &dead);	/* -1: unknown */
	if (!metrics_render(&text, &len, pending, dead)) {
		http_error(resp, API_SERVICE_UNAVAILABLE,
		    "The metrics file is not open in this worker.");
		return;
	}
	http_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
}
