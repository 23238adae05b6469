"""What the origin really serves: TLS handshakes by name."""
