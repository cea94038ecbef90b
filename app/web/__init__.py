"""What every blueprint shares: CSRF and headers, the sign-in cookie, rate limits,
error pages, the base form and widgets, the access log, static files."""
