"""Zone configuration the guide's way: Full (strict) safely, proxied records, HTTPS settings."""
