"""The admin area: accounts, lockouts and undelivered mail, for admins only."""
