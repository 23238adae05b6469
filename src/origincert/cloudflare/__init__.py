"""The Cloudflare adapter: every API call origincert makes, over the official SDK."""
