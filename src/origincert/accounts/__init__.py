"""Connected Cloudflare accounts: adding, checking, choosing one for a name."""
