"""What exists: the sites a web server defines, the certificates in use."""
