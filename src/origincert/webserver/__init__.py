"""Web servers behind one contract: nginx, Apache and Caddy."""
