"""The demo: Generate & Install on the sandbox and a private nginx."""
