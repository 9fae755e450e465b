// The console page's script (placeholder; see docs/http-api.md).
