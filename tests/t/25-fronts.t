#!/bin/sh
# budget: 360
# The API contract and each front end's promises through nginx, Apache with
# mod_fcgid and Apache with plain CGI (mod_cgi), with the plain build's
# workers (tests/integration/fronts; lighttpd is 20-integration.t's).
exec tests/integration/fronts build/bin
